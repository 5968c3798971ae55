"""Prototype grid: consolidation against a by-hand reference, exact HDF5/.npz round trips, validation on load."""

from __future__ import annotations

import hashlib

import h5py
import numpy as np
import pytest

from eegaffect.distill.prototypes import (
    FORMAT_VERSION,
    PrototypeFileError,
    build_prototypes,
    interpolate_prototypes,
    load_prototypes,
    save_prototypes,
)


@pytest.fixture
def grid(rng):
    n = 300
    val, aro = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    keep = ~((val > 0.6) & (aro > 0.6))  # leave the top-right cell empty
    emb = np.c_[val, aro, rng.normal(0, 0.2, (n, 6))][keep]
    return build_prototypes(emb, val[keep], aro[keep], grid_size=5, min_count=3, teacher_checksum="ab" * 32,
                            source_datasets=["seed"]), emb, val[keep], aro[keep]


def test_counts_and_dense_cells_match_reference(grid):
    g, emb, val, aro = grid
    edges = np.linspace(-1, 1, 6)
    ref_counts, _, _ = np.histogram2d(val, aro, bins=[edges, edges])
    np.testing.assert_array_equal(g.counts, ref_counts.astype(np.int64))
    np.testing.assert_array_equal(g.valence_edges, edges)
    assert g.prototypes.shape == (5, 5, 8) and g.prototypes.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(g.prototypes, axis=-1), 1.0, atol=1e-6)
    for i in range(5):
        for j in range(5):
            if g.counts[i, j] >= 3:
                inside = ((np.digitize(val, edges) - 1).clip(0, 4) == i) & ((np.digitize(aro, edges) - 1).clip(0, 4)
                                                                            == j)
                mean = emb[inside].mean(axis=0)
                np.testing.assert_allclose(g.prototypes[i, j], mean / np.linalg.norm(mean), atol=1e-6)
    # the geometry is inherited: the valence coordinate of the prototypes changes sign along axis 0
    assert g.prototypes[0, 2, 0] < -0.5 and g.prototypes[4, 2, 0] > 0.5


def test_empty_cell_follows_the_documented_fill_rule(grid):
    g, emb, val, aro = grid
    assert g.counts[4, 4] == 0
    edges = np.linspace(-1, 1, 6)
    iv, ia = (np.digitize(val, edges) - 1).clip(0, 4), (np.digitize(aro, edges) - 1).clip(0, 4)
    expected = np.zeros(emb.shape[1])
    for i in range(5):
        for j in range(5):
            sums = emb[(iv == i) & (ia == j)].sum(axis=0)
            expected += np.exp(-((i - 4) ** 2 + (j - 4) ** 2) / 2.0) * sums
    np.testing.assert_allclose(g.prototypes[4, 4], expected / np.linalg.norm(expected), atol=1e-6)


def test_hdf5_and_npz_round_trip_exactly(grid, tmp_path):
    g = grid[0]
    h5, npz = tmp_path / "p.h5", tmp_path / "p.npz"
    save_prototypes(g, h5, npz=npz)
    a, b = load_prototypes(h5), load_prototypes(npz)
    for loaded in (a, b):
        for name in ("prototypes", "counts", "valence_edges", "arousal_edges"):
            np.testing.assert_array_equal(getattr(loaded, name), getattr(g, name))
            assert getattr(loaded, name).dtype == getattr(g, name).dtype
        assert loaded.attrs == g.attrs
    with h5py.File(h5) as f:
        assert set(f) == {"prototypes", "counts", "valence_edges", "arousal_edges"}
        assert f["prototypes"].shape == (5, 5, 8) and f["prototypes"].dtype == np.float32
        assert f.attrs["format_version"] == FORMAT_VERSION and f.attrs["embedding_dim"] == 8
    with np.load(npz) as data:
        assert set(data.files) == {"prototypes", "counts", "valence_edges", "arousal_edges", "attrs"}
    assert a.attrs["source_datasets"] == ["seed"] and a.attrs["teacher_checksum"] == "ab" * 32


