"""``eegaffect report`` on live and benchmark folders: figures, HTML and PDF."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from eegaffect.viz.report import (
    ReportError,
    code_prototypes,
    make_report,
    plot_metric_bars,
    plot_stage_bars,
    plot_va_timeseries,
)


def _live_dir(path, rng, n=40):
    path.mkdir()
    t = np.arange(n) * 0.25
    status = np.where(np.arange(n) < 4, 2, 0)
    va = np.where(status[:, None] == 0, rng.uniform(-1, 1, (n, 2)), np.nan)
    code = np.where(status == 0, rng.integers(0, 5, n), -1)
    fields = ["time_s", "lsl_timestamp", "valence", "arousal", "status", "fresh", "code", "truth_valence",
              "truth_arousal", "latency_ms"]
    with open(path / "updates.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(fields)
        for k in range(n):
            w.writerow([t[k], 100 + t[k], va[k, 0], va[k, 1], status[k], int(k % 4 == 0), code[k],
                        np.sin(t[k]), np.cos(t[k]), rng.uniform(1, 4)])
    summary = {"updates": n, "duration_s": n * 0.25, "latency_ms": {"p50": 2.0, "p99": 3.9, "max": 4.0},
               "stages_ms": {"transport": 1.0, "read": 0.1, "channels": 0.1, "predict": 1.0, "push": 0.1},
               "samples_received": 2000, "samples_lost": 0, "gaps": 0, "reconnects": 0,
               "ground_truth": {"valence_ccc": 0.4, "valence_rmse": 0.3, "arousal_ccc": 0.2, "arousal_rmse": 0.4},
               "dashboard": None}
    (path / "summary.json").write_text(json.dumps(summary))
    return path


def test_live_report(tmp_path, rng):
    run = _live_dir(tmp_path / "run", rng)
    paths = make_report(run)
    assert paths["kind"] == "live"
    names = {p.stem for p in paths["figures"]}
    assert {"trajectory", "circumplex", "prototypes", "codes", "latency", "stages"} <= names
    page = paths["html"].read_text()
    assert "valence ccc" in page and "samples lost" in page
    for p in paths["figures"]:
        assert p.stat().st_size > 1000 and p.name in page
    pdf = paths["pdf"].read_bytes()
    assert pdf[:4] == b"%PDF" and f"/Count {len(paths['figures'])}".encode() in pdf  # one page per figure


def test_benchmark_report(tmp_path, rng):
    from eegaffect.benchmark.report import results_document, write_results_json
    from eegaffect.viz.benchmark import plot_confusion_matrix

    rows = [{"model": m, "subject": s, "session": 1, "fold": f"s{s}", "accuracy": float(rng.uniform(0.3, 0.9)),
             "valence_ccc": float(rng.uniform(0, 1)), "arousal_ccc": float(rng.uniform(0, 1))}
            for m in ("svm", "eegdancer") for s in (1, 2, 3)]
    summary = [{"model": m, "n_subjects": 3, "accuracy_mean": 0.6, "accuracy_std": 0.1, "valence_ccc_mean": 0.5,
                "valence_ccc_std": 0.1, "arousal_ccc_mean": 0.4, "arousal_ccc_std": 0.2} for m in ("svm", "eegdancer")]
    run = tmp_path / "bench"
    run.mkdir()
    write_results_json(run / "results.json", results_document("seed", "subject-dependent", rows, summary))
    (run / "plots").mkdir()
    plot_confusion_matrix(np.array([[5, 1, 0], [1, 4, 1], [0, 2, 4]]), ["neg", "neu", "pos"]).savefig(
        run / "plots" / "confusion-svm.png")
    paths = make_report(run, tmp_path / "out")
    assert paths["kind"] == "benchmark"
    page = paths["html"].read_text()
    assert "Per-subject results" in page and "eegdancer" in page and "Confusion matrix: confusion-svm" in page
    assert page.count("<tr>") >= 1 + 2 + 1 + 6  # summary table (header + 2 models) + per-subject (header + 6)
    assert (tmp_path / "out" / "summary.png").is_file() and (tmp_path / "out" / "report.pdf").is_file()
    assert "Output jitter" not in page  # a results file from before the jitter columns

    # the jitter gets a table of its own, for the models that predict valence/arousal only
    summary[1].update(valence_jitter_mean=0.0123, valence_jitter_std=0.001, valence_jitter_ratio_mean=1.5,
                      valence_jitter_ratio_std=0.2)
    write_results_json(run / "results.json", results_document("seed", "subject-dependent", rows, summary))
    page = make_report(run, tmp_path / "again")["html"].read_text()
    jitter_table = page.split("Output jitter")[1].split("</table>")[0]
    assert "valence_jitter_ratio_mean" in jitter_table and "0.0123" in jitter_table
    assert jitter_table.count("<tr>") == 2 and "eegdancer" in jitter_table and "svm<" not in jitter_table


def test_not_a_run_folder(tmp_path):
    with pytest.raises(ReportError, match="neither a live/demo output"):
        make_report(tmp_path)
    with pytest.raises(ReportError, match="not a directory"):
        make_report(tmp_path / "nope")


def test_cli_report_exit_codes(tmp_path, rng):
    from eegaffect.cli import main

    assert main(["report", str(tmp_path)]) == 2
    run = _live_dir(tmp_path / "run", rng)
    assert main(["report", str(run), "--out", str(tmp_path / "r"), "--set", "dpi=50"]) == 0
    assert (tmp_path / "r" / "report.html").is_file()


def test_code_prototypes_against_a_loop(rng):
    codes = rng.integers(-1, 6, 300)
    va = rng.uniform(-1, 1, (300, 2))
    va[::17] = np.nan
    protos, counts = code_prototypes(codes, va, n_codes=8)
    for c in range(8):
        sel = [va[i] for i in range(300) if codes[i] == c and np.all(np.isfinite(va[i]))]
        assert counts[c] == len(sel)
        if sel:
            np.testing.assert_allclose(protos[c], np.mean(sel, axis=0))
        else:
            assert np.all(np.isnan(protos[c]))
    with pytest.raises(ValueError, match="one code per va row"):
        code_prototypes(codes[:5], va)


def test_report_plots_hold_data(rng):
    t = np.arange(10.0)
    va = rng.uniform(-1, 1, (10, 2))
    fig = plot_va_timeseries(t, va, truth=va * 0.5, status=np.r_[np.ones(2), np.zeros(8)])
    assert len(fig.axes) == 2
    pred = [line for line in fig.axes[1].lines if line.get_label() == "predicted"][0]
    np.testing.assert_array_equal(pred.get_ydata(), va[:, 1])
    fig = plot_stage_bars({"read": 0.5, "predict": 2.0})
    assert [p.get_width() for p in fig.axes[0].patches] == [0.5, 2.0]
    fig = plot_metric_bars([{"model": "a", "x_mean": 0.5, "x_std": 0.1}], ["x"])
    assert fig.axes[0].patches[0].get_height() == 0.5


def test_live_report_holds_the_dashboard_and_is_self_contained(tmp_path, rng):
    """The report folder holds every image it shows (the dashboard copied in), linked by bare file names, so it
    still works when moved; the stall counters of the summary are in its table."""
    import re
    import shutil

    from eegaffect.viz.live import plot_circumplex

    run = _live_dir(tmp_path / "run", rng)
    plot_circumplex(rng.uniform(-1, 1, (5, 2))).savefig(run / "dashboard.png")
    summary = json.loads((run / "summary.json").read_text())
    summary.update(dashboard=str(run / "dashboard.png"), stalls=1, seconds_without_data=4.5, invalid_updates=7)
    (run / "summary.json").write_text(json.dumps(summary))
    paths = make_report(run, tmp_path / "elsewhere" / "report")
    page = paths["html"].read_text()
    assert "Dashboard (last frame)" in page
    srcs = re.findall(r"<img src='([^']+)'", page)
    assert "dashboard.png" in srcs and all("/" not in src and "\\" not in src for src in srcs)
    assert (paths["html"].parent / "dashboard.png").read_bytes() == (run / "dashboard.png").read_bytes()
    assert "<td>stalls</td><td>1</td>" in page and "<td>seconds without data</td><td>4.5</td>" in page
    assert "<td>invalid updates</td><td>7</td>" in page
    moved = shutil.move(str(paths["html"].parent), str(tmp_path / "moved"))
    shutil.rmtree(run)
    assert all((tmp_path / "moved" / src).is_file() for src in srcs)
    assert (tmp_path / "moved" / "report.pdf").is_file() and moved


def test_live_report_finds_the_dashboard_the_summary_names(tmp_path, rng):
    from eegaffect.viz.live import plot_circumplex

    run = _live_dir(tmp_path / "run", rng)
    plot_circumplex(rng.uniform(-1, 1, (5, 2))).savefig(tmp_path / "dash-elsewhere.png")
    summary = json.loads((run / "summary.json").read_text())
    summary["dashboard"] = str(tmp_path / "dash-elsewhere.png")
    (run / "summary.json").write_text(json.dumps(summary))
    paths = make_report(run)
    assert "<img src='dash-elsewhere.png'" in paths["html"].read_text()
    assert (run / "report" / "dash-elsewhere.png").is_file()
    # no dashboard anywhere: no section (and no broken link)
    run2 = _live_dir(tmp_path / "run2", rng)
    assert "Dashboard" not in make_report(run2)["html"].read_text()
