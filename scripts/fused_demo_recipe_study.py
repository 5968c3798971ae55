"""Fused demo recipes without the physiology's response delay, against the EEG-only recipe, on the offline demo
protocol; chosen on one set of sessions, confirmed on another (docs/fusion.md, "The demo's fused recipe").

Protocol (``scripts/demo_calibration_eval.py``'s, over more sessions): person ``p`` (the demo bundle of seed ``p``,
trained on that person's sessions ``p + 1000 k``), session ``p + o`` of that person for each offset ``o``; its first
30 s calibrate the bundle (``paired_frames`` + ``calibrate_bundle``, what the demo's calibration phase runs), the
60 s from 42 s on are predicted from a fresh start by the parent and the calibrated bundle and scored against the
truth (CCC, and the output's mean |change| per second against the truth's). Nothing of the test stretch is used
by the calibration. Choosing set: persons 0-4 x offsets 1, 2, 3 (the 15 sessions of the earlier studies);
confirmation set: persons 5-9 x offsets 1, 2, 3 (never looked at while choosing).

Recipes (``--recipes``, comma-separated; each fused one retrains the fused demo bundles with those settings,
cached under a name of their own because the cache key hashes the config):

- ``eeg``: the EEG-only demo recipe.
- ``fused``: the fused recipe as packaged (whatever ``eegaffect.models.demo`` says now).
- ``short``: ECG 3 s, EDA 3 s, respiration not fused (the best look-backs of the earlier study).
- ``short_route``: ``short``, valence from the EEG pass (``fusion.eeg_pass_outputs: [valence]``).
- ``slope_route``: ``short_route`` with the skin-conductance level's slope (EDA ``params: {slope: true}``) over
  the EDA look-back; ``slope5_route``: the same over 5 s.
- ``select_route``: ``slope_route`` computing only heart rate (ECG / PPG ``features: [hr_mean_bpm]``) and the
  level and its slope (EDA ``features: [scl, scl_slope]``), the features finite over 3 s it uses (the others were
  always-masked inputs); the packaged ``fused`` recipe since.

Usage: nice -n 19 .venv/bin/python scripts/fused_demo_recipe_study.py CACHE OUT_JSONL [--persons 0,1,2,3,4]
[--offsets 1,2,3] [--recipes eeg,short_route]; ``--summary`` prints, from OUT_JSONL's rows of those persons,
offsets and recipes, each recipe's mean CCC and its paired difference to ``eeg`` (Student-t 95%).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo_calibration_eval as dce  # noqa: E402

SHORT = {"ecg": {"lookback_s": 3.0}, "ppg": {"lookback_s": 3.0}, "eda": {"lookback_s": 3.0}}
SLOPE = {**SHORT, "eda": {"lookback_s": 3.0, "params": {"slope": True}}}
SLOPE5 = {**SHORT, "eda": {"lookback_s": 5.0, "params": {"slope": True}}}
SELECT = {"ecg": {"lookback_s": 3.0, "features": ["hr_mean_bpm"]},
          "ppg": {"lookback_s": 3.0, "features": ["hr_mean_bpm"]},
          "eda": {"lookback_s": 3.0, "params": {"slope": True}, "features": ["scl", "scl_slope"]}}
NO_RESP = ("ecg", "ppg", "eda")
#: recipe -> (demo recipe, look-backs, EEG-pass outputs, fused kinds); None: as packaged
RECIPES = {"eeg": ("eeg", None, None, None), "fused": ("fused", None, None, None),
           "short": ("fused", SHORT, (), NO_RESP), "short_route": ("fused", SHORT, ("valence",), NO_RESP),
           "slope_route": ("fused", SLOPE, ("valence",), NO_RESP),
           "slope5_route": ("fused", SLOPE5, ("valence",), NO_RESP),
           "select_route": ("fused", SELECT, ("valence",), NO_RESP)}


def use_recipe(name: str) -> str:
    """Set the fused demo recipe's settings of ``name``; returns the demo recipe (``eeg`` or ``fused``)."""
    from eegaffect.models import demo as demo_models

    recipe, lookbacks, routed, kinds = RECIPES[name]
    packaged = use_recipe.packaged = getattr(use_recipe, "packaged", (
        demo_models.DEMO_PHYSIO_LOOKBACKS, demo_models.DEMO_EEG_PASS_OUTPUTS, demo_models.DEMO_FUSED_KINDS))
    demo_models.DEMO_PHYSIO_LOOKBACKS = packaged[0] if lookbacks is None else lookbacks
    demo_models.DEMO_EEG_PASS_OUTPUTS = packaged[1] if routed is None else routed
    demo_models.DEMO_FUSED_KINDS = packaged[2] if kinds is None else kinds
    return recipe


