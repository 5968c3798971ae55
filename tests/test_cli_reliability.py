"""Issue 17: a user's results are never overwritten silently, stale results are never reused, and ordinary odd
inputs end in one line and exit 2 (through :func:`eegaffect.cli.main`, with real files)."""

from __future__ import annotations

import os
import re

import pytest

from eegaffect.cli import main


def _one_line_error(capsys, argv, command: str) -> str:
    """Run ``main(argv)``, check exit code 2 and one error line naming ``command``; return that line."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip() and not re.match(r"^\d{4}-\d\d-\d\d |^\d\d:\d\d:\d\d ",
                                                                          ln.strip())]
    assert "Traceback" not in err
    assert lines and lines[0].startswith(f"eegaffect {command}: "), err
    assert all(ln.startswith(" ") for ln in lines[1:]), err
    return lines[0]


def _earlier_run(folder):
    folder.mkdir()
    for name, text in (("summary.json", '{"updates": 7}'), ("updates.csv", "t,v\n"), ("session.h5", "h5")):
        (folder / name).write_text(text)
    return {p.name: p.read_text() for p in folder.iterdir()}


# -- output folders -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", [["live", "--stream", "nope", "--record"], ["demo", "--headless"]])
def test_live_and_demo_refuse_an_earlier_run(tmp_path, capsys, command):
    out = tmp_path / "run"
    before = _earlier_run(out)
    line = _one_line_error(capsys, [*command, "--model", str(tmp_path / "no-bundle"), "--out", str(out)],
                           command[0])
    assert f"--out {out} already holds an earlier run" in line and "--overwrite" in line
    assert "session.h5" in line and "summary.json" in line
    assert {p.name: p.read_text() for p in out.iterdir()} == before


def test_live_overwrite_replaces_on_purpose(tmp_path, capsys):
    out = tmp_path / "run"
    _earlier_run(out)
    # --overwrite gets past the check (to the missing bundle) and leaves none of the earlier run's files
    line = _one_line_error(capsys, ["live", "--stream", "nope", "--model", str(tmp_path / "no-bundle"), "--out",
                                    str(out), "--overwrite", "--headless"], "live")
    assert "no-bundle" in line
    assert list(out.iterdir()) == []


def test_output_dir_without_out_is_a_new_dated_folder(tmp_path, monkeypatch):
    from eegaffect._files import output_dir

    monkeypatch.chdir(tmp_path)
    first = output_dir(None, ["summary.json"], default_prefix="eegaffect-demo")
    assert re.fullmatch(r"eegaffect-demo-\d{8}-\d{6}", first.name)
    first.mkdir()
    second = output_dir(None, ["summary.json"], default_prefix="eegaffect-demo")
    assert second != first and not second.exists()
    (tmp_path / "f").write_text("")
    with pytest.raises(NotADirectoryError, match="is a file"):
        output_dir(tmp_path / "f", ["summary.json"])
    # a folder without any of the command's outputs is fine (e.g. one the user made for it)
    assert output_dir(tmp_path, ["summary.json"]) == tmp_path
    assert sorted(os.listdir(tmp_path)) == sorted(["f", first.name])


def test_new_session_dir_is_dated_and_never_reused(tmp_path, monkeypatch):
    """``live --record`` without ``--out``: a new dated folder per session, created at once (never shared)."""
    import time

    from eegaffect._files import new_session_dir

    monkeypatch.chdir(tmp_path)
    now = time.mktime((2026, 12, 5, 6, 7, 8, 0, 0, -1))
    first = new_session_dir("sessions", now)
    assert first == __import__("pathlib").Path("sessions", "2026-12-05_060708")
    assert first.is_dir() and not any(first.iterdir())
    # the same second again (a second session, or the clock set back): a suffix, the earlier folder untouched
    assert [new_session_dir("sessions", now).name for _ in range(2)] == ["2026-12-05_060708-2",
                                                                          "2026-12-05_060708-3"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d_\d{6}", new_session_dir(tmp_path / "deep" / "er").name)
    (tmp_path / "f").write_text("")
    with pytest.raises(NotADirectoryError, match="sessions folder .* is a file"):
        new_session_dir(tmp_path / "f")


def test_live_record_without_out_leaves_no_empty_session(tmp_path, capsys):
    """A session that fails before writing anything (no such bundle) removes its new dated folder again."""
    sessions = tmp_path / "sessions"
    line = _one_line_error(capsys, ["live", "--stream", "nope", "--model", str(tmp_path / "no-bundle"), "--record",
                                    "--headless", "--set", f"sessions_dir={sessions}"], "live")
    assert "bundle" in line
    assert sessions.is_dir() and not any(sessions.iterdir())


def _earlier_bundle(folder):
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "bundle.json").write_text('{"earlier": true}')
    (folder / "checkpoints" / "vqvae.pt").write_bytes(b"weights")


def test_train_refuses_an_existing_bundle_without_resume(tmp_path, capsys):
    out = tmp_path / "bundle"
    _earlier_bundle(out)
    line = _one_line_error(capsys, ["train", "--data", str(tmp_path / "missing"), "--out", str(out)], "train")
    assert f"{out} already holds an earlier run (bundle.json, checkpoints)" in line and "--overwrite" in line
    assert (out / "bundle.json").read_text() == '{"earlier": true}'
    assert (out / "checkpoints" / "vqvae.pt").read_bytes() == b"weights"
    # --resume continues from them: past the check, to the missing dataset
    line = _one_line_error(capsys, ["train", "--data", str(tmp_path / "missing"), "--out", str(out), "--resume"],
                           "train")
    assert "missing" in line and "does not exist" in line
    line = _one_line_error(capsys, ["train", "--data", str(tmp_path / "missing"), "--out", str(out), "--resume",
                                    "--overwrite"], "train")
    assert "pass one" in line
    assert (out / "bundle.json").exists()


def test_train_resume_without_a_checkpoint_says_it_starts_fresh(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "b"), "--resume"]) == 2
    err = capsys.readouterr().err
    assert f"--resume: no checkpoint in {tmp_path / 'b' / 'checkpoints'}; training every stage from the start" in err


def test_synth_faces_refuses_an_existing_folder(tmp_path, capsys):
    out = tmp_path / "faces"
    argv = ["datasets", "synth-faces", str(out), "--n-per-class", "2", "--image-size", "16"]
    assert main(argv) == 0
    before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    manifest = (out / "manifest.csv").read_text()
    line = _one_line_error(capsys, [*argv, "--seed", "3"], "datasets synth-faces")
    assert f"OUT {out} already holds an earlier run (manifest.csv" in line and "--overwrite" in line
    assert (out / "manifest.csv").read_text() == manifest
    # --overwrite: one generation only, no older images left beside the new ones
    (out / "anger" / "99999.png").write_bytes(b"older generation")
    assert main([*argv, "--seed", "3", "--overwrite"]) == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == before
    assert (out / "manifest.csv").read_text() == manifest  # same names and splits, new pixels


# -- bench seed: resuming never reuses stale results -----------------------------------------------------------
def _bench(capsys, root, out, cache, *extra):
    assert main(["bench", "seed", "--root", str(root), "--out", str(out), "--models", "de-logreg", "--no-plots",
                 "--cache-dir", str(cache), *extra]) == 0
    m = re.search(r"folds: (\d+) fitted, (\d+) resumed", capsys.readouterr().out)
    return int(m.group(1)), int(m.group(2))


def test_bench_seed_resume_key_covers_the_labels(tmp_path, capsys):
    import numpy as np
    import scipy.io
    from dataset_fixtures import write_seed

    root = write_seed(tmp_path / "seed", n_subjects=2, n_sessions=1, features=False, strays=False)
    out, cache = tmp_path / "bench", tmp_path / "cache"
    fitted, resumed = _bench(capsys, root, out, cache)
    assert fitted > 0 and resumed == 0
    assert _bench(capsys, root, out, cache) == (0, fitted)  # nothing changed: everything resumes
    label = root / "Preprocessed_EEG" / "label.mat"
    labels = scipy.io.loadmat(label)["label"]
    scipy.io.savemat(label, {"label": np.roll(labels, 1, axis=1)})
    assert _bench(capsys, root, out, cache) == (fitted, 0)  # new labels: every fold is fitted again


def test_bench_seed_refits_a_truncated_partial_prediction_file(tmp_path, capsys):
    from dataset_fixtures import write_seed

    root = write_seed(tmp_path / "seed", n_subjects=2, n_sessions=1, features=False, strays=False)
    out, cache = tmp_path / "bench", tmp_path / "cache"
    fitted, _ = _bench(capsys, root, out, cache)
    victim = sorted(out.glob("partial/*/pred-*.npz"))[0]
    victim.write_bytes(victim.read_bytes()[:40])  # cut short, e.g. by a full disk
    assert _bench(capsys, root, out, cache) == (1, fitted - 1)
    assert _bench(capsys, root, out, cache) == (0, fitted)


# -- report ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("content, expected", [
    ('{"rows": [{"model": "de-svm", "fold"', "results.json is not valid JSON"),
    (b"\xff\xfe{}", "results.json is not valid JSON"),
    ('[1, 2]', "results.json: expected a JSON object, found list"),
    ('{"dataset": "seed", "protocol": "loso", "rows": [], "summary": []}', "results.json holds no result rows"),
])
def test_report_on_a_damaged_or_empty_results_json(tmp_path, capsys, content, expected):
    run = tmp_path / "bench"
    run.mkdir()
    (run / "results.json").write_bytes(content if isinstance(content, bytes) else content.encode())
    line = _one_line_error(capsys, ["report", str(run)], "report")
    assert expected in line and str(run / "results.json") in line
    assert not (run / "report" / "report.pdf").exists()


def test_report_on_a_damaged_live_summary(tmp_path, capsys):
    run = tmp_path / "live"
    run.mkdir()
    (run / "summary.json").write_text('{"updates": 3,')
    (run / "updates.csv").write_text("time_s,valence\n")
    line = _one_line_error(capsys, ["report", str(run)], "report")
    assert f"{run / 'summary.json'} is not valid JSON" in line


# -- options that ran something else than asked -----------------------------------------------------------------
@pytest.mark.parametrize("argv, command, expected", [
    (["live", "--stream", "x", "--model", "nowhere", "--duration", "-5"], "live",
     "--duration -5: expected a positive number of seconds"),
    (["demo", "--duration", "-5", "--out", "{tmp}/d"], "demo", "--duration -5.0: config key 'duration_s'"),
    (["streams", "--timeout", "-1"], "streams", "--timeout -1: expected a positive number of seconds"),
    (["bench", "seed", "--root", "{tmp}", "--out", "{tmp}/b", "--models", ""], "bench seed",
     "--models []: config key 'models'"),
])
def test_out_of_range_options_are_one_line(tmp_path, capsys, argv, command, expected):
    line = _one_line_error(capsys, [a.replace("{tmp}", str(tmp_path)) for a in argv], command)
    assert expected in line
    assert sorted(os.listdir(tmp_path)) == []


def test_non_utf8_config_is_one_line(tmp_path, capsys):
    config = tmp_path / "live.yaml"
    config.write_bytes("update_hz: 4  # \u00e9chantillons\n".encode("latin-1"))
    line = _one_line_error(capsys, ["live", "--stream", "x", "--model", str(tmp_path), "--config", str(config)],
                           "live")
    assert f"config file {config} is not UTF-8 text" in line


# -- distil: face data errors name the file and the manifest line -------------------------------------------
@pytest.fixture
def prototypes_h5(tmp_path, rng):
    import numpy as np

    from eegaffect.distill.prototypes import build_prototypes, save_prototypes

    n = 200
    val, aro = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    grid = build_prototypes(np.c_[val, aro, rng.normal(0, 0.3, (n, 6))], val, aro, grid_size=5)
    path = tmp_path / "prototypes.h5"
    save_prototypes(grid, path)
    return path


def _faces(tmp_path):
    assert main(["datasets", "synth-faces", str(tmp_path / "faces"), "--n-per-class", "2", "--image-size",
                 "16"]) == 0
    return tmp_path / "faces"


@pytest.mark.parametrize("case, expected", [
    ("empty-folder", "{faces}: no class folders found"),
    ("header-only", "{manifest}: the manifest has a header but no rows"),
    ("unknown-label", "{manifest}, line 3: unknown emotion 'bored'"),
    ("corrupt-image", "{manifest}, line 4: image {image} cannot be read as an image"),
    ("not-utf8", "{manifest}: the manifest is not UTF-8 text"),
])
def test_distil_face_data_errors_are_one_line(tmp_path, capsys, prototypes_h5, case, expected):
    faces = _faces(tmp_path)
    manifest = faces / "manifest.csv"
    lines = manifest.read_text().splitlines()
    image = faces / lines[3].split(",")[0]
    target = manifest
    if case == "empty-folder":
        target = faces = tmp_path / "empty"
        faces.mkdir()
    elif case == "header-only":
        manifest.write_text(lines[0] + "\n")
    elif case == "unknown-label":
        path, _, split = lines[2].split(",")
        manifest.write_text("\n".join([lines[0], lines[1], f"{path},bored,{split}"]))
    elif case == "corrupt-image":
        image.write_bytes(b"not a png")
    else:
        manifest.write_bytes(manifest.read_bytes() + "x\u00e9,anger,train\n".encode("latin-1"))
    line = _one_line_error(capsys, ["distil", "--faces", str(target), "--prototypes", str(prototypes_h5), "--out",
                                    str(tmp_path / "student")], "distil")
    assert expected.format(faces=faces, manifest=manifest, image=image) in line
    assert not (tmp_path / "student").exists()


@pytest.mark.parametrize("keep, expected", [
    (1, "expected at least 2 face images (one to train on, one to test on), found 1"),
    # two emotions with one image each and no test rows: a stratified split has nothing to hold out
    (2, "cannot split 2 face images into train and test: expected at least 1 image in each, found 2 train and "
        "0 test (a stratified split with test_fraction 0.2 gives a class test images from 3 images of it on, "
        "and the largest of the 2 class(es) has 1)"),
])
def test_distil_too_few_faces_is_a_user_error(tmp_path, capsys, prototypes_h5, keep, expected):
    faces = _faces(tmp_path)
    manifest = faces / "manifest.csv"
    header, *rows = manifest.read_text().splitlines()
    labels, kept = set(), []
    for row in rows:  # one image of each of the first `keep` emotions, all of them in the train part
        path, label, _ = row.split(",")
        if label not in labels and len(kept) < keep:
            labels.add(label)
            kept.append(f"{path},{label},train")
    manifest.write_text("\n".join([header, *kept]) + "\n")
    line = _one_line_error(capsys, ["distil", "--faces", str(manifest), "--prototypes", str(prototypes_h5),
                                    "--out", str(tmp_path / "student")], "distil")
    assert expected in line and ("split column" in line or keep == 1)


# -- prototypes export with a tampered teacher ------------------------------------------------------------------
@pytest.mark.parametrize("tamper, expected", [
    ("weights", "checksum mismatch"),
    ("json-syntax", "teacher.json is not valid JSON"),
    ("json-shape", "teacher.json does not describe the weights in teacher.safetensors (RuntimeError"),
    ("json-key", "teacher.json does not describe the weights in teacher.safetensors (KeyError"),
])
def test_prototypes_export_with_a_tampered_teacher(tmp_path, capsys, tamper, expected):
    import json

    import numpy as np

    from eegaffect.distill.teacher import TeacherBundle, TeacherConfig, TopomapTeacher, save_teacher

    cfg = TeacherConfig.model_validate({"model": {"channels": [4], "embedding_dim": 4}})
    model = TopomapTeacher(len(cfg.features.bands), 8, [4], 4, 0.0)
    folder = save_teacher(TeacherBundle(model, cfg, np.zeros(len(cfg.features.bands)),
                                        np.ones(len(cfg.features.bands))), tmp_path / "teacher")
    meta = json.loads((folder / "teacher.json").read_text())
    if tamper == "weights":
        raw = bytearray((folder / "teacher.safetensors").read_bytes())
        raw[-1] ^= 1
        (folder / "teacher.safetensors").write_bytes(bytes(raw))
    elif tamper == "json-syntax":
        (folder / "teacher.json").write_text(json.dumps(meta)[:-5])
    elif tamper == "json-shape":
        meta["n_bands"] += 1
        (folder / "teacher.json").write_text(json.dumps(meta))
    else:
        del meta["n_bands"]
        (folder / "teacher.json").write_text(json.dumps(meta))
    line = _one_line_error(capsys, ["prototypes", "export", "--teacher", str(folder), "--data", str(tmp_path),
                                    "--out", str(tmp_path / "p.h5")], "prototypes export")
    assert expected in line
    assert not (tmp_path / "p.h5").exists()


def test_distil_refuses_an_earlier_student(tmp_path, capsys, prototypes_h5):
    faces = _faces(tmp_path)
    out = tmp_path / "student"
    out.mkdir()
    (out / "metrics.json").write_text('{"earlier": 1}')
    line = _one_line_error(capsys, ["distil", "--faces", str(faces / "manifest.csv"), "--prototypes",
                                    str(prototypes_h5), "--out", str(out)], "distil")
    assert f"--out {out} already holds an earlier run (metrics.json)" in line and "--overwrite" in line
    assert (out / "metrics.json").read_text() == '{"earlier": 1}'
