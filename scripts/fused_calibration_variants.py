"""Calibration variants of the demo bundles on the offline demo protocol, and the delay of their arousal output
(docs/fusion.md, "Why calibration barely helps the fused arousal").

Protocol (``scripts/demo_calibration_eval.py``, over more sessions): person ``p`` (the demo bundle of seed ``p``),
session ``p + o`` of that person for each offset ``o``; the session's first 30 s calibrate, the 60 s from 42 s on are
predicted from a fresh start and scored against the truth (CCC). Nothing of the test stretch is used by the
calibration.

Variants (``--variants``, comma-separated): ``parent``; ``default`` (``calibrate_chain`` as the demo runs it);
``stats`` (statistics only, ``steps=0``); ``stats_eegonly`` (EEG statistics only, the parent's physiological means);
``readout_nostats`` (readout only, the parent's statistics); ``readout_parentphys`` (default with the parent's
physiological means); ``anchorX`` / ``stepsN`` (default with that anchor / number of steps); ``full``; ``affine``
(statistics, then a per-output map ``tanh(a z + b)`` of the readout fitted on the calibration frames with the
training loss; ``affine_nostats``: on the parent, ``affine_eegstats``: after the EEG statistics only); ``eegpass``
(the fused bundle with every physiological kind missing at calibration and test);
``drop=K1|K2/VARIANT`` (those modalities missing at calibration and test; ``eeg`` at test only, with ``parent``).
A variant ending in ``@warm`` is scored warm: the test stretch is predicted after the session's first 42 s.

``--lookbacks ecg=5,eda=5`` retrains the fused demo bundles with those physiological look-backs (cached under a
name of their own). ``--lag`` writes, instead, the arousal CCC of the output against the truth 0..15 frames earlier.

Usage: nice -n 19 .venv/bin/python scripts/fused_calibration_variants.py CACHE OUT_JSONL [--persons 0,1,2,3,4]
[--sessions 1,2,3] [--recipes eeg,fused] [--variants parent,default] [--lookbacks K=S,...] [--lag]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo_calibration_eval as dce  # noqa: E402

CAL_S, GAP_S, TEST_S, KINDS = dce.CAL_S, dce.GAP_S, dce.TEST_S, dce.KINDS
FUSED_ONLY = {"stats_eegonly", "readout_parentphys", "affine_eegstats"}
LAGS = range(16)


def predict(parent, chain, eeg, va, physio, drop=(), preroll=None):
    """Smoothed V/A output and truth per frame of the test stretch (fresh start, or warm with ``preroll``)."""
    from eegaffect.targets import frame_targets, sample_times

    pred = copy.copy(parent)
    pred.chain = chain
    pred.reset()
    kw = {"drop": tuple(drop)}
    t_from = -np.inf
    if preroll is not None:  # the whole session; keep the frames of the fresh start's clock in the test stretch
        fresh = pred.predict(eeg, physio={k: v for k, v in physio.items() if k in pred.physio_kinds} or None, **kw)
        t_from = CAL_S + GAP_S + float(fresh.time_s[0]) - 1e-6
        eeg, va, physio = preroll
        pred.reset()
    out = pred.predict(eeg, physio={k: v for k, v in physio.items() if k in pred.physio_kinds} or None, **kw)
    true = frame_targets(out.time_s, sample_times(len(va), 200.0), va)
    keep = np.all(np.isfinite(true), axis=1) & np.all(np.isfinite(out.va), axis=1) & (out.time_s >= t_from)
    return out.va[keep].astype(np.float64), true[keep]


def _calibrate(chain, f, y, r, *, parent_eeg_stats=False, parent_physio=False, **kw):
    from eegaffect.calibration import adapt

    saved = adapt._norm_stats, adapt._physio_stats
    try:
        if parent_eeg_stats:
            adapt._norm_stats = lambda feats: (chain.mean.copy(), chain.std.copy())
        if parent_physio:
            adapt._physio_stats = lambda spec, physio, rescale=False: (spec, {})
        return adapt.calibrate_chain(chain, [f], [y], physio=None if r is None else [r], **kw)[0]
    finally:
        adapt._norm_stats, adapt._physio_stats = saved


def _affine(chain, f, y, r, steps: int = 200, lr: float = 0.05):
    """The chain with its va head mapped per output to ``a z + b`` (pre-tanh), fitted on the calibration frames."""
    import torch

    from eegaffect.models.chain import EEGDancerChain
    from eegaffect.models.transformer import ccc_loss

    model = copy.deepcopy(chain.model).eval()
    tr = model.transformer
    x = torch.from_numpy(chain.normalise(f)).permute(1, 2, 0)[None]
    ph = None if r is None else tuple(t[None] for t in chain.physio_inputs(r, len(f)))
    with torch.no_grad():
        z = tr.va_head(tr(model._fuse(model.vqvae.encode(x)["head"], ph))["context"])[0].double()
    target = torch.as_tensor(y, dtype=torch.float64)
    a = torch.ones(2, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([a, b], lr=lr)
    for _ in range(steps):
        p = torch.tanh(a * z + b)
        loss = torch.nn.functional.mse_loss(p, target) + ccc_loss(p, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        tr.va_head.weight.mul_(a.float()[:, None])
        tr.va_head.bias.mul_(a.float()).add_(b.float())
    return EEGDancerChain(model, chain.mean, chain.std, chain.optimizer, smooth_s=chain.smooth_s, hop_s=chain.hop_s,
                          trend_s=chain.trend_s, smooth_labels=chain.smooth_labels, physio=chain.physio)


def variant(name: str, chain, f, y, r):
    """The calibrated chain of variant ``name`` (see the module docstring)."""
    if name == "parent":
        return chain
    if name == "default":
        return _calibrate(chain, f, y, r)
    if name == "full":
        return _calibrate(chain, f, y, r, full=True)
    if name == "stats":
        return _calibrate(chain, f, y, r, steps=0)
    if name == "stats_eegonly":
        return _calibrate(chain, f, y, r, steps=0, parent_physio=True)
    if name == "readout_nostats":
        return _calibrate(chain, f, y, r, parent_eeg_stats=True, parent_physio=True)
    if name == "readout_parentphys":
        return _calibrate(chain, f, y, r, parent_physio=True)
    if name.startswith("anchor"):
        return _calibrate(chain, f, y, r, anchor=float(name[6:]))
    if name.startswith("steps"):
        return _calibrate(chain, f, y, r, steps=int(name[5:]))
    if name == "affine":
        return _affine(_calibrate(chain, f, y, r, steps=0, match_rate=None), f, y, r)
    if name == "affine_nostats":
        return _affine(chain, f, y, r)
    if name == "affine_eegstats":
        return _affine(_calibrate(chain, f, y, r, steps=0, match_rate=None, parent_physio=True), f, y, r)
    raise ValueError(f"unknown variant {name!r}")


def main() -> int:
    from eegaffect.benchmark.metrics import ccc
    from eegaffect.calibration import paired_frames
    from eegaffect.live.demo import demo_bundle
    from eegaffect.models import demo as demo_models
    from eegaffect.models.predictor import Predictor
    from eegaffect.targets import sample_times

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cache", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--persons", default="0,1,2,3,4")
    ap.add_argument("--sessions", default="1,2,3")
    ap.add_argument("--recipes", default="eeg,fused")
    ap.add_argument("--variants", default="parent,default")
    ap.add_argument("--lookbacks", default="")
    ap.add_argument("--lag", action="store_true")
    args = ap.parse_args()
    if args.lookbacks:
        demo_models.DEMO_PHYSIO_LOOKBACKS = {**demo_models.DEMO_PHYSIO_LOOKBACKS, **{
            kv.split("=")[0]: {"lookback_s": float(kv.split("=")[1])} for kv in args.lookbacks.split(",")}}
    with args.out.open("a") as fh:
        for person in [int(s) for s in args.persons.split(",")]:
            for offset in [int(s) for s in args.sessions.split(",")]:
                eeg, va, physio = dce._session(person, offset)
                cal = dce._cut(eeg, va, physio, 0.0, CAL_S)
                test = dce._cut(eeg, va, physio, CAL_S + GAP_S, TEST_S)
                labels = np.column_stack([sample_times(len(cal[1]), 200.0), cal[1]])
                for recipe in args.recipes.split(","):
                    parent = Predictor.load(demo_bundle(person, physio=KINDS, recipe=recipe, cache_dir=args.cache,
                                                        progress=False))
                    f, y, r = paired_frames(parent, cal[0], 200.0, labels, cal[2] if parent.physio_kinds else None)
                    for v in args.variants.split(","):
                        base, warm, drop = v.removesuffix("@warm"), v.endswith("@warm"), ()
                        if base.startswith("eegpass"):
                            drop, base = tuple(KINDS), "default"
                        elif base.startswith("drop="):
                            spec, base = base[5:].split("/")
                            drop = tuple(spec.split("|"))
                        if (drop or base in FUSED_ONLY) and recipe != "fused":
                            continue
                        rr = None if r is None else {k: np.full_like(x, np.nan) if k in drop else x
                                                     for k, x in r.items()}
                        chain = variant(base, parent.chain, f, y, rr)
                        p, t = predict(parent, chain, *test, drop=drop, preroll=(eeg, va, physio) if warm else None)
                        row = {"person": person, "session": person + offset, "recipe": recipe, "variant": v,
                               "lookbacks": args.lookbacks or None}
                        if args.lag:
                            row["arousal_ccc_by_lag"] = [float(ccc(t[:len(t) - L, 1], p[L:, 1])) for L in LAGS]
                        else:
                            row.update(valence_ccc=float(ccc(t[:, 0], p[:, 0])),
                                       arousal_ccc=float(ccc(t[:, 1], p[:, 1])))
                        fh.write(json.dumps(row) + "\n")
                        fh.flush()
                        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
