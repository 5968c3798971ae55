"""Why the calibrated EEG-only demo's valence wanders on the demo's default session (issue 15 part 4).

The default session (demo person 0, session +1) is the one of 15 whose calibrated valence output moves more than
1.5x its truth's rate (2.98x offline). Experiments, cheapest first, all with the protocol of
scripts/demo_calibration_eval.py (first 30 s calibrate the bundle with the package's code, the 60 s from 42 s on
are predicted from a fresh start, each output scored against the truth at its frame's end; output rate = mean
|change| per second, ``jitter``):

- ``artifacts CACHE``: the default session regenerated with each artifact type switched off (blinks, saccades,
  muscle, drift, all; each on its own random stream, so the rest of the signal is unchanged), calibrated on its
  own first 30 s: does the wander follow the artifacts?
- ``hold CACHE``: the same session with the affect held constant over the test stretch (arousal, or valence, at
  its test-stretch mean; the noise, the artifacts and the calibration stretch unchanged): how much of the output's
  motion is driven by the affect at all?
- ``noise CACHE``: the same person, session traits and affect trajectory with 8 other noise/artifact draws
  (``seed`` 101-108): is 2.98x one unlucky draw or a property of the session?
- ``occlude CACHE``: the default session's test frames with one band, one channel or one (channel, band) feature
  replaced by its mean over the calibration frames: which inputs carry the calibrated output's motion (its
  smoothed valence rate from the 6th frame on)?
- ``train OUT N_SESSIONS [FINETUNE_STEPS]``: demo bundles of persons 0-4 trained on N sessions (the demo recipe
  otherwise), for ``dump``;
- ``dump CACHE_OR_BUNDLES OUT PERSON:K,... [noart] [steps=N]``: per session the calibrated and parent outputs
  (smoothed and pre-smoother) and the truth on the test stretch (``noart``: every artifact switched off;
  ``steps=N``: calibration with N gradient steps, 0 = the normalisation statistics only);
- ``compare BASE CAND... [from=F]``: paired comparison of dumps (sessions within 1.5x on both axes, the default
  session's ratio, CCC differences with Student-t 95 % intervals over the sessions; ``from=F``: rates and CCC
  from the F-th test frame on, to leave out the fresh start).
- ``rates DUMP...``: per session the truth's spread and rate and the calibrated output's rate, and how the output's
  rate and the ratio go with the truth's rate (Spearman): does the output move at a rate of its own?
- ``uncertainty DUMP``: does the calibrated chain's confidence (its log-variance head) tell the frames with a
  large error apart (per session, the correlation of sigma with the pre-smoother output's |error|)?
- ``smoothers CHOOSE_DUMP CONFIRM_DUMP``: causal smoothers of other shapes (exponential, cascaded exponential,
  moving average, triangular, Holt with other constants) on the calibrated chain's pre-smoother output, against
  the current Holt smoother at equal input: sessions within 1.5x, the default session's ratio, paired CCC
  differences on the choosing and the confirmation sessions.

- ``readouts``: linear readouts (ridge, penalty by generalised cross-validation) of the demo pipeline's frames
  instead of the chain, trained on each person's demo sessions: every (channel, band) feature, the hemispheric
  differences of the 27 symmetric pairs (DASM), their alpha band only, and both; offset to the calibration
  frames' truth, smoothed as the demo smooths (Holt 2.5 s / 4 s). Does an asymmetry readout move less?
- ``asymmetry``: the simulator's strongest valence signal, frontal alpha asymmetry ((F4 + F6) - (F3 + F5) alpha
  DE), causally smoothed and fitted to the test stretch's own valence truth (in-sample, an upper bound): how much
  valence does the signal carry on the default session, against sessions whose truth moves?

``train`` and ``dump`` take ``loss=mse``: the transformer's loss (training and calibration's readout fit) without
its (1 - CCC) term, which sets the output's spread to the training truth's whatever the evidence.

Usage: nice -n 19 .venv/bin/python scripts/demo_valence_wander_eval.py VERB ARGS (see above).
"""

from __future__ import annotations

import glob
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo_calibration_eval as ev  # noqa: E402

FS = 200.0
A, B, N = int(ev.CAL_S * FS), int((ev.CAL_S + ev.GAP_S) * FS), int(ev.TEST_S * FS)
TOTAL = int((ev.CAL_S + ev.GAP_S + ev.TEST_S) * FS)
NO_ART = {"blinks": False, "eye_movements": False, "muscle": False, "drift": False}


