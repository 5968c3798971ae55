"""Jitter and CCC of the demo model on a new simulated session (issue 15 part 4), with and without the output
smoothing, scored as the live summary does (each estimate against the truth at the end of its window).

Trains (or reuses) the demo bundle, and for comparison the demo bundle of the former chain (quantised heads,
masked pretraining, SAC, no smoothing; same recipe otherwise), then predicts SECONDS of the demo headset's stream.
The demo bundle's outputs are scored with each output smoother in turn (none, the plain 2-s exponential smoother of
round 2, the default level + trend smoother): the smoother acts after training, so one trained bundle serves all.
``DEMO_BUNDLE`` (optional) is a demo bundle directory to use instead of the cached one (e.g. one trained before the
smoother's settings changed the cache key: the weights are the same).

Usage: nice -n 10 .venv/bin/python scripts/chain_demo_jitter.py CACHE_DIR [SECONDS] [OUT_JSON [DEMO_BUNDLE]]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def main() -> int:
    from eegaffect.acquisition.channels import CHANNEL_SETS
    from eegaffect.acquisition.simulator import SimulatedEEG

    from eegaffect.benchmark.metrics import ccc
    from eegaffect.config import load_config
    from eegaffect.live.demo import DemoConfig, demo_bundle
    from eegaffect.models import demo as mdemo
    from eegaffect.models.predictor import Predictor

    cache = Path(sys.argv[1])
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 300.0
    config = load_config(DemoConfig, default="demo")
    subject = config.seed if config.subject is None else config.subject
    eeg, va = SimulatedEEG(CHANNEL_SETS[config.montage], config.sfreq, seed=config.seed + 1, subject=subject,
                           unit=config.unit).generate(int(seconds * config.sfreq))
    from eegaffect.models.smoothing import OutputSmoother

    paths = {"default": (Path(sys.argv[4]) if len(sys.argv) > 4
                         else demo_bundle(config.seed, cache_dir=cache, progress=False))}
    legacy_dir = cache / "legacy-demo"
    if not (legacy_dir / "bundle.json").is_file():
        base = mdemo.demo_config

        def legacy_config(seed: int = 0):
            c = base(seed)
            c.vqvae.quantize, c.vqvae.head_input = True, "quantised"
            c.transformer.mask_pretrain, c.transformer.smooth_s, c.sac.enabled = True, 0.0, True
            return c

        mdemo.demo_config = legacy_config
        try:
            mdemo.train_demo_bundle(legacy_dir, seed=config.seed, progress=False)
        finally:
            mdemo.demo_config = base
    paths["former chain"] = legacy_dir
    out = {"seconds": seconds}
    for name, path in paths.items():
        pred_obj = Predictor.load(path)
        chain = pred_obj.chain
        variants = {name: chain.smoother}
        if name == "default":
            t = mdemo.demo_config(config.seed).transformer
            variants = {"default without smoothing": OutputSmoother(0.0, hop_s=chain.hop_s),
                        "default, plain 2-s smoothing (round 2)": OutputSmoother(2.0, hop_s=chain.hop_s),
                        f"default, level {t.smooth_s:g} s + trend {t.smooth_trend_s:g} s": OutputSmoother(
                            t.smooth_s, t.smooth_trend_s, chain.hop_s)}
        saved = chain.smoother
        for label, smoother in variants.items():
            chain.smoother = smoother
            pred = pred_obj.predict(eeg)
            chain.smoother = saved
            true = va[np.round(pred.time_s * config.sfreq).astype(int) - 1]
            dt = float(np.median(np.diff(pred.time_s)))
            jit = np.abs(np.diff(pred.va, axis=0)).mean(0) / dt
            tj = np.abs(np.diff(true, axis=0)).mean(0) / dt
            out[label] = {"valence_ccc": float(ccc(true[:, 0], pred.va[:, 0])),
                          "arousal_ccc": float(ccc(true[:, 1], pred.va[:, 1])),
                          "valence_jitter_per_s": float(jit[0]), "arousal_jitter_per_s": float(jit[1]),
                          "truth_jitter_per_s": tj.tolist()}
            print(f"{label:28s} valence CCC {out[label]['valence_ccc']:.3f}  arousal CCC "
                  f"{out[label]['arousal_ccc']:.3f}  |d|/s valence {jit[0]:.3f} ({jit[0] / tj[0]:.1f}x truth) "
                  f"arousal {jit[1]:.3f} ({jit[1] / tj[1]:.1f}x truth)", flush=True)
    if len(sys.argv) > 3:
        Path(sys.argv[3]).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
