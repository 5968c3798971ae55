"""``eegaffect physio FILE --kind KIND --out DIR``: a quick look at one physiological recording.

Reads one channel from a CSV/TSV text file (a time column gives the rate, else ``--sfreq``; OpenSignals text files
carry their rate in the header), a NumPy ``.npy`` file (``--sfreq``), or any recording eegaffect reads (EDF, BDF,
XDF, eegaffect HDF5, ...; ``--stream`` picks a stream of a multi-stream file). Runs the kind's
:class:`~eegaffect.physio.PhysioPipeline` and writes ``events.csv`` (one row per event: ``time_s``, ``type`` and
the event's own columns), ``features.csv`` (one row per frame, ``time_s`` = end of the frame's window) and
``physio.png`` (the signal with its events and the stage's continuous outputs; for heart signals the tachogram and
the Poincare plot; see :mod:`eegaffect.physio.figure`).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from eegaffect.commands import add_config_options, config_from_args, plain_text
from eegaffect.errors import UserInputError
from eegaffect.physio.config import KINDS

#: Header names recognised as a time column (lower case); ``*_ms`` and ``timer`` are milliseconds.
TIME_COLUMNS = ("time", "time_s", "t", "timestamp", "timestamps", "seconds", "timer", "time_ms", "datetime", "date")
_TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
#: Channel types (as MNE / LSL name them) and name fragments that identify a kind's channel in a recording.
_KIND_CHANNELS = {"ecg": (("ecg",), ("ecg", "ekg")), "ppg": (("bio", "ppg", "bvp"), ("ppg", "bvp", "pleth")),
                  "eda": (("gsr", "eda"), ("eda", "gsr", "scl")), "resp": (("resp",), ("resp", "rsp", "breath")),
                  "temp": (("temperature", "temp"), ("temp",)), "emg": (("emg",), ("emg",))}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eegaffect physio`` and its options to ``subparsers``."""
    parser = subparsers.add_parser("physio", help="detect beats/responses/breaths in one physiological recording",
                                   description=plain_text(__doc__.split("\n\n")[1]))
    parser.add_argument("file", type=Path, help="CSV/TSV/TXT, NPY, EDF, BDF, XDF or eegaffect HDF5 file")
    parser.add_argument("--kind", required=True, choices=KINDS, help="signal kind")
    parser.add_argument("--sfreq", type=float, default=None, metavar="HZ",
                        help="sampling rate (needed for NPY and for text files without a time column)")
    parser.add_argument("--column", default=None, metavar="NAME|N",
                        help="channel or column to use, by name or 0-based index (default: a recording's first "
                             "channel of the kind's type or name, else the first data column)")
    parser.add_argument("--stream", default=None, metavar="NAME", help="stream of a multi-stream file (HDF5, XDF)")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    parser.add_argument("--overwrite", action="store_true", help="write into a non-empty --out folder")
    add_config_options(parser, "physio")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``eegaffect physio`` with the parsed ``args``; return the exit code."""
    from eegaffect.physio import PhysioConfig, PhysioPipeline

    config = config_from_args(args, PhysioConfig)
    if args.sfreq is not None and not (np.isfinite(args.sfreq) and args.sfreq > 0):
        raise UserInputError(f"--sfreq must be a positive number of Hz, got {args.sfreq}")
    out_dir = _check_out(args.out, args.overwrite)
    signal, sfreq, label = read_signal(args.file, args.column, args.sfreq, args.stream, args.kind)
    _check_signal(signal, label)
    pipeline = PhysioPipeline(config, args.kind, sfreq)
    result = pipeline.run(signal)
    out_dir.mkdir(parents=True, exist_ok=True)
    stage = pipeline.stage
    n_rows = write_events(out_dir / "events.csv", result.output.events, stage, sfreq)
    write_features(out_dir / "features.csv", result.times, result.frames, pipeline.feature_names)
    plot_physio(out_dir / "physio.png", signal, sfreq, result, stage, args.kind, label)
    bad = int(np.count_nonzero(result.output.quality))
    print(f"{label}: {len(signal)} samples at {sfreq:g} Hz ({len(signal) / sfreq:.1f} s), kind {args.kind}, "
          f"decision delay {stage.decision_delay} samples ({stage.decision_delay_s:.3f} s)")
    found = (f"{len(result.output.events)} {stage.event_type} events ({n_rows} rows in events.csv)"
             if stage.event_type != "none" else f"no events ({args.kind} has none)")
    print(f"{found}, {len(result.frames)} frames, {bad} samples flagged (nan/flat/clipped)")
    for reason, count in result.nan_reasons.most_common(5):
        print(f"  NaN x{count}: {reason}")
    print(f"wrote {out_dir / 'events.csv'}, {out_dir / 'features.csv'}, {out_dir / 'physio.png'}")
    return 0


# ----------------------------------------------------------------------------------------------------------------
# input
# ----------------------------------------------------------------------------------------------------------------
def read_signal(path: Path, column: str | None, sfreq: float | None, stream: str | None, kind: str | None = None):
    """One channel of a file.

    Parameters
    ----------
    path : Path
        The file.
    column : str | None
        Column/channel name or 0-based index; None: the first data column.
    sfreq : float | None
        Rate in Hz (overrides a time column; required for NPY and text files without one).
    stream : str | None
        Stream of a multi-stream recording.
    kind : str | None
        Signal kind: without ``column``, a recording's first channel of that type (or named like it) is used.

    Returns
    -------
    signal : ndarray, shape (n_times,)
    sfreq : float
    label : str
        ``file:column`` for messages.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    name = path.name.lower()
    if name.endswith(_TEXT_SUFFIXES):
        return _read_text(path, column, sfreq)
    if name.endswith(".npy"):
        return _read_npy(path, column, sfreq)
    return _read_recording(path, column, sfreq, stream, kind)