def _generate(person: int, k: int, trajectory=None, seed: int | None = None, **flags):
    from eegaffect.acquisition.channels import SEED_CHANNELS
    from eegaffect.acquisition.sim import SimulatedEEG
    from eegaffect.acquisition.sim.trajectories import RandomWalkTrajectory

    src = SimulatedEEG(list(SEED_CHANNELS), FS, seed=person + k if seed is None else seed, subject=person,
                       session=person + k, trajectory=trajectory or RandomWalkTrajectory(person + k), **flags)
    return src.generate(TOTAL)


def _bundle(where: Path, person: int) -> Path:
    from eegaffect.live.demo import demo_bundle

    own = where / f"s{person}"
    return own if own.is_dir() else demo_bundle(person, cache_dir=where, progress=False)


def _run(parent: Path, eeg, va, steps: int | None = None) -> dict:
    """Calibrate ``parent`` on the first CAL_S s, predict the test stretch from a fresh start (parent and calibrated,
    smoothed and pre-smoother)."""
    from eegaffect.calibration import CalibrationData, calibrate_bundle, paired_frames
    from eegaffect.models.predictor import Predictor
    from eegaffect.models.smoothing import OutputSmoother
    from eegaffect.targets import frame_targets, sample_times

    pred = Predictor.load(parent)
    f, y, _ = paired_frames(pred, eeg[:A], FS, np.column_stack([sample_times(A, FS), va[:A]]), None)
    test = eeg[B:B + N]
    with tempfile.TemporaryDirectory() as tmp:
        cp = Predictor.load(calibrate_bundle(parent, Path(tmp) / "cal", CalibrationData(
            [f], [y], source="offline", labels="truth", duration_s=ev.CAL_S), steps=steps))
        out, pout = cp.predict(test), pred.predict(test)
        for p in (cp, pred):
            p.chain.smoother = OutputSmoother(0.0, 0.0, p.chain.hop_s)
        raw, praw = cp.predict(test).va, pred.predict(test).va
    true = frame_targets(out.time_s, sample_times(N, FS), va[B:B + N])
    return {"out": out.va, "pout": pout.va, "raw": raw, "praw": praw, "t": out.time_s, "y": true,
            "confidence": out.confidence}


def _scores(r: dict, key: str = "out", first: int = 1):
    from eegaffect.benchmark.metrics import ccc, jitter

    keep = np.all(np.isfinite(r["y"]), 1) & np.all(np.isfinite(r[key]), 1)
    keep[:first - 1] = False
    p, y, t = r[key][keep].astype(np.float64), r["y"][keep].astype(np.float64), r["t"][keep]
    with np.errstate(divide="ignore", invalid="ignore"):  # a held truth does not move
        ratio = jitter(p, t) / jitter(y, t)
    return ratio, np.array([ccc(y[:, i], p[:, i]) for i in range(2)]), jitter(p, t)


def artifacts(cache: Path) -> None:
    parent = _bundle(cache, 0)
    for name, flags in [("all on", {}), ("no blinks", {"blinks": False}), ("no saccades", {"eye_movements": False}),
                        ("no muscle", {"muscle": False}), ("no drift", {"drift": False}), ("none", NO_ART)]:
        run = _run(parent, *_generate(0, 1, **flags))
        (r, c, _), (rp, cp, _) = _scores(run), _scores(run, "pout")
        print(f"{name:12s} calibrated: rate ratio V {r[0]:.2f}x A {r[1]:.2f}x  CCC V {c[0]:+.3f} A {c[1]:+.3f} | "
              f"parent: V {rp[0]:.2f}x A {rp[1]:.2f}x  CCC V {cp[0]:+.3f} A {cp[1]:+.3f}", flush=True)


def hold(cache: Path) -> None:
    from eegaffect.acquisition.sim.trajectories import RandomWalkTrajectory

    walk = RandomWalkTrajectory(1)
    va0 = walk(np.arange(TOTAL) / FS)

    def held(axis):
        def f(t):
            v = np.array(walk(t), dtype=np.float64)
            if axis is not None:
                v[t >= ev.CAL_S + ev.GAP_S, axis] = va0[B:, axis].mean()
            return v
        return f

    parent = _bundle(cache, 0)
    runs = {name: _run(parent, *_generate(0, 1, trajectory=held(axis)))
            for name, axis in (("as is", None), ("valence held", 0), ("arousal held", 1))}
    for name, r in runs.items():
        rate = _scores(r)[2]
        line = f"{name:13s} calibrated output rate V {rate[0]:.3f}/s A {rate[1]:.3f}/s"
        if name != "as is":
            d = np.abs(runs["as is"]["out"].astype(np.float64) - r["out"]).mean(0)
            dt = np.abs(runs["as is"]["y"] - r["y"]).mean(0)
            line += (f"  mean |output change| V {d[0]:.3f} A {d[1]:.3f} for a mean |truth change| V {dt[0]:.3f} "
                     f"A {dt[1]:.3f}")
        print(line, flush=True)


