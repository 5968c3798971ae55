"""Output smoothing vs CCC and jitter, from the stored predictions of an `eegaffect bench ablation` run.

`eegdancer-nosmooth` is trained exactly like `eegdancer` (same seed, deterministic CPU training) and only skips the
output smoother, so its stored predictions give the smoothed outputs for any smoother offline (checked: the default
smoother reproduces `eegdancer`'s stored predictions). Smoothers: plain exponential (``ema<tau>``) and with the
trend term (``holt<tau>-<trend>``, :class:`eegaffect.models.smoothing.OutputSmoother`). Prints and writes
`smoothing.json` (per smoother: mean valence/arousal CCC and jitter over (dataset, seed, subject) units, the
truth's jitter, and the paired valence-CCC difference to no smoothing and to the plain 2-s smoother with 95%
intervals). The newest prediction file per fold is used (an output folder also keeps files of earlier settings).

Usage: .venv/bin/python scripts/chain_smoothing.py ABLATION_DIR [OUT_JSON [DEFAULT_TAU [DEFAULT_TREND]]]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

DEFAULT_TAU = float(sys.argv[3]) if len(sys.argv) > 3 else 2.5  # eegdancer's smooth_s in the ablation run
DEFAULT_TREND = float(sys.argv[4]) if len(sys.argv) > 4 else 4.0  # and its smooth_trend_s
#: name -> (smooth_s, trend_s)
SMOOTHERS = {f"ema{t:g}": (t, 0.0) for t in (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0)} | {
    f"holt{t:g}-{b:g}": (t, b) for t, b in ((2.0, 4.0), (2.5, 4.0), (3.0, 4.0), (2.5, 2.0), (2.5, 8.0))}
DEFAULT = f"holt{DEFAULT_TAU:g}-{DEFAULT_TREND:g}" if DEFAULT_TREND else f"ema{DEFAULT_TAU:g}"


def smooth(x: np.ndarray, tau: float, trend: float) -> np.ndarray:
    from eegaffect.models.smoothing import OutputSmoother

    return OutputSmoother(tau, trend).apply(x)[0].astype(float)


def paired(a, b) -> list[float]:
    from eegaffect.benchmark.metrics import t_half_width

    d = np.asarray(a) - np.asarray(b)
    half = t_half_width(d)
    return [float(d.mean()), float(d.mean() - half), float(d.mean() + half)]


def trials(z):
    b = np.cumsum(np.r_[0, z["n_steps"]])
    return [(z["pred_va"][i:j], z["true_va"][i:j]) for i, j in zip(b[:-1], b[1:])]


def main() -> int:
    from eegaffect.benchmark.metrics import ccc

    root = Path(sys.argv[1])
    res = {m: {"valence_ccc": [], "arousal_ccc": [], "valence_jitter": [], "arousal_jitter": []} for m in SMOOTHERS}
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
        for m, (tau, trend) in SMOOTHERS.items():
            preds = [smooth(p.astype(float), tau, trend) for p, _ in tr]
            p, t = np.concatenate(preds), np.concatenate([t for _, t in tr])
            ok = np.all(np.isfinite(t), axis=1)
            res[m]["valence_ccc"].append(ccc(t[ok, 0], p[ok, 0]))
            res[m]["arousal_ccc"].append(ccc(t[ok, 1], p[ok, 1]))
            j = np.concatenate([np.abs(np.diff(q, axis=0)) for q in preds]).mean(0)
            res[m]["valence_jitter"].append(j[0])
            res[m]["arousal_jitter"].append(j[1])
            if m == DEFAULT and ref:
                with np.load(ref[0]) as zr:
                    check.append(float(np.abs(zr["pred_va"] - p).max()))
        truth_j.append(np.concatenate([np.abs(np.diff(t, axis=0)) for _, t in tr]).mean(0))
    tj = np.nanmean(np.array(truth_j), 0)
    out = {"n_units": len(truth_j), "truth_jitter": tj.tolist(),
           "default": DEFAULT, "max_abs_diff_vs_eegdancer_at_default": max(check or [np.nan]),
           "curve": {m: {k: float(np.mean(v)) for k, v in d.items()} | {
               "smooth_s": SMOOTHERS[m][0], "trend_s": SMOOTHERS[m][1],
               "d_valence_ccc_vs_none": paired(d["valence_ccc"], res["ema0"]["valence_ccc"]),
               "d_valence_ccc_vs_ema2": paired(d["valence_ccc"], res["ema2"]["valence_ccc"])}
               for m, d in res.items()}}
    print(f"{out['n_units']} units; truth jitter valence {tj[0]:.3f}/s arousal {tj[1]:.3f}/s; "
          f"{DEFAULT} vs eegdancer's stored output: max |diff| {out['max_abs_diff_vs_eegdancer_at_default']:.2e}")
    print("smoother     valence_ccc  arousal_ccc  valence_jitter(x truth)  arousal_jitter(x truth)  "
          "dvCCC vs none [95%]      dvCCC vs ema2 [95%]")
    for m, d in out["curve"].items():
        a, b = d["d_valence_ccc_vs_none"], d["d_valence_ccc_vs_ema2"]
        print(f"{m:11s}  {d['valence_ccc']:.3f}        {d['arousal_ccc']:.3f}        "
              f"{d['valence_jitter']:.3f} ({d['valence_jitter'] / tj[0]:.2f}x)          "
              f"{d['arousal_jitter']:.3f} ({d['arousal_jitter'] / tj[1]:.2f}x)         "
              f"{a[0]:+.3f} [{a[1]:+.3f}, {a[2]:+.3f}]   {b[0]:+.3f} [{b[1]:+.3f}, {b[2]:+.3f}]")
    if len(sys.argv) > 2:
        Path(sys.argv[2]).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