def _pick(names: list[str], column: str | None, default: int, path: Path) -> int:
    if column is None:
        return default
    if column in names:
        return names.index(column)
    if column.lstrip("-").isdigit():
        k = int(column)
        if 0 <= k < len(names):
            return k
        raise UserInputError(f"{path.name}: column index {k} out of range; the file has {len(names)} columns "
                             f"(0-{len(names) - 1}): {names}")
    raise UserInputError(f"{path.name}: no column {column!r}; columns: {names}")


def _read_text(path: Path, column: str | None, sfreq: float | None):
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    header_sfreq, names = None, None
    if lines and lines[0].startswith("# OpenSignals"):
        header_sfreq, names = _opensignals_header(lines)
    rows = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not rows:
        raise UserInputError(f"{path.name}: no data rows")
    delim = next((d for d in ("\t", ",", ";") if d in rows[0]), None)
    split = (lambda s: [c.strip() for c in s.split(delim)]) if delim else (lambda s: s.split())
    first = [c for c in split(rows[0])]
    if not all(_numeric(c) or _is_datetime(c) for c in first):
        names, rows = [c.strip('"') for c in first], rows[1:]
    table = [[c for c in split(r)] for r in rows]
    width = max(len(r) for r in table)
    if names is None:
        names = [str(k) for k in range(width)]
    names = names + [str(k) for k in range(len(names), width)]
    time_col = next((k for k, n in enumerate(names) if n.lower() in TIME_COLUMNS), None)
    data_cols = [k for k in range(len(names)) if k != time_col and any(k < len(r) and r[k] for r in table[:5])]
    default = next((k for k in data_cols if names[k].upper().startswith("A") and names[k][1:].isdigit()),
                   data_cols[0] if data_cols else 0) if header_sfreq else (data_cols[0] if data_cols else 0)
    k = _pick(names, column, default, path)
    if k == time_col:
        raise UserInputError(f"{path.name}: column {names[k]!r} is the time column; pick a signal column")
    values = np.array([_float(r[k]) if k < len(r) else np.nan for r in table])
    if sfreq is None and time_col is not None:
        sfreq = _rate_from_times([r[time_col] for r in table], names[time_col], path)
    sfreq = sfreq or header_sfreq
    if sfreq is None:
        raise UserInputError(f"{path.name}: no sampling rate: the file has no time column (one of "
                             f"{', '.join(TIME_COLUMNS)}); pass --sfreq HZ")
    return values, float(sfreq), f"{path.name}:{names[k]}"


def _opensignals_header(lines: list[str]):
    try:
        meta = json.loads(lines[1].lstrip("# ").strip())
        device = next(iter(meta.values()))
        return float(device["sampling rate"]), [str(c) for c in device["column"]]
    except (IndexError, ValueError, KeyError, StopIteration, TypeError, AttributeError):
        return None, None