def noise(cache: Path) -> None:
    parent = _bundle(cache, 0)
    for seed in [1] + list(range(101, 109)):
        s = _run(parent, *_generate(0, 1, seed=seed))
        r, c, _ = _scores(s)
        rp = _scores(s, "pout")[0]
        print(f"noise seed {seed:3d}: calibrated V {r[0]:.2f}x A {r[1]:.2f}x CCC V {c[0]:+.2f} A {c[1]:+.2f} | "
              f"parent V {rp[0]:.2f}x A {rp[1]:.2f}x", flush=True)


def occlude(cache: Path) -> None:
    from eegaffect.acquisition.channels import SEED_CHANNELS

    from eegaffect.benchmark.metrics import jitter
    from eegaffect.calibration import CalibrationData, calibrate_bundle, paired_frames
    from eegaffect.models.predictor import Predictor
    from eegaffect.targets import sample_times

    eeg, va = _generate(0, 1)
    parent = _bundle(cache, 0)
    pred = Predictor.load(parent)
    f, y, _ = paired_frames(pred, eeg[:A], FS, np.column_stack([sample_times(A, FS), va[:A]]), None)
    frames = pred._new_pipeline().process(eeg[B:B + N]).astype(np.float32)
    mean = np.asarray(f).mean(0)
    with tempfile.TemporaryDirectory() as tmp:
        cp = Predictor.load(calibrate_bundle(parent, Path(tmp) / "cal", CalibrationData(
            [f], [y], source="offline", labels="truth", duration_s=ev.CAL_S)))
    ch, bands = list(SEED_CHANNELS), pred.band_names
    masks = [(f"band {b}", (slice(None), i)) for i, b in enumerate(bands)]
    masks += [(f"channel {c}", (i, slice(None))) for i, c in enumerate(ch)]
    masks += [(f"{c} {b}", (i, j)) for i, c in enumerate(ch) for j, b in enumerate(bands)]

    def rate(x):
        return jitter(cp.chain.run(x)["va"].astype(np.float64)[5:])[0]

    rows = []
    for name, (c, b) in masks:
        x = frames.copy()
        x[:, c, b] = mean[c, b]
        rows.append((rate(x), name))
    rows.sort()
    print(f"calibrated valence rate from the 6th frame {rate(frames):.3f}/s; lowest with one input occluded: "
          + ", ".join(f"{n} {r:.3f}" for r, n in rows[:10]))


def _mse_only() -> None:
    """The transformer's regression loss without its (1 - CCC) term, in training and in calibration."""
    import eegaffect.models.transformer as transformer

    transformer.ccc_loss = lambda pred, target: pred.new_zeros(())


def train(out: Path, n_sessions: int, steps: int | None) -> None:
    import eegaffect.models.demo as demo

    config = demo.demo_config

    def patched(seed=0, physio=()):
        c = config(seed, physio)
        if steps is not None:
            c.transformer.finetune_steps = steps
        return c

    demo.demo_config = patched
    for person in range(5):
        demo.train_demo_bundle(out / f"s{person}", seed=person, progress=False, n_sessions=n_sessions)


