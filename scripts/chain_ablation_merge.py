"""Join the rows of several `eegaffect bench ablation` output folders (e.g. runs over other subject subsets) into
one paired-difference table: docs' ablation.md / ablation.json / ablation_rows.json.

Training is deterministic on CPU and each fold is fitted on its own, so the rows of separate runs are the rows one
run over all subjects would give. Rows of the same (model, dataset, seed, fold) appearing twice are an error.

Usage: .venv/bin/python scripts/chain_ablation_merge.py OUT_DIR ABLATION_DIR [ABLATION_DIR ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> int:
    from eegaffect.benchmark.ablation import ablation_markdown, paired_differences

    out = Path(sys.argv[1])
    rows, seen = [], set()
    for folder in sys.argv[2:]:
        for r in json.loads((Path(folder) / "ablation_rows.json").read_text()):
            key = (r["model"], r["dataset"], r["seed"], r["fold"])
            if key in seen:
                raise SystemExit(f"duplicate row {key} in {folder}")
            seen.add(key)
            rows.append(r)
    table = paired_differences(rows, "eegdancer")
    text = ablation_markdown(table, "eegdancer")
    out.mkdir(parents=True, exist_ok=True)
    (out / "ablation.md").write_text(text)
    (out / "ablation.json").write_text(json.dumps(table, indent=1))
    (out / "ablation_rows.json").write_text(json.dumps(rows, indent=1))
    print(text)
    units = sorted({(r["dataset"], r["seed"], r["subject"]) for r in rows}, key=str)
    print(f"{len(rows)} rows, {len(units)} units")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