def _numeric(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return text.lower() in ("nan", "")


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return np.nan


def _is_datetime(text: str) -> bool:
    try:
        np.datetime64(text.strip().replace(" ", "T"))
        return not _numeric(text)
    except ValueError:
        return False


def _rate_from_times(cells: list[str], name: str, path: Path) -> float:
    if cells and _is_datetime(cells[0]):
        t = np.array([np.datetime64(c.strip().replace(" ", "T"), "ns") for c in cells]).astype(np.int64) / 1e9
    else:
        t = np.array([_float(c) for c in cells])
        if name.lower().endswith("_ms") or name.lower() == "timer":
            t = t / 1000.0
    t = t[np.isfinite(t)]
    if t.size < 2 or not t[-1] > t[0]:
        raise UserInputError(f"{path.name}: time column {name!r} does not increase; pass --sfreq HZ")
    return (t.size - 1) / (t[-1] - t[0])


def _read_npy(path: Path, column: str | None, sfreq: float | None):
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise UserInputError(f"{path.name}: not a numeric .npy array ({exc})") from None
    if arr.dtype.kind not in "biuf" or arr.ndim not in (1, 2):
        raise UserInputError(f"{path.name}: expected a numeric array of shape (n_times,) or (n_times, n_columns), "
                             f"got {arr.dtype} of shape {arr.shape}")
    arr = arr[:, None] if arr.ndim == 1 else arr
    k = _pick([str(i) for i in range(arr.shape[1])], column, 0, path)
    if sfreq is None:
        raise UserInputError(f"{path.name}: a .npy file carries no sampling rate; pass --sfreq HZ")
    return np.asarray(arr[:, k], dtype=np.float64), float(sfreq), f"{path.name}:{k}"


def _read_recording(path: Path, column: str | None, sfreq: float | None, stream: str | None, kind: str | None):
    from eegaffect.recordings import read_recording

    try:
        rec = read_recording(path, stream=stream)
    except ValueError as exc:
        raise UserInputError(str(exc)) from None
    types, fragments = _KIND_CHANNELS.get(kind, ((), ()))
    default = next((k for k, t in enumerate(rec.ch_types) if str(t).lower() in types), None)
    if default is None:
        default = next((k for k, n in enumerate(rec.ch_names) if any(f in n.lower() for f in fragments)), 0)
    k = _pick(list(rec.ch_names), column, default, path)
    return rec.data[:, k].copy(), float(sfreq or rec.sfreq), f"{path.name}:{rec.ch_names[k]}"


def _check_signal(signal: np.ndarray, label: str) -> None:
    finite = signal[np.isfinite(signal)]
    if finite.size == 0:
        raise UserInputError(f"{label}: the signal has no finite sample")
    if finite.size < 2 or np.ptp(finite) == 0:
        raise UserInputError(f"{label}: the signal is flat (constant {finite[0]:g}); a disconnected sensor or the "
                             "wrong column?")


def _check_out(out: Path, overwrite: bool) -> Path:
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserInputError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise UserInputError(f"--out {out} is not empty; pass --overwrite to write into it")
    return out


# ----------------------------------------------------------------------------------------------------------------
# output
# ----------------------------------------------------------------------------------------------------------------
def event_rows(events: np.ndarray, event_type: str) -> list[tuple[int, str, int]]:
    """``(sample, type, event index)`` of every row of an events table, in time order.

    One row per event, typed ``event_type``; an event of a ``*_peak`` type with an ``onset_sample`` field (an EDA
    skin-conductance response) also gives a ``*_onset`` row at its onset.
    """
    rows = [(int(ev["sample"]), event_type, k) for k, ev in enumerate(events)]
    if event_type.endswith("_peak") and "onset_sample" in (events.dtype.names or ()):
        onset = event_type[: -len("_peak")] + "_onset"
        rows += [(int(ev["onset_sample"]), onset, k) for k, ev in enumerate(events)]
    return sorted(rows, key=lambda r: (r[0], r[2]))


def write_events(path: Path, events: np.ndarray, stage, sfreq: float) -> int:
    """``events.csv``: ``time_s, type`` and the event's fields (heart events also get ``flags`` in words).

    Returns the number of rows written.
    """
    import importlib

    from eegaffect.kernels.physio_base import STAGE_MODULES

    names = list(events.dtype.names)
    # the kind's kernel module (e.g. kernels.heart for ECG and PPG) names its flag bits, if its events have any
    module = importlib.import_module(f"eegaffect.kernels.{STAGE_MODULES[stage.kind]}")
    flag_names = getattr(module, "FLAG_NAMES", None)
    extra = ["flags"] if flag_names and "flag" in names else []
    rows = event_rows(events, stage.event_type)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["time_s", "type", *names, *extra])
        for sample, kind, k in rows:
            ev = events[k]
            row = [f"{sample / sfreq:.6f}", kind]
            for name in names:
                v = ev[name]
                row.append(f"{v:.6g}" if isinstance(v, (float, np.floating)) else int(v) if isinstance(
                    v, (np.integer, np.bool_)) else v)
            if extra:
                row.append("+".join(n for bit, n in flag_names.items() if int(ev["flag"]) & bit))
            writer.writerow(row)
    return len(rows)


def write_features(path: Path, times: np.ndarray, frames: np.ndarray, names) -> None:
    """``features.csv``: ``time_s`` (end of the frame's window) and one column per feature."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["time_s", *names])
        for t, row in zip(times, frames):
            writer.writerow([f"{t:.6f}", *(f"{v:.6g}" for v in row)])


def plot_physio(path: Path, signal: np.ndarray, sfreq: float, result, stage, kind: str, label: str) -> None:
    """Write :func:`eegaffect.physio.figure.physio_figure` to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from eegaffect.physio.figure import physio_figure

    fig = physio_figure(signal, sfreq, result, stage, kind, label)
    fig.savefig(path, dpi=110)
    plt.close(fig)