def dump(where: Path, out: Path, pairs, noart: bool, steps: int | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for person, k in pairs:
        eeg, va = _generate(person, k, **(NO_ART if noart else {}))
        np.savez(out / f"p{person}_s{k}.npz", **_run(_bundle(where, person), eeg, va, steps))
        print(f"person {person} session +{k}", flush=True)


def compare(base: Path, cands, first: int = 1) -> None:
    from eegaffect.benchmark.metrics import t_half_width

    def load(d, key):
        return {Path(f).stem: _scores(dict(np.load(f)), key, first) for f in sorted(glob.glob(str(d / "p*_s*.npz")))}

    def ci(x):
        m, h = float(np.mean(x)), t_half_width(np.asarray(x, np.float64))
        return f"{m:+.3f} [{m - h:+.3f}, {m + h:+.3f}]"

    for key in ("out", "pout"):
        b = load(base, key)
        for d in [base, *cands]:
            c = load(d, key)
            names = [n for n in b if n in c]
            r, cc = np.array([c[n][0] for n in names]), np.array([c[n][1] for n in names])
            bc = np.array([b[n][1] for n in names])
            line = (f"{'calibrated' if key == 'out' else 'parent':10s} {str(d):32s} within 1.5x "
                    f"{int(np.all(r <= 1.5, 1).sum())}/{len(r)}  CCC {cc[:, 0].mean():.3f}/{cc[:, 1].mean():.3f}")
            if "p0_s1" in c:
                line += f"  default session {c['p0_s1'][0][0]:.2f}x/{c['p0_s1'][0][1]:.2f}x"
            if d != base:
                line += f"\n{'':10s} dCCC V {ci(cc[:, 0] - bc[:, 0])}  A {ci(cc[:, 1] - bc[:, 1])}"
            print(line)


def _dumps(*dirs: Path) -> dict:
    return {Path(f).stem: dict(np.load(f)) for d in dirs for f in sorted(glob.glob(str(d / "p*_s*.npz")))}


def rates(dirs) -> None:
    from scipy.stats import spearmanr

    from eegaffect.benchmark.metrics import ccc, jitter

    rows = []
    for name, d in _dumps(*dirs).items():
        keep = np.all(np.isfinite(d["y"]), 1) & np.all(np.isfinite(d["out"]), 1)
        y, p, t = d["y"][keep], d["out"][keep].astype(np.float64), d["t"][keep]
        jt, jp = jitter(y, t), jitter(p, t)
        rows.append([*y.std(0), *jt, *jp, *(jp / jt)])
        print(f"{name:6s} valence: truth sd {y[:, 0].std():.3f} rate {jt[0]:.3f}/s, output {jp[0]:.3f}/s "
              f"({jp[0] / jt[0]:.2f}x, CCC {ccc(y[:, 0], p[:, 0]):+.2f}) | arousal: truth sd {y[:, 1].std():.3f} "
              f"rate {jt[1]:.3f}/s, output {jp[1]:.3f}/s ({jp[1] / jt[1]:.2f}x)")
    a = np.array(rows)
    for i, axis in enumerate(("valence", "arousal")):
        print(f"{axis}: output rate {a[:, 4 + i].mean():.3f} +- {a[:, 4 + i].std():.3f}/s over {len(a)} sessions; "
              f"Spearman with the truth's rate: output rate {spearmanr(a[:, 2 + i], a[:, 4 + i])[0]:+.2f}, "
              f"ratio {spearmanr(a[:, 2 + i], a[:, 6 + i])[0]:+.2f}")


def uncertainty(where: Path) -> None:
    corr = []
    for name, d in _dumps(where).items():
        sigma = 1.0 / d["confidence"].astype(np.float64) - 1.0
        error = np.abs(d["raw"] - d["y"]).mean(1)
        keep = np.isfinite(error)
        corr.append(np.corrcoef(sigma[keep], error[keep])[0, 1])
        print(f"{name:6s} sigma mean {sigma.mean():.3f}, correlation with |error| {corr[-1]:+.2f}")
    print(f"mean correlation {np.mean(corr):+.2f} ({np.min(corr):+.2f} to {np.max(corr):+.2f}) over {len(corr)} "
          f"sessions")


def _ema(x, tau):
    from eegaffect.models.smoothing import OutputSmoother

    return OutputSmoother(tau, 0.0, 1.0).apply(x)[0]


def _moving(x, weights):
    """Causal weighted moving average (``weights[0]`` on the newest frame; shorter at the start)."""
    out = np.empty_like(x)
    for i in range(len(x)):
        w = weights[:i + 1]
        out[i] = (w[:, None] * x[i + 1 - len(w):i + 1][::-1]).sum(0) / w.sum()
    return out


SMOOTHERS = {
    "Holt 2.5 s / 4 s (current)": lambda x: _holt(x, 2.5, 4.0),
    "Holt 4 s / 6 s": lambda x: _holt(x, 4.0, 6.0),
    "exponential 2.5 s": lambda x: _ema(x, 2.5),
    "exponential 4 s": lambda x: _ema(x, 4.0),
    "2 x exponential 1.5 s": lambda x: _ema(_ema(x, 1.5), 1.5),
    "2 x exponential 2 s": lambda x: _ema(_ema(x, 2.0), 2.0),
    "3 x exponential 1.5 s": lambda x: _ema(_ema(_ema(x, 1.5), 1.5), 1.5),
    "moving average 5 frames": lambda x: _moving(x, np.ones(5)),
    "moving average 7 frames": lambda x: _moving(x, np.ones(7)),
    "triangular 5 frames": lambda x: _moving(x, np.array([1.0, 2, 3, 2, 1])),
    "triangular 7 frames": lambda x: _moving(x, np.array([1.0, 2, 3, 4, 3, 2, 1])),
    "moving average 3, then Holt": lambda x: _holt(_moving(x, np.ones(3)), 2.5, 4.0),
}


def _holt(x, smooth_s, trend_s):
    from eegaffect.models.smoothing import OutputSmoother

    return OutputSmoother(smooth_s, trend_s, 1.0).apply(x)[0]


def smoothers(choose: Path, confirm: Path) -> None:
    from eegaffect.benchmark.metrics import t_half_width

    sets = {"choose": _dumps(choose), "confirm": _dumps(confirm)}
    base = {}
    for name, smooth in SMOOTHERS.items():
        line = f"{name:28s}"
        for label, dumps in sets.items():
            scores = {n: _scores({**d, "s": np.clip(smooth(d["raw"].astype(np.float64)), -1, 1)}, "s")
                      for n, d in dumps.items()}
            ratio = np.array([s[0] for s in scores.values()])
            c = np.array([s[1] for s in scores.values()])
            base.setdefault(label, c)
            line += (f" | {label}: within 1.5x {int(np.all(ratio <= 1.5, 1).sum())}/{len(c)}, CCC "
                     f"{c[:, 0].mean():.3f}/{c[:, 1].mean():.3f}")
            if "p0_s1" in scores:
                line += f", default {scores['p0_s1'][0][0]:.2f}x/{scores['p0_s1'][0][1]:.2f}x"
            if c is not base[label]:
                d = c - base[label]
                line += "".join(f", d{a} {d[:, i].mean():+.3f} +- {t_half_width(d[:, i]):.3f}"
                                for i, a in enumerate("VA"))
        print(line, flush=True)


def _pipeline_frames(eeg, pipeline):
    from eegaffect.acquisition.channels import SEED_CHANNELS

    from eegaffect.pipeline import SignalPipeline

    pipe = SignalPipeline(pipeline, n_chans=len(SEED_CHANNELS), sfreq_in=FS)
    frames = np.asarray(pipe.process(eeg))
    return frames, pipe.frame_times(len(frames))


def symmetric_pairs(names) -> list[tuple[int, int]]:
    """(left, right) indices of the 10-20 homologous pairs in ``names`` (odd number left, the next even right)."""
    import re

    index = {n.upper(): i for i, n in enumerate(names)}
    pairs = []
    for name, i in index.items():
        m = re.fullmatch(r"([A-Z]+)(\d+)", name)
        if m and int(m.group(2)) % 2 == 1 and f"{m.group(1)}{int(m.group(2)) + 1}" in index:
            pairs.append((i, index[f"{m.group(1)}{int(m.group(2)) + 1}"]))
    return pairs


def readouts() -> None:
    from eegaffect.acquisition.channels import SEED_CHANNELS
    from sklearn.linear_model import RidgeCV

    from eegaffect.models.demo import _demo_sequences, demo_config
    from eegaffect.targets import frame_targets, sample_times

    left, right = np.array(symmetric_pairs(SEED_CHANNELS)).T

    def views(f):
        dasm = f[:, left] - f[:, right]
        return {"DE": f.reshape(len(f), -1), "DASM": dasm.reshape(len(f), -1), "DASM alpha": dasm[:, :, 2],
                "DE + DASM": np.concatenate([f.reshape(len(f), -1), dasm.reshape(len(f), -1)], 1)}

    results: dict = {}
    for person in range(5):
        config = demo_config(person)
        train = _demo_sequences(person, 8, 120.0, config, False)
        y_train = np.concatenate(train.va)
        ok = np.all(np.isfinite(y_train), 1)
        x_train = {k: np.concatenate([views(f)[k] for f in train.features]) for k in views(train.features[0])}
        for k in (1, 2, 3):
            eeg, va = _generate(person, k)
            f, t = _pipeline_frames(eeg, config.pipeline)
            y = frame_targets(t, sample_times(len(va), FS), va)
            cal, test = t <= ev.CAL_S, (t > ev.CAL_S + ev.GAP_S) & np.all(np.isfinite(y), 1)
            for name, x in views(f).items():
                mu, sd = x_train[name][ok].mean(0), x_train[name][ok].std(0) + 1e-9
                model = RidgeCV(alphas=np.logspace(-1, 4, 12)).fit((x_train[name][ok] - mu) / sd, y_train[ok])
                p = model.predict((x - x[cal].mean(0)) / sd)  # the session's own offset, from calibration frames
                p += y[cal].mean(0) - p[cal].mean(0)
                out = np.clip(_holt(p, 2.5, 4.0), -1, 1)
                results.setdefault(name, {})[f"p{person}_s{k}"] = _scores({"s": out[test], "y": y[test],
                                                                           "t": t[test]}, "s")
    for name, scores in results.items():
        ratio = np.array([s[0] for s in scores.values()])
        c = np.array([s[1] for s in scores.values()])
        print(f"{name:10s} within 1.5x {int(np.all(ratio <= 1.5, 1).sum())}/{len(c)}, CCC {c[:, 0].mean():.3f}/"
              f"{c[:, 1].mean():.3f}, default session {scores['p0_s1'][0][0]:.2f}x/{scores['p0_s1'][0][1]:.2f}x",
              flush=True)


def asymmetry() -> None:
    from eegaffect.acquisition.channels import SEED_CHANNELS

    from eegaffect.benchmark.metrics import ccc, jitter
    from eegaffect.models.demo import demo_config
    from eegaffect.targets import frame_targets, sample_times

    ch = {n.upper(): i for i, n in enumerate(SEED_CHANNELS)}
    for person, k in ((0, 1), (1, 1), (2, 2), (3, 1), (4, 3)):
        eeg, va = _generate(person, k)
        f, t = _pipeline_frames(eeg, demo_config(person).pipeline)
        y = frame_targets(t, sample_times(len(va), FS), va)[:, 0]
        test = (t > ev.CAL_S + ev.GAP_S) & np.isfinite(y)
        x = f[:, ch["F4"], 2] + f[:, ch["F6"], 2] - f[:, ch["F3"], 2] - f[:, ch["F5"], 2]
        line = (f"person {person} session +{k}: valence truth sd {y[test].std():.3f}, "
                f"rate {jitter(y[test], t[test])[0]:.3f}/s |")
        for tau in (2.5, 5.0, 10.0, 20.0):
            xs = _ema(x[:, None], tau)[test, 0]
            fit = np.polyval(np.polyfit(xs, y[test], 1), xs)
            line += f" {tau:g} s: r {np.corrcoef(xs, y[test])[0, 1]:+.2f} CCC {ccc(y[test], fit):+.2f}"
        print(line, flush=True)


def main() -> int:
    args = sys.argv[1:]
    if not args or args[0] not in ("artifacts", "hold", "noise", "occlude", "train", "dump", "compare", "rates",
                                   "smoothers", "readouts", "asymmetry", "uncertainty"):
        print(__doc__)
        return 2
    verb = args[0]
    if "loss=mse" in args:
        _mse_only()
        args = [a for a in args if a != "loss=mse"]
    if verb in ("artifacts", "hold", "noise", "occlude"):
        {"artifacts": artifacts, "hold": hold, "noise": noise, "occlude": occlude}[verb](Path(args[1]))
    elif verb in ("readouts", "asymmetry"):
        {"readouts": readouts, "asymmetry": asymmetry}[verb]()
    elif verb == "uncertainty":
        uncertainty(Path(args[1]))
    elif verb == "rates":
        rates([Path(a) for a in args[1:]])
    elif verb == "smoothers":
        smoothers(Path(args[1]), Path(args[2]))
    elif verb == "train":
        train(Path(args[1]), int(args[2]), int(args[3]) if len(args) > 3 else None)
    elif verb == "dump":
        pairs = [tuple(int(v) for v in p.split(":")) for p in args[3].split(",")]
        steps = [int(a[6:]) for a in args[4:] if a.startswith("steps=")]
        dump(Path(args[1]), Path(args[2]), pairs, "noart" in args[4:], steps[0] if steps else None)
    else:
        first = [int(a[5:]) for a in args[2:] if a.startswith("from=")]
        compare(Path(args[1]), [Path(a) for a in args[2:] if not a.startswith("from=")], first[0] if first else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
