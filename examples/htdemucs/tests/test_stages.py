"""The three stages compose to HTDemucs itself, in float32 and (within float16 error) float16."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "model"))
from stages import (
    SAMPLE_RATE,
    SEGMENT,
    Float16,
    Istft,
    Separate,
    Stft,
    build_model,
    embeddings_as,
)

LENGTH = int(SEGMENT * SAMPLE_RATE)


@pytest.fixture(scope="module")
def model_and_audio():
    model = build_model(sources=4, size="small")
    audio = 0.1 * torch.randn(1, 2, LENGTH, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        return model, audio, model(audio)


def snr_db(ref: torch.Tensor, x: torch.Tensor) -> float:
    return float(10 * torch.log10((ref**2).sum() / ((x - ref) ** 2).sum()))


def test_the_port_shapes_for_one_segment(model_and_audio):
    model, audio, _ = model_and_audio
    with torch.no_grad():
        spectrogram = Stft()(audio)
        freq, time = Separate(model)(spectrogram, audio)
    assert LENGTH == 343_980
    assert spectrogram.shape == (1, 4, 2048, 336)
    assert freq.shape == (1, 4, 4, 2048, 336)
    assert time.shape == (1, 4, 2, LENGTH)


def test_stages_in_a_row_equal_the_model(model_and_audio):
    model, audio, whole = model_and_audio
    with torch.no_grad():
        spectrogram = Stft()(audio)
        out = Istft()(*Separate(model)(spectrogram, audio))
    assert torch.equal(out, whole)


def test_float16_needs_the_embedding_cast_and_stays_close(model_and_audio):
    model, audio, whole = model_and_audio
    half = Float16(Separate(copy.deepcopy(model)))
    spectrogram = Stft()(audio)
    with torch.no_grad():
        with pytest.raises(RuntimeError, match="mixed dtype"):
            half(spectrogram, audio)
        with embeddings_as(torch.float16):
            freq, time = half(spectrogram, audio)
    assert freq.dtype == time.dtype == torch.float16
    assert snr_db(whole, Istft()(freq, time)) > 40
