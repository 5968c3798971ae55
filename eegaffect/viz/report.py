"""``eegaffect report``: PNG figures, one HTML page and a PDF from a run's output folder.

Two kinds of folders are understood:

- a live session's or the demo's (``summary.json`` + ``updates.csv``, optionally ``frames.npz`` and
  ``dashboard.png``): summary table, predicted vs. true valence/arousal over time, the trail on the circumplex,
  latency distribution and stages, the active code over time, the codebook prototypes placed on the
  valence/arousal plane (mean prediction, and mean ground truth, while each code was active) and the saved
  dashboard;
- a benchmark's (``results.json`` / ``results.csv`` from ``eegaffect bench seed``): the per-model summary table
  and plot, the output jitter's table, per-subject results (table and bars), and the benchmark's own plots
  (confusion matrices, trajectories) found in ``plots/``; a plot the benchmark saved is used as is (each appears
  once), one it did not save (``--no-plots``) is drawn here.

The report folder is self-contained: every image the page shows (the run's ``dashboard.png``, the benchmark's
``plots/*.png``) is copied into it, so the folder can be moved or shared on its own.

Figures are written by the plot functions of :mod:`eegaffect.viz` (plain :class:`matplotlib.figure.Figure`
objects, no display needed); the PDF holds the same figures, one per page (matplotlib's ``PdfPages``).
"""

from __future__ import annotations

import csv
import html
import json
import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from eegaffect.errors import UserInputError

__all__ = ["ReportError", "make_report", "load_live_run", "code_prototypes", "plot_va_timeseries",
           "plot_stage_bars", "plot_stage_distributions", "plot_metric_bars"]


class ReportError(UserInputError):
    """The folder is not a live/demo or benchmark output folder (the message says what was looked for)."""


# ---------------------------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------------------------
def load_live_run(run_dir: str | Path) -> dict:
    """Read a live/demo folder.

    Parameters
    ----------
    run_dir : str | Path
        Folder with ``summary.json`` and ``updates.csv``.

    Returns
    -------
    run : dict
        ``summary`` (dict) and ``updates`` (dict of column name -> ndarray, shape (n_updates,)).
    """
    run_dir = Path(run_dir)
    for name in ("summary.json", "updates.csv"):
        if not (run_dir / name).is_file():
            raise ReportError(f"{run_dir} is not a live/demo output folder: {name} is missing")
    summary = _read_json(run_dir / "summary.json")
    with open(run_dir / "updates.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    cols = rows[0].keys() if rows else ["time_s", "valence", "arousal", "status", "fresh", "code",
                                        "truth_valence", "truth_arousal", "latency_ms"]
    updates = {c: np.array([float(r[c]) if r[c] not in ("", "nan") else np.nan for r in rows], dtype=np.float64)
               for c in cols}
    return {"summary": summary, "updates": updates}


