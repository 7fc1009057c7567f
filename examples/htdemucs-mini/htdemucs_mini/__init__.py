"""A miniature HTDemucs CoreML port.

The real port runs the STFT/iSTFT in Swift (vDSP) and one CoreML model for both
branches; this package keeps the Python side small: audio helpers that mirror the
model's framing, the stem layout, and parity metrics between a PyTorch reference and
a CoreML output.
"""

from htdemucs_mini.audio import (
    HOP_LENGTH,
    N_FFT,
    SAMPLE_RATE,
    SEGMENT_SAMPLES,
    frame_count,
    reflect_pad,
    segment,
)
from htdemucs_mini.parity import StageResult, compare_stages, max_abs_error, sdr
from htdemucs_mini.stems import STEMS_4, STEMS_6, stem_index, stem_names

__all__ = [
    "HOP_LENGTH",
    "N_FFT",
    "SAMPLE_RATE",
    "SEGMENT_SAMPLES",
    "STEMS_4",
    "STEMS_6",
    "StageResult",
    "compare_stages",
    "frame_count",
    "max_abs_error",
    "reflect_pad",
    "sdr",
    "segment",
    "stem_index",
    "stem_names",
]
