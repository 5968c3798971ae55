"""Face student: losses against by-hand formulas, metrics against sklearn, config validation, model shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eegaffect.config import ConfigError, load_config
from eegaffect.distill.faces import EMOTIONS
from eegaffect.distill.prototypes import build_prototypes
from eegaffect.distill.student import (
    DistilConfig,
    FaceStudent,
    LossesConfig,
    PrototypeTargets,
    dgeo_ramp,
    distillation_losses,
    face_metrics,
)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """One intra-op thread: on the shared 2-core CI machines torch's thread pool slows small nets ~30x."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def targets(rng):
    n = 400
    val, aro = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    grid = build_prototypes(np.c_[val, aro, rng.normal(0, 0.3, (n, 6))], val, aro, grid_size=5)
    return PrototypeTargets.from_grid(grid, DistilConfig().class_va, ["happiness", "surprise"]), grid


#: The NeuroGaze-Distill settings (the defaults before issue 19), still reachable through the config.
PAPER = {"ce": {"label_smoothing": 0.055}, "kd": {"enabled": True, "weight": 0.30, "scale": 5.0},
         "proto_kd": {"enabled": True, "weight": 0.12, "temperature": 5.0, "tau": 0.90, "soft_target": "teacher",
                      "ramp_start": 0, "ramp_end": 0},
         "dgeo": {"enabled": True, "weight": 0.012, "ramp_start": 20, "ramp_end": 60}}


def _log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def test_losses_match_the_documented_formulas(targets, rng):
    t, _ = targets
    logits = rng.standard_normal((6, 8))
    emb = rng.standard_normal((6, 8))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    y = np.array([0, 1, 2, 1, 5, 7])
    cfg = LossesConfig.model_validate(PAPER | {"dgeo": PAPER["dgeo"] | {"ramp_start": 0, "ramp_end": 10}})
    got = distillation_losses(torch.tensor(logits, dtype=torch.float32), torch.tensor(emb, dtype=torch.float32),
                              torch.tensor(y), t, cfg, epoch=5)
    P, C, U = (x.double().numpy() for x in (t.class_protos, t.cosines, t.axes))
    eps, T, tau = 0.055, 5.0, 0.9
    onehot = np.eye(8)[y]
    ce = -(((1 - eps) * onehot + eps / 8) * _log_softmax(logits)).sum(1).mean()
    kd = ((logits - 5.0 * C[y]) ** 2).mean()
    soft = np.exp(_log_softmax(T * C[y]))
    proto = -((tau * onehot + (1 - tau) * soft) * _log_softmax(T * emb @ P.T)).sum(1).mean()
    pos = np.isin(y, [1, 2])
    dgeo = ((((emb[pos] - P[y[pos]]) @ U.T) ** 2).sum(1)).mean()
    ramp = 0.5 * (1 - np.cos(np.pi * 5 / 10))
    expected = {"ce": ce, "kd": 0.30 * kd, "proto_kd": 0.12 * proto, "dgeo": 0.012 * ramp * dgeo}
    for key, value in expected.items():
        assert float(got[key]) == pytest.approx(value, rel=1e-5), key
    assert float(got["total"]) == pytest.approx(sum(expected.values()), rel=1e-5)


def test_class_va_targets_and_fade_in_match_the_formulas(targets, rng):
    _, grid = targets
    t = PrototypeTargets.from_grid(grid, DistilConfig().class_va, ["all"])
    assert bool(t.positive.all())
    logits = rng.standard_normal((6, 8))
    emb = rng.standard_normal((6, 8))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    y = np.array([0, 1, 2, 4, 6, 7])
    cfg = LossesConfig.model_validate({"proto_kd": {"enabled": True, "weight": 0.7, "va_sigma": 0.4,
                                                    "ramp_start": 2, "ramp_end": 6},
                                       "dgeo": {"enabled": True, "weight": 0.5, "positive_classes": ["all"],
                                                "target": "class_va", "ramp_start": 0, "ramp_end": 0}})
    assert t.class_va is not None
    got = distillation_losses(torch.tensor(logits, dtype=torch.float32), torch.tensor(emb, dtype=torch.float32),
                              torch.tensor(y), t, cfg, epoch=3)
    P, U = t.class_protos.double().numpy(), t.axes.double().numpy()
    va = np.array([DistilConfig().class_va[e] for e in EMOTIONS])
    onehot = np.eye(8)[y]
    d2 = ((va[y][:, None] - va[None]) ** 2).sum(-1)
    soft = np.exp(_log_softmax(-d2 / (2 * 0.4 ** 2)))
    proto = -((0.9 * onehot + 0.1 * soft) * _log_softmax(5.0 * emb @ P.T)).sum(1).mean()
    fade = 0.5 * (1 - np.cos(np.pi * (3 - 2) / (6 - 2)))
    dgeo = (((emb @ U.T - va[y]) ** 2).sum(1)).mean()  # every class, pinned to its label's V/A point
    assert float(got["proto_kd"]) == pytest.approx(0.7 * fade * proto, rel=1e-5)
    assert float(got["dgeo"]) == pytest.approx(0.5 * dgeo, rel=1e-5)
    assert set(got) == {"ce", "proto_kd", "dgeo", "total"}  # KD is off by default
    before = distillation_losses(torch.tensor(logits, dtype=torch.float32), torch.tensor(emb, dtype=torch.float32),
                                 torch.tensor(y), t, cfg, epoch=1)
    assert float(before["proto_kd"]) == 0.0  # faded out before ramp_start


