"""Raw per-step outputs of the unsmoothed chain on every (dataset, seed, subject) unit of the ablation, for
designing the output smoothers offline (docs/chain_stages.md, "Output smoothing").

Fits ``eegdancer-nosmooth`` exactly as ``eegaffect bench ablation`` does (same overrides, same seed: training is
deterministic on CPU, so the outputs equal the benchmark's stored predictions) and stores per test trial the
transformer's V/A, its log-variance and the class logits, with the truth.

Usage: .venv/bin/python scripts/chain_raw_outputs.py OUT.npz CACHE_DIR ROOT:SUBJECTS [ROOT:SUBJECTS ...]
       (SUBJECTS comma-separated; seeds 0, 1, 2)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

ABLATION_OVERRIDES = ["transformer.mask_pretrain=false", "vqvae.steps=150", "transformer.pretrain_steps=100",
                      "transformer.finetune_steps=200", "sac.total_steps=1500", "sac.learning_starts=150",
                      "sac.refit_steps=75"]


def main() -> int:
    import torch
    from chain_common import load_fold

    from eegaffect.models.benchmark import EEGDancerBenchmarkModel

    out, cache = Path(sys.argv[1]), sys.argv[2]
    store: dict = {}
    for spec in sys.argv[3:]:
        root, subjects = spec.rsplit(":", 1)
        for subject in [int(s) for s in subjects.split(",")]:
            train, test = load_fold(root, subject, cache)
            for seed in (0, 1, 2):
                t0 = time.perf_counter()
                model = EEGDancerBenchmarkModel("eegdancer-nosmooth", overrides=ABLATION_OVERRIDES)
                model.fit(train, seed=seed)
                chain = model.chain
                key = f"{Path(root).name}|{seed}|{subject}"
                trials = []
                for f, va, lab in zip(test.features, test.va, test.labels):
                    x = torch.from_numpy(chain.normalise(np.asarray(f))).permute(1, 2, 0)[None]
                    with torch.no_grad():
                        o = chain.model(x)
                    trials.append({"va": o["va"][0].numpy(), "logvar": o["logvar"][0].numpy(),
                                   "logits": o["class_logits"][0].numpy(), "true_va": np.asarray(va, float),
                                   "label": int(lab)})
                store[key] = trials
                print(f"{key}: {time.perf_counter() - t0:.1f} s", flush=True)
    flat = {}
    for key, trials in store.items():
        for i, tr in enumerate(trials):
            for k, v in tr.items():
                flat[f"{key}|{i}|{k}"] = np.asarray(v)
    np.savez(out, **flat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
