"""Plots of docs/chain_stages.md from the JSON written by chain_diagnostics.py and `eegaffect bench ablation`.

Usage: .venv/bin/python scripts/chain_plots.py docs/chain_stages [ABLATION_DIR [DEAP_ABLATION_DIR]]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def main() -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(sys.argv[1])
    leg = json.loads((folder / "diagnostics_legacy.json").read_text())
    new_path = folder / "diagnostics_new.json"
    new = json.loads(new_path.read_text()) if new_path.is_file() else None
    kw = dict(dpi=80)

    # 1. VQ-VAE over training
    h = [r for r in leg["vqvae"] if "perplexity_test" in r]
    steps = [r["step"] for r in h]
    fig, ax = plt.subplots(1, 3, figsize=(12, 3.2))
    ax[0].plot(steps, [r["perplexity_train"] for r in h], label="perplexity train")
    ax[0].plot(steps, [r["perplexity_test"] for r in h], label="perplexity held-out")
    ax[0].plot(steps, [r["used_test"] for r in h], "--", label="codes used held-out")
    ax[0].set(title=f"codebook ({leg['config']['vqvae']['n_codes']} codes)", xlabel="VQ-VAE step")
    ax[0].legend(fontsize=7)
    ax[1].plot([r["step"] for r in leg["vqvae"]], [r["recon_train"] for r in leg["vqvae"]], label="train")
    ax[1].plot([r["step"] for r in leg["vqvae"]], [r["recon_test"] for r in leg["vqvae"]], label="held-out")
    ax[1].axhline(1.0, color="grey", lw=0.8, ls=":", label="predict 0 (normalised)")
    ax[1].set(title="reconstruction MSE", xlabel="VQ-VAE step")
    ax[1].legend(fontsize=7)
    ax[2].plot([r["step"] for r in leg["vqvae"]], [r["probe_ze"] for r in leg["vqvae"]], label="continuous z_e")
    ax[2].plot([r["step"] for r in leg["vqvae"]], [r["probe_latent"] for r in leg["vqvae"]],
               label="code + residual (heads' input)")
    ax[2].plot(steps, [r["probe_code"] for r in h], label="code alone (one-hot)")
    ax[2].set(title="ridge probe: held-out valence CCC", xlabel="VQ-VAE step")
    ax[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / "vqvae.png", **kw)
    plt.close(fig)

    # 2. code switches and the heads
    ex = leg["heads"]["example"]
    fig, ax = plt.subplots(1, 2, figsize=(12, 3.2), gridspec_kw={"width_ratios": [2, 1]})
    t = np.arange(len(ex["truth"]))
    ax[0].plot(t, ex["truth"], "k", label="truth")
    ax[0].plot(t, ex["pred"], label="transformer valence (quantised heads)")
    sw = np.flatnonzero(np.diff(ex["codes"]) != 0) + 1
    ax[0].vlines(sw, -1, -0.9, color="tab:red", lw=0.8, label="code switch")
    ax[0].set(title="one held-out trial (former design)", xlabel="s", ylim=(-1.05, 1.05))
    ax[0].legend(fontsize=7, loc="upper right")
    labels = ["truth", "pred, code switch", "pred, no switch"]
    vals = [leg["heads"]["dtrue_at_switch"][0], leg["heads"]["dpred_at_switch"][0],
            leg["heads"]["dpred_no_switch"][0]]
    ax[1].bar(np.arange(3) - 0.2, vals, 0.4, label="quantised heads")
    if new and new.get("heads"):
        vals2 = [new["heads"]["dtrue_at_switch"][0], new["heads"]["dpred_at_switch"][0],
                 new["heads"]["dpred_no_switch"][0]]
        ax[1].bar(np.arange(3) + 0.2, vals2, 0.4, label="continuous heads")
    ax[1].set_xticks(range(3), labels, fontsize=7)
    ax[1].set(title="valence |Δ| per s, held-out")
    ax[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / "code_switch.png", **kw)
    plt.close(fig)

    # 3. masked pretraining on held-out latents
    p = leg["pretrain"]
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
    s = [r["step"] for r in p["history"]]
    ax[0].plot(s, [r["heldout_latent_mse"] for r in p["history"]], label="masked model")
    ax[0].axhline(p["baseline_mean_mse"], color="k", ls=":", label="training mean")
    ax[0].axhline(p["baseline_prev_mse"], color="grey", ls="--", label="previous step")
    ax[0].set(title="held-out masked latent MSE", xlabel="pretraining step")
    ax[0].legend(fontsize=7)
    ax[1].plot(s, [r["heldout_code_ce"] for r in p["history"]], label="masked model")
    ax[1].axhline(np.log(leg["config"]["vqvae"]["n_codes"]), color="k", ls=":", label="uniform")
    ax[1].set(title="held-out masked code cross-entropy", xlabel="pretraining step")
    ax[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / "pretrain.png", **kw)
    plt.close(fig)

    # 4. SAC
    terms = leg["sac"]["reward_terms"]
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.2))
    ep = np.arange(len(terms))
    for k in ("error", "smooth", "action", "ccc"):
        ax[0].plot(ep, [e[k] for e in terms], label=f"{k} term")
    ax[0].plot(ep, [e["error_of_base"] for e in terms], "k:", label="error term of the base (no correction)")
    ax[0].set(title="SAC reward terms per episode", xlabel="episode")
    ax[0].legend(fontsize=7)
    for tag, mark in (("before_refit", "o"), ("after_refit", "x")):
        sc = leg["sac"].get(tag)
        if sc:
            ax[1].scatter(sc["scatter"]["e"], sc["scatter"]["c"], s=6, marker=mark,
                          label=f"{tag.replace('_', ' ')} (r = {sc['corr_correction_error'][0]:+.2f})")
    ax[1].set(title="held-out valence: correction vs error", xlabel="truth − base", ylabel="SAC correction")
    ax[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / "sac.png", **kw)
    plt.close(fig)

    # 5. output smoothing: CCC against jitter, plain exponential vs level + trend (scripts/chain_smoothing.py)
    sm_path = folder / "smoothing.json"
    if sm_path.is_file():
        sm = json.loads(sm_path.read_text())
        fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
        for k, dim in enumerate(("valence", "arousal")):
            for family, marker in (("ema", "o-"), ("holt", "s")):
                names = [m for m in sm["curve"] if m.startswith(family)]
                names.sort(key=lambda m: sm["curve"][m][f"{dim}_jitter"])
                xs = [sm["curve"][m][f"{dim}_jitter"] / sm["truth_jitter"][k] for m in names]
                ys = [sm["curve"][m][f"{dim}_ccc"] for m in names]
                ax[k].plot(xs, ys, marker, label="exponential (tau)" if family == "ema" else "level + trend")
                for m, xv, yv in zip(names, xs, ys):
                    ax[k].annotate(m.replace("ema", "").replace("holt", ""), (xv, yv), fontsize=6)
            ax[k].axvline(1.5, color="k", ls=":", label="issue 15 target (1.5x)")
            ax[k].set(title=f"{dim}: held-out CCC vs jitter ({sm['n_units']} units)",
                      xlabel="jitter / truth's jitter", ylabel="CCC")
            ax[k].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(folder / "smoothing.png", **kw)
        plt.close(fig)

    # 6. ablation forest plots (synthetic SEED, and synthetic DEAP when given)
    for src, name in zip(sys.argv[2:4], ("ablation.png", "ablation_deap.png")):
        table = json.loads((Path(src) / "ablation.json").read_text())
        metrics = ("valence_ccc", "accuracy", "arousal_ccc")
        fig, ax = plt.subplots(1, 3, figsize=(12, 3.2), sharey=True)
        others = table[1:]
        for a, m in zip(ax, metrics):
            for i, e in enumerate(others):
                if e.get(f"{m}_diff") is None:
                    continue
                lo, hi = e.get(f"{m}_lo"), e.get(f"{m}_hi")
                a.errorbar(e[f"{m}_diff"], i, xerr=[[e[f"{m}_diff"] - lo], [hi - e[f"{m}_diff"]]] if lo is not None
                           else None, fmt="o")
            a.axvline(0, color="k", lw=0.8)
            a.set(title=f"{table[0]['model']} − model: {m}")
        ax[0].set_yticks(range(len(others)), [e["model"] for e in others], fontsize=8)
        fig.tight_layout()
        fig.savefig(folder / name, **kw)
        plt.close(fig)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