def test_bootstrap_and_classifier_head_match_the_formulas(targets, rng):
    t, _ = targets
    logits = rng.standard_normal((5, 8))
    emb = rng.standard_normal((5, 8))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    y = np.array([3, 0, 6, 6, 2])
    va = np.array([DistilConfig().class_va[e] for e in EMOTIONS])
    onehot = np.eye(8)[y]
    target = 0.8 * onehot + 0.2 * np.exp(_log_softmax(-((va[y][:, None] - va[None]) ** 2).sum(-1) / (2 * 0.35 ** 2)))
    P = t.class_protos.double().numpy()
    args = (torch.tensor(logits, dtype=torch.float32), torch.tensor(emb, dtype=torch.float32, requires_grad=True),
            torch.tensor(y), t)
    base = {"enabled": True, "tau": 0.8, "ramp_start": 0, "ramp_end": 0}
    # bootstrapping mixes the student's own (detached) prototype distribution into the target
    got = distillation_losses(*args, LossesConfig.model_validate({"proto_kd": base | {"bootstrap": 0.3}}), epoch=0)
    log_q = _log_softmax(5.0 * emb @ P.T)
    expected = -((0.7 * target + 0.3 * np.exp(log_q)) * log_q).sum(1).mean()
    assert float(got["proto_kd"].detach()) == pytest.approx(expected, rel=1e-5)
    # the gradient does not flow through the bootstrap target: d/de of -(t' . log q) with t' held fixed
    got["proto_kd"].backward()
    e = args[1]
    q = torch.softmax(5.0 * e.detach() @ t.class_protos.T, dim=1)
    tb = torch.tensor(0.7 * target, dtype=torch.float32) + 0.3 * q
    expect = 5.0 * ((q - tb) @ t.class_protos) / len(y)  # softmax-CE gradient w.r.t. the scaled cosines
    np.testing.assert_allclose(e.grad.numpy(), expect.numpy(), atol=1e-5)
    # the classifier head: the same target on the class logits, no prototype involved
    got = distillation_losses(*args, LossesConfig.model_validate({"proto_kd": base | {"head": "classifier"}}),
                              epoch=0)
    assert float(got["proto_kd"].detach()) == pytest.approx(-(target * _log_softmax(logits)).sum(1).mean(), rel=1e-5)


