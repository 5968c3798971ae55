"""Output smoothing vs CCC and jitter, from the stored predictions of an `eegaffect bench ablation` run.

`eegdancer-nosmooth` is trained exactly like `eegdancer` (same seed, deterministic CPU training) and only skips the
output smoother, so its stored predictions give the smoothed outputs for any time constant offline (checked: the
curve at the default time constant reproduces `eegdancer`'s stored predictions). Prints and writes `smoothing.json`
(per time constant: mean valence/arousal CCC and jitter over (dataset, seed, subject) units, with the truth's
jitter). The newest prediction file per fold is used (an output folder also keeps files of earlier settings).

Usage: .venv/bin/python scripts/chain_smoothing.py ABLATION_DIR [OUT_JSON [DEFAULT_TAU]]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

TAUS = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0)
DEFAULT_TAU = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0  # eegdancer's smooth_s in the ablation run


def ema(x: np.ndarray, tau: float) -> np.ndarray:
    if tau == 0:
        return x
    a = 1 - np.exp(-1.0 / tau)
    y = np.empty_like(x)
    y[0] = x[0]
    for t in range(1, len(x)):
        y[t] = y[t - 1] + a * (x[t] - y[t - 1])
    return y


def trials(z):
    b = np.cumsum(np.r_[0, z["n_steps"]])
    return [(z["pred_va"][i:j], z["true_va"][i:j]) for i, j in zip(b[:-1], b[1:])]


def main() -> int:
    from eegaffect.benchmark.metrics import ccc

    root = Path(sys.argv[1])
    res = {tau: {"valence_ccc": [], "arousal_ccc": [], "valence_jitter": [], "arousal_jitter": []} for tau in TAUS}
    truth_j, check = [], []
    latest: dict = {}  # per (folder, fold): the newest file (a folder keeps files of earlier settings too)
    found = root.glob("*/seed*/partial/*/pred-*-eegdancer-nosmooth__*.npz")
    for path in sorted(found, key=lambda p: p.stat().st_mtime):
        latest[(path.parent, path.name.split("__", 1)[1])] = path
    for path in latest.values():
        with np.load(path) as z:
            tr = trials({k: z[k] for k in z.files})
        ref = sorted(path.parent.glob("pred-*-eegdancer__" + path.name.split("__", 1)[1]),
                     key=lambda p: p.stat().st_mtime)[-1:]
        for tau in TAUS:
            preds = [ema(p.astype(float), tau) for p, _ in tr]
            p, t = np.concatenate(preds), np.concatenate([t for _, t in tr])
            ok = np.all(np.isfinite(t), axis=1)
            res[tau]["valence_ccc"].append(ccc(t[ok, 0], p[ok, 0]))
            res[tau]["arousal_ccc"].append(ccc(t[ok, 1], p[ok, 1]))
            j = np.concatenate([np.abs(np.diff(q, axis=0)) for q in preds]).mean(0)
            res[tau]["valence_jitter"].append(j[0])
            res[tau]["arousal_jitter"].append(j[1])
            if tau == DEFAULT_TAU and ref:
                with np.load(ref[0]) as zr:
                    check.append(float(np.abs(zr["pred_va"] - p).max()))
        truth_j.append(np.concatenate([np.abs(np.diff(t, axis=0)) for _, t in tr]).mean(0))
    tj = np.nanmean(np.array(truth_j), 0)
    out = {"n_units": len(truth_j), "truth_jitter": tj.tolist(),
           "max_abs_diff_vs_eegdancer_at_default_tau": max(check or [np.nan]),
           "curve": {str(tau): {k: float(np.mean(v)) for k, v in d.items()} for tau, d in res.items()}}
    print(f"{out['n_units']} units; truth jitter valence {tj[0]:.3f}/s arousal {tj[1]:.3f}/s; "
          f"{DEFAULT_TAU:g}-s curve vs eegdancer's stored output: max |diff| "
          f"{out['max_abs_diff_vs_eegdancer_at_default_tau']:.2e}")
    print("tau_s  valence_ccc  arousal_ccc  valence_jitter(x truth)  arousal_jitter(x truth)")
    for tau, d in out["curve"].items():
        print(f"{tau:>5}  {d['valence_ccc']:.3f}        {d['arousal_ccc']:.3f}        "
              f"{d['valence_jitter']:.3f} ({d['valence_jitter'] / tj[0]:.1f}x)          "
              f"{d['arousal_jitter']:.3f} ({d['arousal_jitter'] / tj[1]:.1f}x)")
    if len(sys.argv) > 2:
        Path(sys.argv[2]).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
