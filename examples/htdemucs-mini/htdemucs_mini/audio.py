"""Audio framing that mirrors HTDemucs: 44.1 kHz stereo, nfft 4096, hop 1024."""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 44_100
N_FFT = 4096
HOP_LENGTH = 1024
# One model segment: 7.8 s at 44.1 kHz, the length the CoreML model is traced with.
SEGMENT_SAMPLES = 343_980


def frame_count(num_samples: int, hop: int = HOP_LENGTH) -> int:
    """Number of STFT frames for a centred transform of `num_samples` samples."""
    if num_samples < 0:
        raise ValueError(f"num_samples must be >= 0, got {num_samples}")
    if hop <= 0:
        raise ValueError(f"hop must be > 0, got {hop}")
    return num_samples // hop + 1


def reflect_pad(audio: np.ndarray, pad: int) -> np.ndarray:
    """Reflect-pad the last axis by `pad` samples on both sides.

    This is what `torch.stft(center=True, pad_mode="reflect")` does before framing, and
    what the Swift side has to reproduce before calling vDSP.
    """
    if pad < 0:
        raise ValueError(f"pad must be >= 0, got {pad}")
    if pad >= audio.shape[-1]:
        raise ValueError(f"pad ({pad}) must be shorter than the signal ({audio.shape[-1]})")
    widths = [(0, 0)] * (audio.ndim - 1) + [(pad, pad)]
    return np.pad(audio, widths, mode="reflect")


def segment(
    audio: np.ndarray, length: int = SEGMENT_SAMPLES, overlap: float = 0.25
) -> list[tuple[int, np.ndarray]]:
    """Split `audio` (channels x samples) into zero-padded chunks of `length` samples.

    Returns `(offset, chunk)` pairs; consecutive chunks overlap by `overlap * length`
    samples, as in the HTDemucs `apply_model` loop. The last chunk is zero-padded.
    """
    if audio.ndim != 2:
        raise ValueError(f"expected (channels, samples), got shape {audio.shape}")
    if length <= 0:
        raise ValueError(f"length must be > 0, got {length}")
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    stride = max(1, int(round(length * (1.0 - overlap))))
    total = audio.shape[-1]
    chunks: list[tuple[int, np.ndarray]] = []
    offset = 0
    while True:
        chunk = audio[:, offset : offset + length]
        if chunk.shape[-1] < length:
            chunk = np.pad(chunk, [(0, 0), (0, length - chunk.shape[-1])])
        chunks.append((offset, chunk))
        if offset + length >= total:
            return chunks
        offset += stride
