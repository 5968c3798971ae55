"""Face loaders (FERPlus majority vote, class folders, CSV manifests) and the synthetic face generator."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from eegaffect.distill.faces import (
    EMOTIONS,
    label_index,
    load_faces,
    load_ferplus,
    load_image_folder,
    load_manifest,
    synth_faces,
    write_synth_faces,
)

_NEW_HEADER = ["Usage", "Image name", "neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear",
               "contempt", "unknown", "NF"]


def _write_ferplus(root, rng):
    # (Usage, image name, votes over 8 emotions + unknown + NF), expected label or None (dropped)
    rows = [
        ("Training", "fer0000000.png", [0, 8, 2, 0, 0, 0, 0, 0, 0, 0], 1),
        ("Training", "fer0000001.png", [1, 0, 0, 0, 0, 0, 0, 6, 3, 0], 7),
        ("PublicTest", "fer0000002.png", [2, 0, 0, 0, 0, 0, 0, 0, 8, 0], None),   # unknown wins
        ("PublicTest", "fer0000003.png", [0, 0, 0, 0, 0, 0, 0, 0, 0, 10], None),  # not a face
        ("PrivateTest", "fer0000004.png", [5, 5, 0, 0, 0, 0, 0, 0, 0, 0], None),  # tie
        ("PrivateTest", "", [0, 0, 0, 10, 0, 0, 0, 0, 0, 0], None),               # removed image
        ("PrivateTest", "fer0000006.png", [0, 0, 0, 0, 1, 0, 9, 0, 0, 0], 6),
    ]
    pixels = rng.integers(0, 256, size=(len(rows), 48 * 48))
    with open(root / "fer2013.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["emotion", "pixels", "Usage"])
        for (usage, *_), px in zip(rows, pixels):
            w.writerow([0, " ".join(map(str, px)), usage])
    with open(root / "fer2013new.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(_NEW_HEADER)
        for usage, name, votes, _ in rows:
            w.writerow([usage, name, *votes])
    return rows, pixels


def test_ferplus_majority_vote_and_splits(tmp_path, rng):
    rows, pixels = _write_ferplus(tmp_path, rng)
    faces = load_faces(tmp_path)
    kept = [i for i, r in enumerate(rows) if r[3] is not None]
    np.testing.assert_array_equal(faces.labels, [rows[i][3] for i in kept])
    np.testing.assert_array_equal(faces.split, ["train", "train", "test"])
    np.testing.assert_array_equal(faces.images, pixels[kept].reshape(-1, 48, 48).astype(np.uint8))
    small = load_ferplus(tmp_path, image_size=24)
    assert small.images.shape == (3, 24, 24)


def test_ferplus_misaligned_files(tmp_path, rng):
    _write_ferplus(tmp_path, rng)
    lines = (tmp_path / "fer2013new.csv").read_text().splitlines()
    (tmp_path / "fer2013new.csv").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(ValueError, match="must align row by row"):
        load_ferplus(tmp_path)


def test_folder_and_manifest_agree(tmp_path):
    manifest = write_synth_faces(tmp_path / "faces", 3, image_size=32, seed=5, test_fraction=1 / 3)
    by_folder = load_image_folder(tmp_path / "faces", image_size=32)
    by_manifest = load_manifest(manifest, image_size=32)
    assert len(by_folder) == len(by_manifest) == 24
    order = np.lexsort((by_manifest.images.reshape(24, -1).sum(1), by_manifest.labels))
    order_f = np.lexsort((by_folder.images.reshape(24, -1).sum(1), by_folder.labels))
    np.testing.assert_array_equal(by_manifest.images[order], by_folder.images[order_f])
    np.testing.assert_array_equal(by_manifest.labels[order], by_folder.labels[order_f])
    assert (by_manifest.split == "test").sum() == 8 and by_folder.split is None
    # PNG files hold exactly the generated pixels
    direct = synth_faces(3, image_size=32, seed=5)
    np.testing.assert_array_equal(by_manifest.images, direct.images)  # the manifest keeps the generation order


def test_manifest_ids_aliases_and_errors(tmp_path):
    img = np.full((20, 20), 128, np.uint8)
    Image.fromarray(img).save(tmp_path / "a.png")
    (tmp_path / "m.csv").write_text("path,label\na.png,Happy\na.png,3\na.png,ANGRY\n")
    faces = load_faces(tmp_path / "m.csv", image_size=16)
    np.testing.assert_array_equal(faces.labels, [1, 3, 4])
    assert faces.images.shape == (3, 16, 16) and faces.split is None
    (tmp_path / "bad.csv").write_text("path,label\na.png,bored\n")
    with pytest.raises(ValueError, match="unknown emotion 'bored'"):
        load_manifest(tmp_path / "bad.csv")
    (tmp_path / "missing.csv").write_text("path,label\nb.png,happy\n")
    with pytest.raises(FileNotFoundError, match="line 2"):
        load_manifest(tmp_path / "missing.csv")
    (tmp_path / "cols.csv").write_text("file,emotion\na.png,happy\n")
    with pytest.raises(ValueError, match="'path' and 'label'"):
        load_manifest(tmp_path / "cols.csv")
    with pytest.raises(ValueError, match="id 9 out of range"):
        label_index(9)


def test_synth_faces_reproducible_and_follow_arousal():
    a = synth_faces(4, image_size=48, seed=1)
    b = synth_faces(4, image_size=48, seed=1)
    c = synth_faces(4, image_size=48, seed=2)
    np.testing.assert_array_equal(a.images, b.images)
    assert not np.array_equal(a.images, c.images)
    assert a.images.shape == (32, 48, 48) and a.images.dtype == np.uint8
    np.testing.assert_array_equal(a.labels, np.repeat(np.arange(8), 4))
    # eyes (upper face) and mouth open with arousal: more dark pixels in surprise than in sadness
    clean = synth_faces(20, image_size=48, seed=3, noise=0.0, va_jitter=0.0, classes=["surprise", "sadness"])
    dark = (clean.images < 60).reshape(2, 20, 48, 48)[:, :, 8:44, 10:38].sum(axis=(2, 3)).mean(axis=1)
    assert dark[0] > dark[1] + 20


def test_synth_mouth_follows_valence():
    clean = synth_faces(10, image_size=64, seed=4, noise=0.0, va_jitter=0.0, classes=["happiness", "sadness"])
    imgs = clean.images.reshape(2, 10, 64, 64).astype(float)
    lower = imgs[:, :, 38:54, :]  # the mouth band, inside the face oval
    # a smile's centre sits lower than its corners, a frown's higher: compare the dark-pixel centre of mass rows
    rows = np.arange(16)[None, None, :, None]
    ink = (lower < 60)
    centre = (ink[..., 28:36] * rows).sum(axis=(2, 3)) / np.maximum(ink[..., 28:36].sum(axis=(2, 3)), 1)
    sides = (ink[..., 20:25] * rows).sum(axis=(2, 3)) / np.maximum(ink[..., 20:25].sum(axis=(2, 3)), 1)
    bend = (centre - sides).mean(axis=1)  # > 0: centre lower than corners
    assert bend[0] > 0 > bend[1]


def test_emotion_table_is_ferplus_order():
    assert EMOTIONS == ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt")
    with pytest.raises(ValueError, match="n_per_class"):
        synth_faces(0)


def test_synth_faces_command(tmp_path, capsys):
    from eegaffect.cli import main

    out = tmp_path / "faces"
    assert main(["datasets", "synth-faces", str(out), "--n-per-class", "2", "--image-size", "24", "--seed", "1",
                 "--set", "synth_faces.test_fraction=0.5"]) == 0
    assert "16 synthetic faces" in capsys.readouterr().out
    faces = load_faces(out / "manifest.csv", image_size=24)
    direct = synth_faces(2, image_size=24, seed=1)
    np.testing.assert_array_equal(faces.images, direct.images)
    np.testing.assert_array_equal(faces.labels, direct.labels)
    assert (faces.split == "test").sum() == 8
    assert main(["datasets", "synth-faces", str(out), "--set", "synth_faces.n_per_class=0"]) == 2
