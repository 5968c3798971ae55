"""Causal output smoothers compared offline on the raw outputs of scripts/chain_raw_outputs.py.

V/A: exponential smoothing (time constant tau), with a warm start whose time constant grows over the first steps,
a confidence-weighted (Kalman) smoother whose observation variance is the transformer's log-variance head, and the
level + trend smoother of eegaffect.models.smoothing (``holt<tau>-<trend>``).
Class output: per-frame argmax of the logits vs argmax of causally smoothed class probabilities.
Metrics per (dataset, seed, subject) unit as the benchmark computes them (CCC and accuracy over all test steps of
the fold; jitter = mean |change| per 1-s step within trials); paired differences with Student-t 95% intervals.

Usage: .venv/bin/python scripts/chain_smoothers.py RAW.npz [OUT_JSON]
"""

from __future__ import annotations

import json
import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np


def ema(x, tau, warm=False):
    """y_t = y_{t-1} + a_t (x_t - y_{t-1}), a = 1 - exp(-1/tau); warm: a_t = max(a, 1/(t+1)) (running mean first)."""
    if tau == 0:
        return np.array(x, float)
    a = 1 - math.exp(-1.0 / tau)
    y = np.empty_like(x, dtype=float)
    y[0] = x[0]
    for t in range(1, len(x)):
        at = max(a, 1.0 / (t + 1)) if warm else a
        y[t] = y[t - 1] + at * (x[t] - y[t - 1])
    return y


def ramp(x, tau, ramp_s):
    """Exponential smoothing whose time constant grows linearly from 0 to tau over the first ramp_s steps."""
    y = np.empty_like(x, dtype=float)
    y[0] = x[0]
    for t in range(1, len(x)):
        a = 1 - math.exp(-1.0 / max(tau * min(1.0, t / ramp_s), 1e-9))
        y[t] = y[t - 1] + a * (x[t] - y[t - 1])
    return y


def kalman(x, var, q, c):
    """Random-walk Kalman filter: process variance q per step, observation variance c * var_t (the model's own)."""
    y = np.empty_like(x, dtype=float)
    y[0], p = x[0], c * var[0]
    for t in range(1, len(x)):
        p = p + q
        k = p / (p + c * var[t])
        y[t] = y[t - 1] + k * (x[t] - y[t - 1])
        p = (1 - k) * p
    return y


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def load(path):
    z = np.load(path)
    units = defaultdict(dict)
    for k in z.files:
        ds, seed, subj, i, field = k.split("|")
        units[(ds, int(seed), int(subj))].setdefault(int(i), {})[field] = z[k]
    return {u: [d[i] for i in sorted(d)] for u, d in units.items()}


def paired(a, b):
    from eegaffect.benchmark.metrics import t_half_width

    d = np.asarray(a) - np.asarray(b)
    half = t_half_width(d)
    return float(d.mean()), float(d.mean() - half), float(d.mean() + half)


