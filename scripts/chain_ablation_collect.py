"""The ablation table from the partial-results stores of `eegaffect bench ablation` runs, without refitting: for
runs stopped early or run in pieces (several processes, model lists that differ per dataset).

Reads ``ABL_DIR/<dataset>/seed<k>/partial/<run>/rows.jsonl`` (per dataset and seed the run folder with the most
rows; the last row per (model, fold) wins), tags rows with dataset and seed, adds jitter and label flips from the
stored predictions (as `bench ablation` does), keeps only (dataset, seed, subject) units where every listed model
has a row (so every comparison is over the same units), and writes ablation.md / ablation.json /
ablation_rows.json to OUT_DIR.

Usage: .venv/bin/python scripts/chain_ablation_collect.py OUT_DIR ABL_DIR MODELS
       (MODELS comma-separated, the reference first)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _per_dataset(rows, models) -> str:
    """Markdown: per dataset, the reference's mean and each model's mean difference (reference - model) with its
    95% interval for valence CCC and accuracy."""
    from eegaffect.benchmark.ablation import paired_differences

    lines = ["| dataset (units) | metric | " + " | ".join(models[0] if i == 0 else f"Δ vs {m}"
                                                      for i, m in enumerate(models)) + " |",
             "|---|---|" + "---|" * len(models)]
    for d in sorted({r["dataset"] for r in rows}):
        sub = [r for r in rows if r["dataset"] == d]
        table = paired_differences(sub, models[0], metrics=("valence_ccc", "accuracy"))
        n = len({(r["seed"], r["subject"]) for r in sub})
        for metric in ("valence_ccc", "accuracy"):
            cells = []
            for e in table:
                if e["model"] == models[0]:
                    cells.append(f"{e[metric]:.3f}")
                elif e.get(f"{metric}_diff") is None:
                    cells.append("–")
                else:
                    lo, hi = e.get(f"{metric}_lo"), e.get(f"{metric}_hi")
                    ci = f" [{lo:+.3f}, {hi:+.3f}]" if lo is not None else ""
                    cells.append(f"{e[f'{metric}_diff']:+.3f}{ci}")
            lines.append(f"| {d} ({n}) | {metric} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    from eegaffect.benchmark.ablation import _stored_jitter, ablation_markdown, paired_differences

    out, abl, models = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3].split(",")
    rows = []
    for seed_dir in sorted(abl.glob("*/seed*")):
        runs = [d for d in (seed_dir / "partial").glob("*/") if (d / "rows.jsonl").is_file()]
        if not runs:
            continue
        run = max(runs, key=lambda d: len((d / "rows.jsonl").read_text().splitlines()))
        latest = {}
        for line in (run / "rows.jsonl").read_text().splitlines():
            r = json.loads(line)["row"]
            latest[(r["model"], r["fold"])] = r
        for (model, fold), r in latest.items():
            if model not in models:
                continue
            row = {**r, "dataset": seed_dir.parent.name, "seed": int(seed_dir.name[4:])}
            row.update(_stored_jitter([run], model, fold))
            rows.append(row)
    units: dict = {}
    for r in rows:
        units.setdefault((r["dataset"], r["seed"], r["subject"]), set()).add(r["model"])
    complete = {u for u, m in units.items() if set(models) <= m}
    rows = [r for r in rows if (r["dataset"], r["seed"], r["subject"]) in complete]
    table = paired_differences(rows, models[0])
    text = ablation_markdown(table, models[0])
    out.mkdir(parents=True, exist_ok=True)
    (out / "ablation.md").write_text(text)
    (out / "ablation.json").write_text(json.dumps(table, indent=1))
    (out / "ablation_rows.json").write_text(json.dumps(rows, indent=1))
    per = _per_dataset(rows, models)
    (out / "ablation_per_dataset.md").write_text(per)
    print(text)
    print(per)
    print(f"{len(rows)} rows, {len(complete)} complete units of {len(units)}: "
          + ", ".join(f"{d}: {sum(1 for u in complete if u[0] == d)}" for d in sorted({u[0] for u in complete})))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