def code_prototypes(codes: np.ndarray, va: np.ndarray, n_codes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Place each latent code on the valence/arousal plane: the mean of ``va`` over the steps it was active.

    Parameters
    ----------
    codes : ndarray of int, shape (n,)
        Active code per step (-1: none).
    va : ndarray, shape (n, 2)
        Valence/arousal per step (NaN rows ignored).
    n_codes : int | None
        Codebook size (default: largest code + 1).

    Returns
    -------
    prototypes : ndarray, shape (n_codes, 2)
        Mean valence/arousal per code, NaN for codes never active.
    counts : ndarray of int, shape (n_codes,)
        Steps per code.
    """
    codes = np.asarray(codes).astype(np.int64).ravel()
    va = np.asarray(va, dtype=np.float64).reshape(-1, 2)
    if len(codes) != len(va):
        raise ValueError(f"expected one code per va row, got {len(codes)} codes and {len(va)} rows")
    n = int(n_codes) if n_codes is not None else int(codes.max(initial=-1)) + 1
    ok = (codes >= 0) & (codes < n) & np.all(np.isfinite(va), axis=1)
    counts = np.bincount(codes[ok], minlength=n)
    sums = np.zeros((n, 2))
    np.add.at(sums, codes[ok], va[ok])
    with np.errstate(invalid="ignore", divide="ignore"):
        protos = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], np.nan)
    return protos, counts


# ---------------------------------------------------------------------------------------------------------------
# figures specific to reports
# ---------------------------------------------------------------------------------------------------------------
def plot_va_timeseries(times: np.ndarray, va: np.ndarray, truth: np.ndarray | None = None, status=None,
                       fig=None):
    """Predicted (and true) valence and arousal over time, gap/invalid updates shaded.

    Parameters
    ----------
    times : ndarray, shape (n,)
        Seconds.
    va : ndarray, shape (n, 2)
        Predictions (NaN in gaps).
    truth : ndarray, shape (n, 2) | None
        Ground truth at the same times.
    status : ndarray, shape (n,) | None
        Status per update (non-zero is shaded).
    fig : matplotlib.figure.Figure | None

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    times = np.asarray(times, float)
    va = np.asarray(va, float).reshape(-1, 2)
    if len(times) != len(va):
        raise ValueError(f"expected one va row per time, got {len(times)} times and {len(va)} rows")
    if fig is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(9, 4.5), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    for k, (ax, name) in enumerate(zip(axes, ("valence", "arousal"))):
        if truth is not None:
            ax.plot(times, np.asarray(truth, float).reshape(-1, 2)[:, k], color="tab:green", label="truth")
        ax.plot(times, va[:, k], color="tab:blue", label="predicted")
        if status is not None:
            bad = np.asarray(status) != 0
            if bad.any():
                ax.fill_between(times, -1, 1, where=bad, color="0.85", step="mid", label="gap / invalid")
        ax.set_ylim(-1.05, 1.05)
        ax.set_ylabel(name)
        ax.legend(loc="upper right", fontsize=7)
    axes[-1].set_xlabel("time (s)")
    return fig


def plot_stage_bars(stages_ms: Mapping[str, float | None], ax=None):
    """Mean milliseconds per pipeline stage (a horizontal bar each).

    Parameters
    ----------
    stages_ms : mapping of str to float | None
        Stage -> mean ms.
    ax : matplotlib.axes.Axes | None

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    from eegaffect.viz.live import _new_axes

    fig, ax = _new_axes(ax, (6, 2.8))
    names = list(stages_ms)
    values = [0.0 if stages_ms[n] is None else float(stages_ms[n]) for n in names]
    ax.barh(names, values, color="tab:orange")
    ax.invert_yaxis()
    ax.set_xlabel("mean ms per update")
    ax.set_title("latency by stage")
    return fig


def plot_stage_distributions(stages_ms: Mapping[str, np.ndarray], ax=None):
    """Per-update milliseconds of each stage as box plots (whiskers 1-99 %), on a log axis.

    Parameters
    ----------
    stages_ms : mapping of str to ndarray, shape (n_updates,)
        Stage -> per-update ms (NaN ignored).
    ax : matplotlib.axes.Axes | None

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    from eegaffect.viz.live import _new_axes

    fig, ax = _new_axes(ax, (7, 3.2))
    names = list(stages_ms)
    data = [np.clip(np.asarray(stages_ms[n], float)[np.isfinite(stages_ms[n])], 1e-4, None) for n in names]
    ax.boxplot(data, whis=(1, 99), showfliers=True, flierprops={"markersize": 2})
    ax.set_xticks(np.arange(1, len(names) + 1), names)
    ax.set_yscale("log")
    ax.set_ylabel("ms per update")
    ax.set_title("latency by stage (per update)")
    return fig


def plot_metric_bars(summary: Sequence[Mapping], metrics: Sequence[str], ax=None):
    """Mean ± std of metrics per model (from a benchmark's summary rows).

    Parameters
    ----------
    summary : sequence of mapping
        Rows with ``model``, ``<metric>_mean`` and ``<metric>_std``.
    metrics : sequence of str
        Metric names.
    ax : matplotlib.axes.Axes | None

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    from eegaffect.viz.live import _new_axes

    fig, ax = _new_axes(ax, (8, 3.5))
    models = [str(s["model"]) for s in summary]
    width = 0.8 / max(len(metrics), 1)
    x = np.arange(len(models))
    for j, m in enumerate(metrics):
        mean = [_num(s.get(f"{m}_mean")) for s in summary]
        std = [_num(s.get(f"{m}_std")) for s in summary]
        ax.bar(x + j * width, np.nan_to_num(mean), width, yerr=np.nan_to_num(std), label=m, capsize=2)
    ax.set_xticks(x + width * (len(metrics) - 1) / 2, models, rotation=20, ha="right")
    ax.axhline(0, color="k", lw=0.6)
    ax.legend(fontsize=7)
    ax.set_title("benchmark summary (mean ± std over subjects)")
    return fig


def _num(v) -> float:
    return float(v) if isinstance(v, (int, float)) and v is not None and math.isfinite(v) else float("nan")


# ---------------------------------------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------------------------------------
def make_report(run_dir: str | Path, out_dir: str | Path | None = None, *, dpi: int = 100) -> dict:
    """Write figures, ``report.html`` and ``report.pdf`` for a live/demo or benchmark folder.

    Parameters
    ----------
    run_dir : str | Path
        The run's output folder.
    out_dir : str | Path | None
        Report folder (default ``run_dir/report``).
    dpi : int
        Resolution of the PNG figures.

    Returns
    -------
    paths : dict
        ``html`` and ``pdf`` (Path), ``figures`` (list of Path), ``kind`` ("live" or "benchmark").

    Raises
    ------
    ReportError
        The folder holds neither kind of output.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ReportError(f"expected a run folder, got {run_dir} (not a directory)")
    out = Path(out_dir) if out_dir is not None else run_dir / "report"
    if (run_dir / "summary.json").is_file():
        kind, sections = "live", _live_sections(run_dir)
    elif (run_dir / "results.json").is_file() or (run_dir / "results.csv").is_file():
        kind, sections = "benchmark", _bench_sections(run_dir)
    else:
        raise ReportError(f"{run_dir} holds neither a live/demo output (summary.json + updates.csv) nor a benchmark "
                          "output (results.json or results.csv)")
    return _write(out, run_dir, kind, sections, int(dpi))


def _live_sections(run_dir: Path) -> list[dict]:
    from eegaffect.viz.live import plot_circumplex, plot_code_timeline, plot_latency_histogram

    run = load_live_run(run_dir)
    s, u = run["summary"], run["updates"]
    t = u["time_s"]
    va = np.column_stack([u["valence"], u["arousal"]])
    truth = np.column_stack([u["truth_valence"], u["truth_arousal"]])
    has_truth = bool(np.isfinite(truth).any())
    table = [("updates", s["updates"]), ("duration (s)", s["duration_s"])]
    for key in ("p50", "p99", "max"):
        table.append((f"latency {key} (ms)", (s.get("latency_ms") or {}).get(key)))
    for key in ("samples_received", "samples_lost", "gaps", "reconnects", "stalls", "seconds_without_data",
                "invalid_updates", "source_changes", "seconds_unknown_loss"):
        if key in s:  # the last five are newer: older summaries lack them
            table.append((key.replace("_", " "), s[key]))
    for key, value in (s.get("ground_truth") or {}).items():
        table.append((key.replace("_", " "), value))
    for key, value in (s.get("jitter_per_s") or {}).items():  # newer summaries only
        table.append((f"{key.replace('_', ' ')} jitter (|change| per s)", value))
    sections = [{"title": "Summary", "table": (["quantity", "value"], table)}]
    sections.append({"title": "Predicted vs. true trajectory",
                     "figure": plot_va_timeseries(t, va, truth if has_truth else None, u["status"]),
                     "name": "trajectory"})
    sections.append({"title": "Valence/arousal plane",
                     "figure": plot_circumplex(va[np.all(np.isfinite(va), axis=1)],
                                               truth[np.all(np.isfinite(truth), axis=1)] if has_truth else None),
                     "name": "circumplex"})
    fresh = (u["fresh"] > 0) & (u["code"] >= 0)
    codes = u["code"][fresh].astype(int)
    if codes.size:
        protos, counts = code_prototypes(codes, va[fresh])
        fig = plot_circumplex(np.zeros((0, 2)), prototypes=protos, title="codebook prototypes (mean prediction)")
        if has_truth:
            tprotos, _ = code_prototypes(codes, truth[fresh], n_codes=len(protos))
            ax = fig.axes[0]
            ax.scatter(tprotos[:, 0], tprotos[:, 1], marker="+", color="tab:green", label="mean truth")
            ax.legend(loc="lower left", fontsize=7)
        sections.append({"title": "Codebook prototypes on the valence/arousal plane", "figure": fig,
                         "name": "prototypes",
                         "table": (["code", "steps", "mean valence", "mean arousal"],
                                   [(k, int(c), protos[k, 0], protos[k, 1]) for k, c in enumerate(counts) if c])})
        sections.append({"title": "Active latent code", "figure": plot_code_timeline(t[fresh], codes),
                         "name": "codes"})
    lat = u["latency_ms"][np.isfinite(u["latency_ms"])]
    if lat.size:
        sections.append({"title": "Latency distribution", "figure": plot_latency_histogram(lat), "name": "latency"})
    if s.get("stages_ms") and any(v is not None for v in s["stages_ms"].values()):
        sections.append({"title": "Latency by stage", "figure": plot_stage_bars(s["stages_ms"]), "name": "stages"})
    per_stage = {c[:-3]: u[c] for c in u if c.endswith("_ms") and c != "latency_ms" and np.isfinite(u[c]).any()}
    if per_stage and any(np.isfinite(v).any() for v in per_stage.values()):
        sections.append({"title": "Latency by stage, per update", "figure": plot_stage_distributions(per_stage),
                         "name": "stage-distributions"})
    dashboard = _dashboard_png(run_dir, s)
    if dashboard is not None:
        sections.append({"title": "Dashboard (last frame)", "image": dashboard})
    return sections


def _dashboard_png(run_dir: Path, summary: dict) -> Path | None:
    """The run's dashboard figure: ``dashboard.png`` in the run folder, else the file the summary names (relative
    to the run folder when it is not absolute); None when there is none.
    """
    if (run_dir / "dashboard.png").is_file():
        return run_dir / "dashboard.png"
    named = summary.get("dashboard")
    if named:
        path = Path(named) if Path(named).is_absolute() else run_dir / named
        if path.is_file():
            return path
    return None


def _bench_sections(run_dir: Path) -> list[dict]:
    if (run_dir / "results.json").is_file():
        source = run_dir / "results.json"
        doc = _read_json(source)
        rows, summary = doc.get("rows", []), doc.get("summary", [])
        title = f"{doc.get('dataset', '?')} / {doc.get('protocol', '?')}"
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ReportError(f"{source}: 'rows' should be a list of result rows, found {type(rows).__name__}")
    else:
        source = run_dir / "results.csv"
        with open(source, newline="", encoding="utf-8") as fh:
            rows = [{k: _parse(v) for k, v in r.items()} for r in csv.DictReader(fh)]
        summary, title = [], "results.csv"
    if not rows:
        raise ReportError(f"{source} holds no result rows (the benchmark finished no fold): nothing to report; "
                          "run or resume 'eegaffect bench seed' into this folder first")
    sections: list[dict] = []
    metrics = [m for m in ("accuracy", "macro_f1", "valence_ccc", "valence_rmse", "arousal_ccc", "arousal_rmse")
               if any(r.get(m) is not None for r in rows)]
    from eegaffect.benchmark.metrics import JITTER_METRICS
    from eegaffect.viz.benchmark import plot_subject_bars, plot_summary

    # the benchmark's saved plots are shown as they are (once each); the ones it did not save are drawn here
    saved = {png.stem: png for png in sorted((run_dir / "plots").glob("*.png"))} \
        if (run_dir / "plots").is_dir() else {}
    if summary:
        cols = ["model", "n_subjects"] + [f"{m}_{s}" for m in metrics for s in ("mean", "std")]
        sections.append({"title": f"Benchmark {title}", "table": (cols, [[s.get(c) for c in cols]
                                                                         for s in summary])})
        jitters = [m for m in JITTER_METRICS if any(s.get(f"{m}_mean") is not None for s in summary)]
        if jitters:  # a table of its own, for the models that predict valence/arousal (as in results.md)
            cols = ["model", "n_subjects"] + [f"{m}_{s}" for m in jitters for s in ("mean", "std")]
            shown = [s for s in summary if any(s.get(f"{m}_mean") is not None for m in jitters)]
            sections.append({"title": "Output jitter (mean |change| per step within trials; ratio to the truth's)",
                             "table": (cols, [[s.get(c) for c in cols] for s in shown])})
        if "summary" in saved:
            sections.append({"title": "Summary by model", "image": saved.pop("summary")})
        elif metrics:
            sections.append({"title": "Summary by model", "figure": plot_summary(summary), "name": "summary"})
    cols = ["model", "subject", "session", "fold"] + metrics
    sections.append({"title": "Per-subject results", "table": (cols, [[r.get(c) for c in cols] for r in rows])})
    for m in metrics if rows else []:
        if m.endswith("ccc") or m == "accuracy":
            name = f"subjects-{m}"
            if name in saved:
                sections.append({"title": f"Per subject: {m}", "image": saved.pop(name)})
            else:
                sections.append({"title": f"Per subject: {m}", "figure": plot_subject_bars(rows, m), "name": name})
    for stem, png in saved.items():
        label = "Confusion matrix" if stem.startswith("confusion") else (
            "Trajectory" if stem.startswith("trajectory") else "Plot")
        sections.append({"title": f"{label}: {stem}", "image": png})
    return sections


def _read_json(path: Path) -> dict:
    """A run's JSON file as a dict; :class:`ReportError` naming the file when it is not JSON (e.g. cut short)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path} is not valid JSON ({exc}); the file is damaged or was cut short") from None
    if not isinstance(doc, dict):
        raise ReportError(f"{path}: expected a JSON object, found {type(doc).__name__}")
    return doc


def _parse(v: str):
    if v in ("", None):
        return None
    try:
        return int(v)
    except ValueError:
        try:
            return float(v)
        except ValueError:
            return v


def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return "–" if not math.isfinite(v) else f"{v:.4g}"
    return str(v)


def _write(out: Path, run_dir: Path, kind: str, sections: list[dict], dpi: int) -> dict:
    from matplotlib.backends.backend_pdf import PdfPages

    out.mkdir(parents=True, exist_ok=True)
    figures: list[Path] = []
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>eegaffect report: {html.escape(run_dir.name)}"
             "</title><style>body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:"
             "collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}img{max-width:"
             "100%}</style></head><body>",
             f"<h1>eegaffect report</h1><p>{kind} run: <code>{html.escape(str(run_dir))}</code></p>"]
    pdf_path = out / "report.pdf"
    with PdfPages(pdf_path) as pdf:
        for sec in sections:
            parts.append(f"<h2>{html.escape(sec['title'])}</h2>")
            if "table" in sec:
                cols, rows = sec["table"]
                parts.append("<table><tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in cols) + "</tr>")
                for row in rows:
                    parts.append("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>")
                parts.append("</table>")
            if "figure" in sec:
                fig = sec["figure"]
                path = out / f"{sec['name']}.png"
                fig.savefig(path, dpi=dpi)
                fig.suptitle(sec["title"])
                pdf.savefig(fig)
                figures.append(path)
                parts.append(f"<img src='{html.escape(path.name)}' alt='{html.escape(sec['title'])}'>")
            if "image" in sec:
                img = _copy_into(Path(sec["image"]), out)
                parts.append(f"<img src='{html.escape(img.name)}' alt='{html.escape(sec['title'])}'>")
                _image_page(pdf, img, sec["title"])
    parts.append("</body></html>")
    html_path = out / "report.html"
    html_path.write_text("\n".join(parts), encoding="utf-8")
    return {"html": html_path, "pdf": pdf_path, "figures": figures, "kind": kind}


def _copy_into(image: Path, out: Path) -> Path:
    """The image inside the report folder (copied there unless it is already), so the page links no file
    outside its folder.
    """
    import shutil

    if image.resolve().parent == out.resolve():
        return image
    target = out / image.name
    shutil.copyfile(image, target)
    return target


def _image_page(pdf, image: Path, title: str) -> None:
    import matplotlib.image as mpimg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 7))
    ax = fig.add_subplot()
    ax.imshow(mpimg.imread(image))
    ax.set_axis_off()
    ax.set_title(title)
    pdf.savefig(fig)