def test_switches_and_ramp(targets, rng):
    t, _ = targets
    logits = torch.randn(4, 8, generator=torch.Generator().manual_seed(0))
    emb = torch.nn.functional.normalize(torch.randn(4, 8, generator=torch.Generator().manual_seed(1)), dim=1)
    y = torch.tensor([1, 1, 2, 3])
    cfg = LossesConfig.model_validate({"kd": {"enabled": False}, "proto_kd": {"enabled": False},
                                       "dgeo": {"enabled": True}})
    got = distillation_losses(logits, emb, y, t, cfg, epoch=0)
    assert set(got) == {"ce", "dgeo", "total"} and float(got["dgeo"]) == 0.0  # before the ramp starts
    assert dgeo_ramp(19, 20, 60) == 0.0 and dgeo_ramp(40, 20, 60) == pytest.approx(0.5)
    assert dgeo_ramp(60, 20, 60) == 1.0 and dgeo_ramp(5, 5, 5) == 1.0
    # the class prototypes are unit vectors and C their cosine matrix
    np.testing.assert_allclose(np.linalg.norm(t.class_protos.numpy(), axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(t.cosines.numpy(), t.class_protos.numpy() @ t.class_protos.numpy().T, atol=1e-6)
    assert t.positive.tolist() == [e in ("happiness", "surprise") for e in EMOTIONS]


def test_metrics_match_sklearn(rng):
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    y = rng.choice([0, 1, 3, 4], size=60)
    logits = rng.standard_normal((60, 8)) + 2.0 * np.eye(8)[y] * (rng.random(60) < 0.6)[:, None]
    m = face_metrics(y, logits)
    pred = logits.argmax(1)
    assert m["8way"]["acc"] == pytest.approx(accuracy_score(y, pred))
    assert m["8way"]["macro_f1"] == pytest.approx(f1_score(y, pred, labels=range(8), average="macro",
                                                           zero_division=0))
    # 8-way balanced accuracy: absent classes count 0, so it is 4/8 of the present-class mean recall
    present = np.array([0, 1, 3, 4])
    pred_p = present[logits[:, present].argmax(1)]
    assert m["present_only"]["bacc"] == pytest.approx(balanced_accuracy_score(y, pred_p))
    assert m["present_only"]["acc"] == pytest.approx(accuracy_score(y, pred_p))
    assert m["present_only"]["macro_f1"] == pytest.approx(f1_score(y, pred_p, average="macro"))
    recall = [np.mean(pred[y == k] == k) for k in present]
    assert m["8way"]["bacc"] == pytest.approx(np.sum(recall) / 8)
    assert m["present_only"]["present_names"] == ["neutral", "happiness", "sadness", "anger"]
    with pytest.raises(ValueError, match=r"shape \(60, 8\)"):
        face_metrics(y, logits[:, :7])


@pytest.mark.parametrize("arch, size", [("resnet18", 32), ("resnet50", 32)])
def test_student_shapes(arch, size):
    torch.manual_seed(0)
    model = FaceStudent(8, 12, arch=arch, projection_hidden=16).eval()
    with torch.no_grad():
        logits, emb = model(torch.rand(3, 1, size, size))
    assert logits.shape == (3, 8) and emb.shape == (3, 12)
    np.testing.assert_allclose(emb.norm(dim=1).numpy(), 1.0, atol=1e-5)


@pytest.mark.parametrize("override, match", [
    ("losses.dgeo.ramp_end=10", "ramp_end"),
    ("losses.dgeo.positive_classes=[joy]", "unknown emotion 'joy'"),
    ("class_va={happy: [0.5, 0.5]}", "missing"),
    ("losses.proto_kd.tau=1.5", "tau"),
    ("losses.proto_kd.bootstrap=1.2", "bootstrap"),
    ("losses.proto_kd.head=logits", "head"),
])
def test_config_errors(override, match):
    with pytest.raises(ConfigError, match=match):
        load_config(DistilConfig, overrides=[override], default="distil")
    off = [f"losses.{k}.enabled=false" for k in ("ce", "kd", "proto_kd", "dgeo")]
    with pytest.raises(ConfigError, match="at least one loss"):
        load_config(DistilConfig, overrides=off, default="distil")


def test_packaged_config_has_the_issue_19_defaults_and_the_paper_settings_stay_reachable():
    cfg = load_config(DistilConfig, default="distil")
    lc = cfg.losses
    # cross-entropy alone: no term earned its place (measurements in docs/distillation.md); Proto-KD's best setting
    # (V/A soft targets, weight 1.0, faded in) is what enabling it gives
    assert (lc.ce.enabled, lc.kd.enabled, lc.proto_kd.enabled, lc.dgeo.enabled) == (True, False, False, False)
    assert (lc.ce.label_smoothing, lc.proto_kd.weight, lc.proto_kd.temperature, lc.proto_kd.tau,
            lc.proto_kd.soft_target, lc.proto_kd.ramp_start, lc.proto_kd.ramp_end) == (
        0.0, 1.0, 5.0, 0.90, "class_va", 20, 60)
    assert (lc.kd.weight, lc.dgeo.weight, lc.dgeo.ramp_start, lc.dgeo.ramp_end) == (0.30, 0.012, 20, 60)
    assert lc.dgeo.positive_classes == ["happiness", "surprise"] and cfg.train.epochs == 100
    assert cfg == DistilConfig()  # the YAML and the schema defaults agree
    paper = load_config(DistilConfig, default="distil", overrides=[
        "losses.ce.label_smoothing=0.055", "losses.kd.enabled=true", "losses.dgeo.enabled=true",
        "losses.proto_kd.enabled=true", "losses.proto_kd.weight=0.12",
        "losses.proto_kd.soft_target=teacher", "losses.proto_kd.ramp_end=0", "losses.proto_kd.ramp_start=0"])
    assert paper.losses == LossesConfig.model_validate(PAPER)


@pytest.mark.slow
def test_onnx_export_matches_onnxruntime_and_the_check_can_fail(tmp_path):
    from eegaffect.distill.onnx_export import check_onnx, export_onnx

    torch.manual_seed(0)
    model = FaceStudent(8, 6, projection_hidden=8).eval()
    path = export_onnx(model, tmp_path / "s.onnx", image_size=32)
    images = np.random.default_rng(0).random((5, 1, 32, 32), dtype=np.float32)  # batch 5 != export batch 2
    assert check_onnx(path, model, images) < 1e-4
    with torch.no_grad():
        model.classifier.bias += 1.0
    with pytest.raises(AssertionError, match="differs from torch"):
        check_onnx(path, model, images)
