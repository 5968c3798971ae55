"""The three model parts on tiny tensors: causality, streaming == full forward, codebook health, SAC env."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eegaffect.models.sac import TrajectoryEnv, TrajectoryOptimizer, episode_ccc, train_sac
from eegaffect.models.transformer import MaskedTemporalTransformer, ccc_loss
from eegaffect.models.vqvae import CausalConv1d, CausalVQVAE, EMAVectorQuantizer


@pytest.fixture(autouse=True)
def _torch_seed():
    torch.manual_seed(0)


def _tiny_vqvae(**kw):
    args = dict(n_chans=6, n_bands=3, d_model=16, n_codes=8, dilations=(1, 2), residual_dim=4, drop_prob=0.0)
    args.update(kw)
    return CausalVQVAE(**args)


def test_causal_conv_matches_scipy_style_reference(rng):
    conv = CausalConv1d(3, 2, kernel_size=3, dilation=2)
    x = torch.as_tensor(rng.standard_normal((1, 3, 10)), dtype=torch.float32)
    y = conv(x).detach().numpy()
    w, b = conv.weight.detach().numpy(), conv.bias.detach().numpy()
    xp = np.concatenate([np.zeros((3, 4)), x[0].numpy()], axis=1)
    ref = np.array([[b[o] + sum(w[o, i, k] * xp[i, t + 2 * k] for i in range(3) for k in range(3))
                     for t in range(10)] for o in range(2)])
    np.testing.assert_allclose(y[0], ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("quantize", [True, False])
def test_vqvae_is_exactly_causal(rng, quantize):
    model = _tiny_vqvae(quantize=quantize)
    model.train()
    model(torch.as_tensor(rng.standard_normal((4, 6, 3, 20)), dtype=torch.float32))  # initialise codebook
    model.eval()
    x = torch.as_tensor(rng.standard_normal((2, 6, 3, 24)), dtype=torch.float32)
    t = 11
    x2 = x.clone()
    x2[..., t + 1:] = torch.as_tensor(rng.standard_normal((2, 6, 3, 24 - t - 1)), dtype=torch.float32) * 5
    with torch.no_grad():
        a, b = model(x), model(x2)
    for key in ("latent", "z_e"):
        assert torch.equal(a[key][:, : t + 1], b[key][:, : t + 1])
        assert not torch.allclose(a[key][:, t + 1:], b[key][:, t + 1:])
    assert torch.equal(a["recon"][..., : t + 1], b["recon"][..., : t + 1])
    if quantize:
        assert torch.equal(a["codes"][:, : t + 1], b["codes"][:, : t + 1])


@pytest.mark.parametrize("head_input", ["quantised", "continuous"])
def test_vqvae_step_equals_full_forward(rng, head_input):
    model = _tiny_vqvae(head_input=head_input)
    model(torch.as_tensor(rng.standard_normal((4, 6, 3, 20)), dtype=torch.float32))
    model.eval()
    x = torch.as_tensor(rng.standard_normal((2, 6, 3, 15)), dtype=torch.float32)
    with torch.no_grad():
        full = model.encode(x)
        state = model.init_state(2)
        lat, codes = [], []
        for t in range(15):
            lt, ct, state = model.step(x[..., t], state)
            lat.append(lt)
            codes.append(ct)
    torch.testing.assert_close(torch.stack(lat, 1), full["head"], rtol=1e-5, atol=1e-5)
    # what the heads read: the decoder's latent (code + residual), or the continuous encoder output
    assert torch.equal(full["head"], full["latent"] if head_input == "quantised" else full["z_e"])
    assert not torch.allclose(full["latent"], full["z_e"])
    assert torch.equal(torch.stack(codes, 1), full["codes"])
    with pytest.raises(ValueError, match="head_input must be 'continuous' or 'quantised', got 'codes'"):
        _tiny_vqvae(head_input="codes")


def test_vqvae_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, 6, 3, n_times\)"):
        _tiny_vqvae()(torch.zeros(1, 5, 3, 4))
    with pytest.raises(ValueError, match="chs_info has 2 entries"):
        _tiny_vqvae(chs_info=[{"ch_name": "a"}, {"ch_name": "b"}])


def test_quantizer_kmeans_init_usage_and_perplexity():
    gen = torch.Generator().manual_seed(1)
    centres = torch.randn(4, 5, generator=gen) * 5
    z = centres[torch.arange(400) % 4] + 0.01 * torch.randn(400, 5, generator=gen)
    vq = EMAVectorQuantizer(4, 5, kmeans_init=True, seed=3)
    q, codes, commit, perplexity = vq(z)
    # k-means found the 4 clusters: every point lands within noise of its centre, all codes used equally
    assert float((q - z).abs().max()) < 0.1
    assert abs(float(perplexity) - 4.0) < 1e-3
    stats = vq.codebook_stats()
    assert stats["used_codes"] == 4 and abs(stats["perplexity"] - 4.0) < 1e-3
    assert float(commit) < 1e-3


def test_quantizer_dead_code_restart():
    vq = EMAVectorQuantizer(8, 3, decay=0.5, dead_threshold=0.5, kmeans_init=False, seed=0)
    gen = torch.Generator().manual_seed(2)
    z0 = torch.randn(64, 3, generator=gen)
    vq(z0)  # initialise
    # move the data far away: the old codes stop being used, decay below the threshold and get restarted
    z1 = torch.randn(64, 3, generator=gen) + 50.0
    before = vq.codebook_stats()["restarts"]
    for _ in range(6):
        vq(z1)
    assert vq.codebook_stats()["restarts"] > before
    vq.reset_usage()
    vq(z1)
    assert vq.codebook_stats()["used_codes"] >= 2
    assert float(vq.codebook.mean()) > 20  # codes moved onto the data


def _tiny_transformer(**kw):
    args = dict(d_in=8, n_codes=5, n_classes=3, d_model=16, n_heads=2, n_layers=2, context=5, drop_prob=0.0)
    args.update(kw)
    return MaskedTemporalTransformer(**args).eval()


def test_transformer_is_causal_and_local(rng):
    tr = _tiny_transformer()
    x = torch.as_tensor(rng.standard_normal((1, 30, 8)), dtype=torch.float32)
    x2 = x.clone()
    x2[:, 20:] += 3.0
    with torch.no_grad():
        a, b = tr(x)["va"], tr(x2)["va"]
    assert torch.equal(a[:, :20], b[:, :20])
    # the receptive field is n_layers * (context - 1) + 1 = 9 steps: changing step 0 leaves step >= 9 alone
    x3 = x.clone()
    x3[:, 0] += 3.0
    with torch.no_grad():
        c = tr(x3)["va"]
    assert tr.receptive_field == 9
    torch.testing.assert_close(c[:, 9:], a[:, 9:], rtol=0, atol=1e-6)
    assert not torch.allclose(c[:, :9], a[:, :9])


def test_transformer_step_equals_full_forward(rng):
    tr = _tiny_transformer()
    x = torch.as_tensor(rng.standard_normal((2, 17, 8)), dtype=torch.float32)
    with torch.no_grad():
        full = tr(x)
        cache = tr.init_cache(2)
        outs = []
        for t in range(17):
            o, cache = tr.step(x[:, t], cache)
            outs.append(o)
            assert cache[0][0].shape[2] <= tr.context - 1  # bounded KV cache
    for key in ("va", "logvar", "context", "class_logits"):
        torch.testing.assert_close(torch.stack([o[key] for o in outs], 1), full[key], rtol=1e-5, atol=1e-5)


def test_transformer_pretraining_and_regression_learn(rng):
    torch.manual_seed(0)
    tr = MaskedTemporalTransformer(d_in=4, n_codes=3, d_model=16, n_heads=2, n_layers=1, context=4, drop_prob=0.0)
    t = np.arange(24)
    codes = torch.as_tensor(np.tile((t // 3) % 3, (4, 1)))
    protos = torch.eye(3, 4) * 2
    latents = protos[codes] + 0.05 * torch.as_tensor(rng.standard_normal((4, 24, 4)), dtype=torch.float32)
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(tr.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        mask = torch.rand(4, 24, generator=gen) < 0.3
        loss = tr.pretrain_loss(latents, codes, mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:10])
    va = torch.stack([latents[..., 0] - latents[..., 1], latents[..., 2] - 0.5], -1).clamp(-0.9, 0.9)
    opt = torch.optim.Adam(tr.parameters(), lr=1e-2)
    first = float(tr.regression_loss(latents, va).detach())
    for _ in range(40):
        loss = tr.regression_loss(latents, va, labels=None)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.5 * first


def test_ccc_loss_matches_hand_computation(rng):
    p, y = rng.standard_normal((50, 2)), rng.standard_normal((50, 2))
    ref = np.mean([2 * np.cov(p[:, d], y[:, d], bias=True)[0, 1]
                   / (p[:, d].var() + y[:, d].var() + (p[:, d].mean() - y[:, d].mean()) ** 2) for d in range(2)])
    assert abs(float(ccc_loss(torch.as_tensor(p), torch.as_tensor(y))) - (1 - ref)) < 1e-6
    assert abs(episode_ccc(p, y) - ref) < 1e-9


@pytest.mark.parametrize("case", ["random", "correlated", "offset", "scaled", "one_constant"])
def test_ccc_loss_and_reward_agree_with_the_metric(rng, case):
    """One CCC: the torch loss and the SAC reward equal the benchmark's metrics.ccc column by column."""
    from eegaffect.benchmark.metrics import ccc

    y = rng.standard_normal((64, 2))
    p = {"random": rng.standard_normal((64, 2)), "correlated": y + 0.3 * rng.standard_normal((64, 2)),
         "offset": y + 2.0, "scaled": 0.2 * y, "one_constant": np.column_stack([y[:, 0], np.full(64, 0.5)])}[case]
    ref = [ccc(y[:, k], p[:, k]) for k in range(2)]
    loss = float(ccc_loss(torch.as_tensor(p), torch.as_tensor(y)))
    assert abs(loss - (1 - np.mean(ref))) < 1e-6
    assert abs(episode_ccc(p, y) - np.mean(ref)) < 1e-12


