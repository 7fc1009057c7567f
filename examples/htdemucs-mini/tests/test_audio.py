import numpy as np
import pytest

from htdemucs_mini.audio import (
    HOP_LENGTH,
    N_FFT,
    SAMPLE_RATE,
    SEGMENT_SAMPLES,
    frame_count,
    reflect_pad,
    segment,
)


def test_segment_is_7_8_seconds():
    assert SEGMENT_SAMPLES / SAMPLE_RATE == pytest.approx(7.8)


def test_frame_count_matches_the_coreml_input():
    # The CoreML model takes a [1, 4, 2048, 336] spectrogram; HTDemucs pads the segment
    # so that the centred STFT gives 336 frames after trimming two frames of padding.
    padded = SEGMENT_SAMPLES + (HOP_LENGTH - SEGMENT_SAMPLES % HOP_LENGTH) % HOP_LENGTH
    assert padded // HOP_LENGTH == 336
    assert frame_count(padded) == 337
    assert N_FFT // 2 == 2048


@pytest.mark.parametrize("bad", [-1, -HOP_LENGTH])
def test_frame_count_rejects_negative_lengths(bad):
    with pytest.raises(ValueError, match="num_samples"):
        frame_count(bad)


def test_reflect_pad_matches_numpy_reflect_on_the_last_axis():
    audio = np.arange(2 * 10, dtype=np.float32).reshape(2, 10)
    padded = reflect_pad(audio, 3)
    assert padded.shape == (2, 16)
    np.testing.assert_array_equal(padded[0, :3], [3, 2, 1])
    np.testing.assert_array_equal(padded[1, -3:], [18, 17, 16])
    np.testing.assert_array_equal(padded[:, 3:-3], audio)


def test_reflect_pad_rejects_a_pad_longer_than_the_signal():
    with pytest.raises(ValueError, match="shorter than the signal"):
        reflect_pad(np.zeros((2, 4)), 4)


def test_segment_covers_the_whole_signal_with_overlap():
    rng = np.random.default_rng(0)
    audio = rng.standard_normal((2, 1000)).astype(np.float32)
    chunks = segment(audio, length=400, overlap=0.25)
    offsets = [offset for offset, _ in chunks]
    assert offsets == [0, 300, 600]
    assert all(chunk.shape == (2, 400) for _, chunk in chunks)
    # Every input sample appears in some chunk, at the right place.
    for offset, chunk in chunks:
        valid = min(400, 1000 - offset)
        np.testing.assert_array_equal(chunk[:, :valid], audio[:, offset : offset + valid])
    # The last chunk is zero-padded past the end of the signal.
    last_offset, last = chunks[-1]
    assert not last[:, 1000 - last_offset :].any()


def test_segment_of_a_short_signal_is_one_padded_chunk():
    chunks = segment(np.ones((2, 10)), length=16)
    assert len(chunks) == 1
    offset, chunk = chunks[0]
    assert offset == 0
    assert chunk[:, :10].all() and not chunk[:, 10:].any()


@pytest.mark.parametrize(
    ("shape", "kwargs", "message"),
    [
        ((10,), {}, "channels, samples"),
        ((2, 10), {"length": 0}, "length"),
        ((2, 10), {"overlap": 1.0}, "overlap"),
    ],
)
def test_segment_rejects_bad_arguments(shape, kwargs, message):
    with pytest.raises(ValueError, match=message):
        segment(np.zeros(shape), **kwargs)