def _select(units, ccc) -> dict:
    """The level/trend grid on the seed-0 units (selection) and its scores on seeds 1 and 2 (evaluation)."""
    from eegaffect.models.smoothing import OutputSmoother

    def score(keys, tau, trend):
        c, jv, ja = [], [], []
        for u in keys:
            trials = units[u]
            t = np.concatenate([tr["true_va"] for tr in trials])
            ps = [OutputSmoother(tau, trend).apply(tr["va"])[0] for tr in trials]
            c.append(ccc(t[:, 0], np.concatenate(ps)[:, 0]))
            j = np.concatenate([np.abs(np.diff(q, axis=0)) for q in ps]).mean(0)
            tj = np.concatenate([np.abs(np.diff(tr["true_va"], axis=0)) for tr in trials]).mean(0)
            jv.append(j[0] / tj[0])
            ja.append(j[1] / tj[1])
        return c, float(np.mean(jv)), float(np.mean(ja))

    sel = [u for u in sorted(units) if u[1] == 0]
    ev = [u for u in sorted(units) if u[1] != 0]
    none_ev = score(ev, 0.0, 0.0)[0]
    ema2_ev = score(ev, 2.0, 0.0)[0]
    grid = {}
    print("selection (seed 0) / evaluation (seeds 1, 2): tau trend  vCCC jitter(v/a x truth) | vCCC jitter "
          "d vs none d vs ema2")
    for tau in (1.5, 2.0, 2.5, 3.0, 4.0):
        for trend in (0.0, 2.0, 4.0, 8.0, 16.0, 32.0):
            c, jv, ja = score(sel, tau, trend)
            ce, jve, jae = score(ev, tau, trend)
            dn, de = paired(ce, none_ev), paired(ce, ema2_ev)
            grid[f"{tau:g}-{trend:g}"] = {"selection": [float(np.mean(c)), jv, ja],
                                          "evaluation": [float(np.mean(ce)), jve, jae], "d_vs_none": dn,
                                          "d_vs_ema2": de}
            print(f"  {tau:4g} {trend:4g}   {np.mean(c):.3f} {jv:.2f}/{ja:.2f} | {np.mean(ce):.3f} {jve:.2f}/{jae:.2f} "
                  f"{dn[0]:+.3f} [{dn[1]:+.3f},{dn[2]:+.3f}] {de[0]:+.3f} [{de[1]:+.3f},{de[2]:+.3f}]")
    return {"selection_units": [list(map(str, u)) for u in sel], "grid": grid}