def test_undefined_ccc_is_nan_in_the_metric_and_zero_in_the_reward():
    from eegaffect.benchmark.metrics import ccc

    const = np.full((10, 2), 0.3)
    assert np.isnan(ccc(const[:, 0], const[:, 0]))
    assert episode_ccc(const, const) == 0.0
    assert abs(float(ccc_loss(torch.as_tensor(const), torch.as_tensor(const))) - 1.0) < 1e-6


def _env(rng, **kw):
    n = [20, 25]
    ctx = [rng.standard_normal((k, 6)) for k in n]
    tgt = [np.clip(np.cumsum(rng.standard_normal((k, 2)) * 0.1, 0), -1, 1) for k in n]
    base = [np.clip(t + 0.3 * rng.standard_normal(t.shape), -1, 1) for t in tgt]
    return TrajectoryEnv(ctx, base, tgt, **kw)


@pytest.mark.parametrize("segments", [1, 3])
def test_env_passes_check_env_and_reward_terms(rng, segments):
    from stable_baselines3.common.env_checker import check_env

    env = _env(rng, episode_len=10, episode_segments=segments, w_action=0.2)
    check_env(env)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (10,) and obs.dtype == np.float32
    total, steps, info = 0.0, 0, {}
    done = False
    action = np.array([0.5, -0.25], np.float32)
    while not done:
        obs, r, done, trunc, info = env.step(action)
        total += r
        steps += 1
    assert steps == 10 * segments and "episode_ccc" in info
    # reference: y = clip(base + 0.5 a); error + action penalty every step, smoothness inside segments, CCC overall
    b, t = env._ep_base.astype(float), env._ep_tgt.astype(float)
    y = np.clip(b + 0.5 * action, -1, 1)
    smooth = np.mean(np.diff(y, axis=0) ** 2, 1)
    smooth[9::10] = 0.0  # the step that starts the next segment has no smoothness term
    ref = (-np.mean((y - t) ** 2, 1).sum() - 0.2 * np.mean(action.astype(float) ** 2) * len(y)
           - 0.5 * smooth.sum() + episode_ccc(y, t))
    assert abs(total - ref) < 1e-4
    assert abs(info["episode_ccc"] - episode_ccc(y, t)) < 1e-6


