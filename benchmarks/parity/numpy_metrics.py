"""Parity metrics computed the plain numpy way (float64, whole arrays in memory).

Two uses: the integration test checks that htdemucs-devops agrees with these values to
1e-9 relative, and `make bench-parity` times it against the streaming Rust version.

usage: numpy_metrics.py REF.npz CAND.npz [--atol A] [--rtol R] [--rel-floor F]
                        [--stem-axis K]
Prints one JSON object: {array name: {metric: value}}.
"""

import argparse
import json
import math

import numpy as np


def number(v):
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def metrics(r, c, atol, rtol, rel_floor, stem_axis):
    shape = r.shape
    r = r.astype(np.float64)
    c = c.astype(np.float64)
    finite = np.isfinite(r) & np.isfinite(c)
    rf = r[finite]
    cf = c[finite]
    d = cf - rf
    ad = np.abs(d)
    n = ad.size
    sum_d2 = np.sum(d * d)
    sum_r2 = np.sum(rf * rf)
    sum_c2 = np.sum(cf * cf)
    mse = sum_d2 / n
    peak = np.max(np.abs(rf))
    flat_max = np.flatnonzero(finite.ravel())[np.argmax(ad)]
    out = {
        "elements": int(r.size),
        "max_abs": number(ad.max()),
        "max_abs_index": [int(i) for i in np.unravel_index(flat_max, shape)],
        "mean_abs": number(ad.mean()),
        "p99_abs": number(np.percentile(ad, 99)),
        "rmse": number(math.sqrt(mse)),
        "max_rel": number(np.max(ad / np.maximum(np.abs(rf), rel_floor))),
        "snr_db": number(10 * np.log10(sum_r2 / sum_d2)),
        "psnr_db": number(10 * np.log10(peak * peak / mse)),
        "cosine": number(np.sum(rf * cf) / math.sqrt(sum_r2 * sum_c2)),
        "outside": int(np.count_nonzero(ad > atol + rtol * np.abs(rf))),
        "nan_ref": int(np.count_nonzero(np.isnan(r))),
        "inf_ref": int(np.count_nonzero(np.isinf(r))),
        "nan_cand": int(np.count_nonzero(np.isnan(c))),
        "inf_cand": int(np.count_nonzero(np.isinf(c))),
    }
    if stem_axis is not None:
        # demucs evaluate.new_sdr over a [batch, stem, channel, time] layout.
        rr = np.moveaxis(np.where(finite, r, 0), stem_axis, 0).reshape(shape[stem_axis], -1)
        cc = np.moveaxis(np.where(finite, c, 0), stem_axis, 0).reshape(shape[stem_axis], -1)
        num = np.sum(rr * rr, axis=1) + 1e-7
        den = np.sum((rr - cc) ** 2, axis=1) + 1e-7
        sdr = 10 * np.log10(num / den)
        out["stems_sdr"] = [number(s) for s in sdr]
        out["sdr_db"] = number(np.mean(sdr))
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("reference")
    p.add_argument("candidate")
    p.add_argument("--atol", type=float, default=1e-3)
    p.add_argument("--rtol", type=float, default=1e-3)
    p.add_argument("--rel-floor", type=float, default=1e-4)
    p.add_argument("--stem-axis", type=int, default=None)
    a = p.parse_args()
    ref = np.load(a.reference)
    cand = np.load(a.candidate)
    result = {}
    for name in sorted(set(ref.files) & set(cand.files)):
        r = ref[name]
        c = cand[name]
        if r.shape != c.shape:
            continue
        result[name] = metrics(r, c, a.atol, a.rtol, a.rel_floor, a.stem_axis)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
