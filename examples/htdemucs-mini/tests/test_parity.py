import numpy as np
import pytest

from htdemucs_mini.parity import MAX_SDR_DB, compare_stages, max_abs_error, sdr


def test_identical_signals_have_the_capped_sdr():
    x = np.linspace(-1.0, 1.0, 64)
    assert sdr(x, x) == MAX_SDR_DB


def test_sdr_of_a_known_error_level():
    x = np.ones(1000)
    # Noise power is 1% of the signal power: 20 dB.
    y = x + 0.1
    assert sdr(x, y) == pytest.approx(20.0)


def test_sdr_of_a_silent_reference_with_noise_is_the_floor():
    assert sdr(np.zeros(8), np.ones(8)) == -MAX_SDR_DB


def test_sdr_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shape mismatch"):
        sdr(np.zeros((2, 4)), np.zeros((4, 2)))


def test_max_abs_error():
    assert max_abs_error(np.array([0.0, 1.0, -2.0]), np.array([0.5, 1.0, -1.0])) == 1.0
    assert max_abs_error(np.zeros(0), np.zeros(0)) == 0.0


def test_compare_stages_flags_only_the_stage_that_drifted():
    rng = np.random.default_rng(42)
    reference = {
        "stft": rng.standard_normal((4, 64)),
        "freq_branch": rng.standard_normal((4, 4, 64)),
        "time_branch": rng.standard_normal((4, 2, 256)),
    }
    estimate = {name: value.copy() for name, value in reference.items()}
    estimate["freq_branch"] += 0.5 * rng.standard_normal(estimate["freq_branch"].shape)
    estimate["time_branch"] += 1e-6

    results = {r.stage: r for r in compare_stages(reference, estimate, min_sdr_db=60.0)}

    assert list(results) == ["stft", "freq_branch", "time_branch"]
    assert results["stft"].passed and results["stft"].max_abs_error == 0.0
    assert not results["freq_branch"].passed
    assert results["freq_branch"].sdr_db == pytest.approx(6.0, abs=1.0)
    assert results["time_branch"].passed


def test_compare_stages_accepts_per_stage_thresholds():
    x = np.ones(100)
    results = compare_stages({"a": x, "b": x}, {"a": x + 0.1, "b": x + 0.1}, {"a": 10, "b": 30})
    assert [r.passed for r in results] == [True, False]


def test_compare_stages_names_missing_stages():
    with pytest.raises(KeyError, match="istft"):
        compare_stages({"stft": np.zeros(1), "istft": np.zeros(1)}, {"stft": np.zeros(1)})