def test_env_rejects_mismatched_inputs(rng):
    with pytest.raises(ValueError, match="expected equally many"):
        TrajectoryEnv([np.zeros((3, 2))], [], [])
    with pytest.raises(ValueError, match=r"targets \(n, 2\)"):
        TrajectoryEnv([np.zeros((3, 2))], [np.zeros((3, 2))], [np.zeros((4, 2))])


def test_sac_seeded_training_is_deterministic_and_round_trips(rng, tmp_path):
    env_seed = np.random.default_rng(5)
    obs = np.stack([_env(np.random.default_rng(5), episode_len=8).observation_space.sample() for _ in range(5)])
    actions = []
    for _ in range(2):
        model = train_sac(_env(np.random.default_rng(5), episode_len=8), total_steps=150, learning_starts=50,
                          batch_size=16, net_arch=(16, 16), seed=7)
        actions.append(model.predict(obs, deterministic=True)[0])
    np.testing.assert_array_equal(actions[0], actions[1])
    opt = TrajectoryOptimizer(model, action_scale=0.5)
    path = opt.save(tmp_path / "policy.zip")
    loaded = TrajectoryOptimizer.load(path, action_scale=0.5)
    ctx, base = env_seed.standard_normal((12, 6)), np.clip(env_seed.standard_normal((12, 2)), -1, 1)
    np.testing.assert_array_equal(opt.run(ctx, base), loaded.run(ctx, base))
    y = loaded.run(ctx, base)
    assert y.shape == (12, 2) and np.all(np.abs(y) <= 1) and np.all(np.abs(y - base) <= 0.5 + 1e-6)


def test_sac_training_shows_a_progress_bar(capsys, monkeypatch):
    # sb3's own progress bar needs `rich` (not a dependency): train_sac drives eegaffect's tqdm bar instead
    monkeypatch.setenv("EEGAFFECT_PROGRESS", "1")
    train_sac(_env(np.random.default_rng(5), episode_len=8), total_steps=60, learning_starts=20, batch_size=8,
              net_arch=(8,), seed=1, progress=True)
    err = capsys.readouterr().err
    assert "sac:" in err and "/60" in err
    train_sac(_env(np.random.default_rng(5), episode_len=8), total_steps=30, learning_starts=20, batch_size=8,
              net_arch=(8,), seed=1, progress=False)
    assert "sac:" not in capsys.readouterr().err