def main() -> int:
    from eegaffect.benchmark.metrics import ccc

    units = load(sys.argv[1])
    keys = sorted(units)
    va_methods = {f"ema{tau:g}": (lambda tr, tau=tau: ema(tr["va"], tau)) for tau in (0, 1, 2, 3, 4)}
    va_methods.update({f"ema{tau:g}-warm": (lambda tr, tau=tau: ema(tr["va"], tau, warm=True)) for tau in (2, 3, 4)})
    from eegaffect.models.smoothing import OutputSmoother

    for tau, r in ((2.0, 10), (2.0, 20), (3.0, 20)):
        va_methods[f"ema{tau:g}-ramp{r}"] = lambda tr, tau=tau, r=r: ramp(tr["va"], tau, r)

    for tau, trend in ((2.0, 4.0), (2.5, 4.0), (3.0, 4.0)):
        va_methods[f"holt{tau:g}-{trend:g}"] = lambda tr, tau=tau, trend=trend: OutputSmoother(tau, trend).apply(
            tr["va"])[0]
    for q in (0.001, 0.002, 0.005, 0.01, 0.02):
        for c in (0.1, 0.3, 1.0):
            va_methods[f"kalman-q{q:g}-c{c:g}"] = (lambda tr, q=q, c=c: np.stack(
                [kalman(tr["va"][:, j], np.exp(tr["logvar"][:, j]), q, c) for j in range(2)], 1))
    # the same filter with the variance held at its trial mean: what the sigma head itself adds
    va_methods["kalman-q0.001-c1-constvar"] = lambda tr: np.stack(
        [kalman(tr["va"][:, j], np.full(len(tr["va"]), np.exp(tr["logvar"][:, j]).mean()), 0.001, 1.0)
         for j in range(2)], 1)
    lab_methods = {"frame": lambda tr: tr["logits"].argmax(-1)}
    for tau in (1, 2, 2.5, 4, 8):
        lab_methods[f"prob-ema{tau:g}"] = lambda tr, tau=tau: ema(softmax(tr["logits"]), tau).argmax(-1)
    lab_methods["prob-mean"] = lambda tr: (np.cumsum(softmax(tr["logits"]), 0)).argmax(-1)
    lab_methods["logprob-sum"] = lambda tr: np.cumsum(np.log(softmax(tr["logits"])), 0).argmax(-1)

    res = {m: defaultdict(list) for m in va_methods}
    truth_j = []
    sig_err = []
    for u in keys:
        trials = units[u]
        t = np.concatenate([tr["true_va"] for tr in trials])
        ok = np.all(np.isfinite(t), 1)
        late = np.concatenate([np.arange(len(tr["va"])) >= 10 for tr in trials]) & ok
        truth_j.append(np.concatenate([np.abs(np.diff(tr["true_va"], axis=0)) for tr in trials]).mean(0))
        raw = np.concatenate([tr["va"] for tr in trials])
        sd = np.exp(0.5 * np.concatenate([tr["logvar"] for tr in trials]))
        err = np.abs(raw - t)
        sig_err.append([float(np.corrcoef(sd[ok, j], err[ok, j])[0, 1]) for j in range(2)])
        for m, f in va_methods.items():
            preds = [f(tr) for tr in trials]
            p = np.concatenate(preds)
            res[m]["valence_ccc"].append(ccc(t[ok, 0], p[ok, 0]))
            res[m]["arousal_ccc"].append(ccc(t[ok, 1], p[ok, 1]))
            res[m]["valence_ccc_after_10s"].append(ccc(t[late, 0], p[late, 0]))
            j = np.concatenate([np.abs(np.diff(q, axis=0)) for q in preds]).mean(0)
            res[m]["valence_jitter"].append(j[0])
            res[m]["arousal_jitter"].append(j[1])
    lres = {m: [] for m in lab_methods}
    early = {m: [] for m in lab_methods}
    flips = {m: [] for m in lab_methods}
    for u in keys:
        trials = units[u]
        for m, f in lab_methods.items():
            hits = np.concatenate([f(tr) == tr["label"] for tr in trials])
            lres[m].append(float(hits.mean()))
            early[m].append(float(np.concatenate([(f(tr) == tr["label"])[:10] for tr in trials]).mean()))
            flips[m].append(float(np.concatenate([np.diff(f(tr)) != 0 for tr in trials]).mean()))
    tj = np.mean(truth_j, 0)
    out = {"units": [list(map(str, u)) for u in keys], "truth_jitter": tj.tolist(),
           "sigma_abs_error_corr": np.mean(sig_err, 0).tolist(), "va": {}, "labels": {}}
    print(f"{len(keys)} units; truth jitter {tj.round(4)}; corr(sigma, |error|) valence/arousal "
          f"{np.mean(sig_err, 0).round(3)} (per unit min {np.min(sig_err, 0).round(2)})")
    print("method                   vCCC  v>10s   aCCC   vJit(xT) aJit(xT)   dvCCC vs ema2 [95%]        dvCCC vs ema0")
    for m, d in res.items():
        dv = paired(d["valence_ccc"], res["ema2"]["valence_ccc"])
        d0 = paired(d["valence_ccc"], res["ema0"]["valence_ccc"])
        vj, aj = np.mean(d["valence_jitter"]) / tj[0], np.mean(d["arousal_jitter"]) / tj[1]
        print(f"{m:22s} {np.mean(d['valence_ccc']):.3f}  {np.mean(d['valence_ccc_after_10s']):.3f}  "
              f"{np.mean(d['arousal_ccc']):.3f}   {vj:.2f}     {aj:.2f}    "
              f"{dv[0]:+.3f} [{dv[1]:+.3f},{dv[2]:+.3f}]   {d0[0]:+.3f} [{d0[1]:+.3f},{d0[2]:+.3f}]")
        out["va"][m] = {k: float(np.mean(v)) for k, v in d.items()} | {
            "valence_jitter_x_truth": vj, "arousal_jitter_x_truth": aj, "d_valence_ccc_vs_ema2": dv,
            "d_valence_ccc_vs_none": d0, "per_unit_valence_ccc": d["valence_ccc"]}
    print("label method       accuracy  first10s  flips/step   d vs frame [95%]")
    for m, a in lres.items():
        d = paired(a, lres["frame"])
        print(f"{m:16s}  {np.mean(a):.3f}     {np.mean(early[m]):.3f}     {np.mean(flips[m]):.3f}     "
              f"{d[0]:+.3f} [{d[1]:+.3f},{d[2]:+.3f}]")
        out["labels"][m] = {"accuracy": float(np.mean(a)), "accuracy_first_10_steps": float(np.mean(early[m])),
                            "label_flips_per_step": float(np.mean(flips[m])), "d_vs_frame": d, "per_unit": a}
    out["selection"] = _select(units, ccc)
    if len(sys.argv) > 2:
        Path(sys.argv[2]).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
