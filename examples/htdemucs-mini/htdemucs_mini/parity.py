"""Parity metrics between a PyTorch reference and a CoreML output, stage by stage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

# SDR is capped so that identical signals give a finite, comparable number.
MAX_SDR_DB = 120.0


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Signal-to-distortion ratio in dB: 10 log10(|ref|^2 / |ref - est|^2), capped."""
    reference = np.asarray(reference, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    if reference.shape != estimate.shape:
        raise ValueError(f"shape mismatch: {reference.shape} vs {estimate.shape}")
    signal = float(np.sum(reference**2))
    noise = float(np.sum((reference - estimate) ** 2))
    if noise == 0.0:
        return MAX_SDR_DB
    if signal == 0.0:
        return -MAX_SDR_DB
    return min(MAX_SDR_DB, 10.0 * np.log10(signal / noise))


def max_abs_error(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Largest absolute element-wise difference."""
    reference = np.asarray(reference)
    estimate = np.asarray(estimate)
    if reference.shape != estimate.shape:
        raise ValueError(f"shape mismatch: {reference.shape} vs {estimate.shape}")
    if reference.size == 0:
        return 0.0
    return float(np.max(np.abs(reference - estimate)))


@dataclass(frozen=True)
class StageResult:
    """How one pipeline stage (stft, freq branch, time branch, istft, ...) compares."""

    stage: str
    sdr_db: float
    max_abs_error: float
    min_sdr_db: float

    @property
    def passed(self) -> bool:
        return self.sdr_db >= self.min_sdr_db


def compare_stages(
    reference: Mapping[str, np.ndarray],
    estimate: Mapping[str, np.ndarray],
    min_sdr_db: float | Mapping[str, float] = 60.0,
) -> list[StageResult]:
    """Compare every stage present in `reference`; a stage missing from `estimate` is an error.

    `min_sdr_db` is either one threshold for every stage or a per-stage mapping.
    """
    missing = sorted(set(reference) - set(estimate))
    if missing:
        raise KeyError(f"stages missing from the estimate: {', '.join(missing)}")
    results = []
    for stage, ref in reference.items():
        if isinstance(min_sdr_db, Mapping):
            threshold = float(min_sdr_db[stage])
        else:
            threshold = float(min_sdr_db)
        est = estimate[stage]
        results.append(
            StageResult(
                stage=stage,
                sdr_db=sdr(ref, est),
                max_abs_error=max_abs_error(ref, est),
                min_sdr_db=threshold,
            )
        )
    return results