def summary(rows: list[dict], recipes: list[str]) -> list[str]:
    """Per recipe and bundle (parent, calibrated): mean valence / arousal CCC over the sessions, and the paired
    difference recipe - ``eeg`` with its Student-t 95% interval; the output's rate against the truth's.
    """
    from eegaffect.benchmark.metrics import t_half_width

    by = {(r["recipe"], r["person"], r["offset"]): r for r in rows}
    units = sorted({(r["person"], r["offset"]) for r in rows if all((n, r["person"], r["offset"]) in by
                                                                     for n in recipes)})
    lines = [f"{len(units)} sessions"]
    for name in recipes:
        for which in ("parent", "calibrated"):
            out = []
            for axis in ("valence", "arousal"):
                x = np.array([by[(name, *u)][which][f"{axis}_ccc"] for u in units])
                text = f"{axis[0].upper()} {x.mean():.3f}"
                if name != "eeg" and "eeg" in recipes:
                    d = x - np.array([by[("eeg", *u)][which][f"{axis}_ccc"] for u in units])
                    h = t_half_width(d)
                    text += f" ({d.mean():+.3f} [{d.mean() - h:+.3f}, {d.mean() + h:+.3f}])"
                ratio = np.array([by[(name, *u)][which][f"jitter_{axis}"] / by[(name, *u)][which][
                    f"truth_jitter_{axis}"] for u in units])
                out.append(text + f" jitter x{ratio.mean():.2f}")
            lines.append(f"{name:>12} {which:>10}: " + "   ".join(out))
    return lines


def main() -> int:
    from eegaffect.calibration import CalibrationData, calibrate_bundle, paired_frames
    from eegaffect.live.demo import demo_bundle
    from eegaffect.models.predictor import Predictor
    from eegaffect.targets import sample_times

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cache", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--persons", default="0,1,2,3,4")
    ap.add_argument("--offsets", default="1,2,3")
    ap.add_argument("--recipes", default="eeg,short_route")
    ap.add_argument("--summary", action="store_true")
    args = ap.parse_args()
    recipes = args.recipes.split(",")
    if args.summary:
        persons, offsets = ({int(s) for s in v.split(",")} for v in (args.persons, args.offsets))
        rows = [r for r in map(json.loads, args.out.read_text().splitlines())
                if r["person"] in persons and r["offset"] in offsets]
        print("\n".join(summary(rows, recipes)))
        return 0
    with args.out.open("a") as fh:
        for person in [int(s) for s in args.persons.split(",")]:
            for offset in [int(s) for s in args.offsets.split(",")]:
                eeg, va, physio = dce._session(person, offset)
                cal = dce._cut(eeg, va, physio, 0.0, dce.CAL_S)
                test = dce._cut(eeg, va, physio, dce.CAL_S + dce.GAP_S, dce.TEST_S)
                labels = np.column_stack([sample_times(len(cal[1]), 200.0), cal[1]])
                for name in recipes:
                    recipe = use_recipe(name)
                    parent = demo_bundle(person, physio=dce.KINDS, recipe=recipe, cache_dir=args.cache,
                                         progress=False)
                    pred = Predictor.load(parent)
                    devices = {k: v for k, v in cal[2].items() if k in pred.physio_kinds} or None
                    f, y, r = paired_frames(pred, cal[0], 200.0, labels, devices)
                    data = CalibrationData([f], [y], source="offline", labels="truth", duration_s=dce.CAL_S,
                                           physio=None if r is None else [r])
                    with tempfile.TemporaryDirectory() as tmp:
                        calibrated = calibrate_bundle(parent, Path(tmp) / "cal", data)
                        row = {"person": person, "offset": offset, "session": person + offset, "recipe": name,
                               "kinds": pred.physio_kinds, "parent": dce._score(parent, *test),
                               "calibrated": dce._score(calibrated, *test)}
                    fh.write(json.dumps(row) + "\n")
                    fh.flush()
                    p, c = row["parent"], row["calibrated"]
                    print(f"person {person} session {person + offset} {name:>12}: V {p['valence_ccc']:+.3f} -> "
                          f"{c['valence_ccc']:+.3f}  A {p['arousal_ccc']:+.3f} -> {c['arousal_ccc']:+.3f}",
                          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