def test_loaded_file_is_frozen(grid, tmp_path):
    path = save_prototypes(grid[0], tmp_path / "p.h5")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    loaded = load_prototypes(path)
    with pytest.raises(ValueError, match="read-only"):
        loaded.prototypes[0, 0, 0] = 1.0
    with pytest.raises(FileExistsError, match="frozen"):
        save_prototypes(grid[0], path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def _corrupt(path, edit):
    with h5py.File(path, "r+") as f:
        edit(f)


@pytest.mark.parametrize("edit, match", [
    (lambda f: f["prototypes"].__setitem__((0, 0, 0), 0.5), "checksum mismatch"),
    (lambda f: f.attrs.__setitem__("format_version", 99), "format_version 99"),
    (lambda f: f.__delitem__("counts"), r"missing dataset\(s\) \['counts'\]"),
    (lambda f: (f.__delitem__("counts"), f.create_dataset("counts", data=np.zeros((4, 5), np.int64))),
     "'counts' must have shape"),
    (lambda f: f.attrs.__delitem__("data_sha256"), "missing attribute"),
])
def test_validation_errors(grid, tmp_path, edit, match):
    path = save_prototypes(grid[0], tmp_path / "p.h5")
    _corrupt(path, edit)
    with pytest.raises(PrototypeFileError, match=match):
        load_prototypes(path)


def test_teacher_checksum_and_file_type(grid, tmp_path):
    path = save_prototypes(grid[0], tmp_path / "p.h5")
    load_prototypes(path, teacher_checksum="ab" * 32)
    with pytest.raises(PrototypeFileError, match="made from teacher"):
        load_prototypes(path, teacher_checksum="cd" * 32)
    other = tmp_path / "x.h5"
    other.write_text("not a prototype file")
    with pytest.raises(PrototypeFileError, match="neither an HDF5"):
        load_prototypes(other)


def test_interpolation_hits_cell_centres(grid):
    g = grid[0]
    cv, ca = g.centres()
    got = interpolate_prototypes(g, [cv[1], cv[3]], [ca[2], ca[0]])
    np.testing.assert_allclose(got, g.prototypes[[1, 3], [2, 0]], atol=1e-6)
    mid = interpolate_prototypes(g, [(cv[1] + cv[2]) / 2], [ca[2]])[0]
    ref = g.prototypes[1, 2].astype(float) + g.prototypes[2, 2]
    np.testing.assert_allclose(mid, ref / np.linalg.norm(ref), atol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    ({"embeddings": np.zeros((0, 3))}, "n_samples >= 1"),
    ({"valence": np.zeros(4)}, "valence and arousal of shape"),
    ({"grid_size": 0}, "grid_size"),
    ({"value_range": (1, -1)}, "increasing"),
])
def test_build_errors(kwargs, match, rng):
    args = {"embeddings": rng.standard_normal((5, 3)), "valence": np.zeros(5), "arousal": np.zeros(5), **kwargs}
    with pytest.raises(ValueError, match=match):
        build_prototypes(args.pop("embeddings"), args.pop("valence"), args.pop("arousal"), **args)


def test_centering_subtracts_the_global_mean(rng, tmp_path):
    n = 200
    val, aro = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    emb = np.c_[val, aro, np.full(n, 5.0)] + rng.normal(0, 0.1, (n, 3))  # a large shared component
    plain = build_prototypes(emb, val, aro, grid_size=2, min_count=1)
    centred = build_prototypes(emb, val, aro, grid_size=2, min_count=1, center=True)
    assert centred.attrs["centered"] is True and plain.attrs["centered"] is False
    low = (val < 0) & (aro < 0)
    ref = (emb[low] - emb.mean(axis=0)).mean(axis=0)
    np.testing.assert_allclose(centred.prototypes[0, 0], ref / np.linalg.norm(ref), atol=1e-6)
    # without centring every prototype points along the shared axis; with it they spread out
    cos = lambda g: g.prototypes[0, 0] @ g.prototypes[1, 1]  # noqa: E731
    assert cos(plain) > 0.9 and cos(centred) < -0.5
    assert load_prototypes(save_prototypes(centred, tmp_path / "c.h5")).attrs["centered"] is True
