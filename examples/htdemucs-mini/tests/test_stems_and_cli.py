import pytest

from htdemucs_mini.cli import describe, main
from htdemucs_mini.stems import STEMS_4, STEMS_6, stem_index, stem_names


def test_six_stem_layout_extends_the_four_stem_one():
    assert STEMS_6[:4] == STEMS_4
    assert stem_names(6)[-2:] == ("guitar", "piano")


def test_stem_index_follows_output_order():
    assert stem_index("vocals") == 3
    assert stem_index("piano", num_sources=6) == 5


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: stem_names(5), "4 or 6 sources"),
        (lambda: stem_index("guitar"), "unknown stem 'guitar'"),
    ],
)
def test_bad_stem_queries_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_describe_names_the_model_geometry():
    text = "\n".join(describe(4))
    assert "343980 samples (7.80 s)" in text
    assert "nfft 4096, hop 1024, 2048 bins" in text
    assert "drums, bass, other, vocals" in text


def test_main_prints_the_description(capsys):
    assert main(["--sources", "6"]) == 0
    assert "guitar, piano" in capsys.readouterr().out
