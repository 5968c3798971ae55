"""Jitter and CCC of the demo model on a new simulated session (issue 15 part 4), with and without the output
smoothing, scored as the live summary does (each estimate against the truth at the end of its window).

Trains (or reuses) the demo bundle, and for comparison the demo bundle of the former chain (quantised heads,
masked pretraining, SAC, no smoothing; same recipe otherwise), then predicts SECONDS of the demo headset's stream.

Usage: nice -n 10 .venv/bin/python scripts/chain_demo_jitter.py CACHE_DIR [SECONDS] [OUT_JSON]
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
    paths = {"default": demo_bundle(config.seed, cache_dir=cache, progress=False)}
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
        variants = {name: pred_obj.chain.smooth_s}
        if name == "default":
            variants["default without smoothing"] = 0.0
        for label, tau in variants.items():
            chain = pred_obj.chain
            saved = chain.smooth_s, chain.alpha
            chain.smooth_s, chain.alpha = tau, (1.0 if tau == 0 else float(1 - np.exp(-chain.hop_s / tau)))
            pred = pred_obj.predict(eeg)
            chain.smooth_s, chain.alpha = saved
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
