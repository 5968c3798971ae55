"""The calibrated demo replayed offline over several simulated sessions, for the EEG-only and the fused recipe
(issue 14 / issue 15 part 4): parent vs calibrated CCC against the truth, and the output's rate (mean |change| per
second, ``jitter_per_s``) against the truth's.

Per demo seed ``s`` (the demo model of person ``s``; the headset streams session ``s + 1`` of that person, as
``eegaffect demo --set seed=s`` does): the session's EEG and the person's devices (ECG, EDA, respiration at the
simulated devices' rates) are generated offline; its first ``CAL_S`` seconds calibrate the bundle (the package's
``paired_frames`` and ``calibrate_bundle``, what the demo's calibration phase runs), and the ``TEST_S`` seconds
starting ``GAP_S`` after them (the demo's warm-up) are predicted from a fresh start by the parent and the
calibrated bundle (``Predictor.predict``, the live path's code) and scored as the live summary scores (each output
against the truth at its frame's end). Nothing of the test stretch is used by the calibration.

Usage: nice -n 19 .venv/bin/python scripts/demo_calibration_eval.py CACHE_DIR OUT_JSON [SEEDS [MATCH_RATE]]
(SEEDS comma-separated, default 0,1,2; MATCH_RATE a number or "none", default the package's).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

CAL_S, GAP_S, TEST_S = 30.0, 12.0, 60.0
KINDS = ["ecg", "eda", "resp"]


def _session(seed: int, offset: int = 1):
    """EEG, truth and devices of session ``seed + offset`` of demo person ``seed`` (CAL_S + GAP_S + TEST_S s)."""
    from eegaffect.acquisition.channels import SEED_CHANNELS
    from eegaffect.acquisition.sim import SimulatedEEG
    from eegaffect.acquisition.sim.devices import PHYSIO_DEVICES
    from eegaffect.acquisition.sim.physiology import simulate_physiology

    total = CAL_S + GAP_S + TEST_S
    src = SimulatedEEG(list(SEED_CHANNELS), 200.0, seed=seed + offset, subject=seed)
    eeg, va = src.generate(int(total * 200.0))
    rates = {k: float(PHYSIO_DEVICES[k][1]) for k in KINDS}
    sig = simulate_physiology(rates, total, src.trajectory, seed=seed + offset, subject=seed)
    return eeg, va, {k: (sig[k][:, 0], rates[k]) for k in KINDS}


def _cut(eeg, va, physio, start_s: float, seconds: float):
    a, b = int(start_s * 200.0), int((start_s + seconds) * 200.0)
    phys = {k: (x[int(start_s * r):int((start_s + seconds) * r)], r) for k, (x, r) in physio.items()}
    return eeg[a:b], va[a:b], phys


def _score(bundle: Path, eeg, va, physio) -> dict:
    from eegaffect.benchmark.metrics import ccc, jitter
    from eegaffect.models.predictor import Predictor
    from eegaffect.targets import frame_targets, sample_times

    pred = Predictor.load(bundle)
    out = pred.predict(eeg, physio={k: v for k, v in physio.items() if k in pred.physio_kinds} or None)
    true = frame_targets(out.time_s, sample_times(len(va), 200.0), va)
    keep = np.all(np.isfinite(true), axis=1) & np.all(np.isfinite(out.va), axis=1)
    t, p, y = out.time_s[keep], out.va[keep].astype(np.float64), true[keep]
    jp, jt = jitter(p, t), jitter(y, t)
    return {"valence_ccc": float(ccc(y[:, 0], p[:, 0])), "arousal_ccc": float(ccc(y[:, 1], p[:, 1])),
            "jitter_valence": float(jp[0]), "jitter_arousal": float(jp[1]),
            "truth_jitter_valence": float(jt[0]), "truth_jitter_arousal": float(jt[1]), "n_frames": int(keep.sum())}


def main() -> int:
    from eegaffect.calibration import CalibrationData, calibrate_bundle, paired_frames
    from eegaffect.live.demo import demo_bundle
    from eegaffect.models.predictor import Predictor
    from eegaffect.targets import sample_times

    cache, out_json = Path(sys.argv[1]), Path(sys.argv[2])
    seeds = [int(s) for s in (sys.argv[3] if len(sys.argv) > 3 else "0,1,2").split(",")]
    kw = {}
    if len(sys.argv) > 4:
        kw["match_rate"] = None if sys.argv[4] == "none" else float(sys.argv[4])
    rows = []
    for seed in seeds:
        eeg, va, physio = _session(seed)
        cal = _cut(eeg, va, physio, 0.0, CAL_S)
        test = _cut(eeg, va, physio, CAL_S + GAP_S, TEST_S)
        for recipe in ("eeg", "fused"):
            parent = demo_bundle(seed, physio=KINDS, recipe=recipe, cache_dir=cache, progress=False)
            pred = Predictor.load(parent)
            labels = np.column_stack([sample_times(len(cal[1]), 200.0), cal[1]])
            f, y, r = paired_frames(pred, cal[0], 200.0, labels, cal[2] if pred.physio_kinds else None)
            data = CalibrationData([f], [y], source="offline", labels="truth", duration_s=CAL_S,
                                   physio=None if r is None else [r])
            with tempfile.TemporaryDirectory() as tmp:
                calibrated = calibrate_bundle(parent, Path(tmp) / "cal", data, **kw)
                record = Predictor.load(calibrated).meta["calibration"]
                row = {"seed": seed, "recipe": recipe, "parent": _score(parent, *test),
                       "calibrated": _score(calibrated, *test), "smoother": record.get("smoother"),
                       "calibration_fit": {"before": record["before"], "after": record["after"]}}
            rows.append(row)
            p, c = row["parent"], row["calibrated"]
            print(f"seed {seed} {recipe:>5}: V {p['valence_ccc']:+.3f} -> {c['valence_ccc']:+.3f}  "
                  f"A {p['arousal_ccc']:+.3f} -> {c['arousal_ccc']:+.3f}  jitter V {c['jitter_valence']:.3f} "
                  f"(parent {p['jitter_valence']:.3f}, truth {c['truth_jitter_valence']:.3f})  A "
                  f"{c['jitter_arousal']:.3f} (parent {p['jitter_arousal']:.3f}, truth "
                  f"{c['truth_jitter_arousal']:.3f})  smoother x{(row['smoother'] or {}).get('factor', 1)}",
                  flush=True)
    out_json.write_text(json.dumps({"cal_s": CAL_S, "gap_s": GAP_S, "test_s": TEST_S, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
