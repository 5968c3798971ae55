"""Per-stage diagnostics of the continuous chain (issue 18), on one subject-dependent fold of a synthetic SEED.

Trains the chain once with configs/train.yaml (plus --set overrides), stage by stage with the same optimiser,
crops and losses as eegaffect.models.stages, and records on the fold's held-out test trials:

- VQ-VAE: codebook perplexity / used codes over training, reconstruction MSE, and ridge-probe valence CCC from the
  continuous encoder output z_e, from the code alone (one-hot) and from the latent the heads read;
- heads: output change at code switches vs elsewhere, what the transformer reads (code part vs residual part);
- masked pretraining: the masked objective on held-out latents over training vs trivial predictors, and the
  fine-tuned CCC with vs without it (same init, same steps);
- SAC: reward terms over training, its corrections vs the errors they should correct (correlation, variance),
  before and after the refit of the transformer, and the jitter (mean |delta| per second) of every output.

Usage: nice -n 10 .venv/bin/python scripts/chain_diagnostics.py --root DATA --cache-dir CACHE --out docs/chain_stages
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chain_common import jitter, load_fold


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def ccc(t, p) -> float:
    from eegaffect.benchmark.metrics import ccc as _ccc

    return float(_ccc(np.asarray(t, float), np.asarray(p, float)))


def probe(xs_tr, y_tr, xs_te, y_te) -> float:
    """Ridge probe of valence: fit on train steps, CCC on test steps."""
    from sklearn.linear_model import Ridge

    x_tr, x_te = np.concatenate(xs_tr), np.concatenate(xs_te)
    m = Ridge(alpha=1.0).fit(x_tr, np.concatenate(y_tr)[:, 0])
    return ccc(np.concatenate(y_te)[:, 0], m.predict(x_te))


def encode(vq, norm):
    import torch

    out = []
    with torch.no_grad():
        for f in norm:
            enc = vq(torch.as_tensor(f).permute(1, 2, 0)[None])
            rec = float(((enc["recon"][0] - torch.as_tensor(f).permute(1, 2, 0)) ** 2).mean())
            out.append({k: (v[0].numpy() if v is not None else None)
                        for k, v in enc.items() if k in ("z_e", "latent", "head", "codes")} | {"recon": rec})
    return out


def onehot(codes, k):
    return np.eye(k)[codes]


def perplexity(codes, k) -> tuple[float, int]:
    c = np.bincount(np.concatenate(codes), minlength=k).astype(float)
    p = c / c.sum()
    nz = p[p > 0]
    return float(np.exp(-(nz * np.log(nz)).sum())), int((c > 0).sum())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--cache-dir", required=True)
    ap.add_argument("--subject", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval-every", type=int, default=25)
    ap.add_argument("--out", default="docs/chain_stages")
    ap.add_argument("--tag", default="diagnostics")
    ap.add_argument("--set", action="append", default=[], help="train config override KEY=VALUE")
    args = ap.parse_args()

    import torch

    from eegaffect.config import load_config
    from eegaffect.models.chain import EEGDancerChain
    from eegaffect.models.config import TrainConfig
    from eegaffect.models.data import Sequences
    from eegaffect.models.loop import TrainContext, random_crops
    from eegaffect.models.stages import (
        _finetune,
        build_model,
        holdout_split,
        stage_refit,
    )

    torch.set_num_threads(1)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    train, test = load_fold(args.root, args.subject, args.cache_dir)
    log(f"fold: {len(train.features)} train / {len(test.features)} test trials, "
        f"{sum(len(f) for f in train.features)} / {sum(len(f) for f in test.features)} steps")
    config = load_config(TrainConfig, None, [f"seed={args.seed}", "device=cpu", *args.set], default="train")
    v, t, s = config.vqvae, config.transformer, config.sac
    seqs = Sequences([np.asarray(f, np.float64) for f in train.features],
                     [np.asarray(x, np.float32) for x in train.va], train.labels, train.n_classes)
    feats = np.concatenate(seqs.features)
    mean, std = feats.mean(0), feats.std(0)
    std = np.where(std > 1e-6, std, 1.0)
    torch.manual_seed(config.seed)
    n_classes = train.n_classes if t.class_head else None
    model = build_model(config, feats.shape[1], feats.shape[2], n_classes)
    chain = EEGDancerChain(model, mean, std)
    norm_tr = [chain.normalise(f) for f in seqs.features]
    norm_te = [chain.normalise(f) for f in test.features]
    va_tr, va_te = list(seqs.va), [np.asarray(x, np.float32) for x in test.va]
    rep: dict = {"config": config.model_dump(mode="json"), "subject": args.subject, "root": str(args.root)}

    # ---- stage 1: VQ-VAE, as stages.stage_vqvae / loop.optimise, evaluated every eval_every steps
    vq = model.vqvae
    K = vq.n_codes
    opt = torch.optim.AdamW(vq.parameters(), lr=v.lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(config.seed * 1009 + sum(map(ord, "vqvae")))
    hist = []
    for step in range(v.steps + 1):
        if step % args.eval_every == 0 or step == v.steps:
            vq.eval()
            etr, ete = encode(vq, norm_tr), encode(vq, norm_te)
            row = {"step": step, "recon_test": float(np.mean([e["recon"] for e in ete])),
                   "recon_train": float(np.mean([e["recon"] for e in etr])),
                   "probe_ze": probe([e["z_e"] for e in etr], va_tr, [e["z_e"] for e in ete], va_te),
                   "probe_latent": probe([e["latent"] for e in etr], va_tr, [e["latent"] for e in ete], va_te),
                   "probe_head": probe([e["head"] for e in etr], va_tr, [e["head"] for e in ete], va_te)}
            if vq.quantize and step > 0:
                row["perplexity_test"], row["used_test"] = perplexity([e["codes"] for e in ete], K)
                row["perplexity_train"], row["used_train"] = perplexity([e["codes"] for e in etr], K)
                row["probe_code"] = probe([onehot(e["codes"], K) for e in etr], va_tr,
                                          [onehot(e["codes"], K) for e in ete], va_te)
                row["switch_rate_test"] = float(np.mean(np.concatenate([np.diff(e["codes"]) != 0 for e in ete])))
            hist.append(row)
            log("vqvae " + ", ".join(f"{k}={val:.3f}" if isinstance(val, float) else f"{k}={val}"
                                     for k, val in row.items()))
            vq.train()
        if step == v.steps:
            break
        x = torch.as_tensor(random_crops(norm_tr, v.batch_size, v.crop, gen)[0].transpose(0, 2, 3, 1).copy())
        loss = vq.loss_only(x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vq.parameters(), 1.0)
        opt.step()
    vq.eval()
    rep["vqvae"] = hist
    if vq.quantizer is not None:
        rep["codebook_training_usage"] = vq.quantizer.codebook_stats()
    for p in vq.parameters():
        p.requires_grad_(False)
    etr, ete = encode(vq, norm_tr), encode(vq, norm_te)
    lat_tr = [e["head"].astype(np.float32) for e in etr]  # what the transformer reads (vqvae.head_input)
    lat_te = [e["head"].astype(np.float32) for e in ete]
    codes_tr = [e["codes"] for e in etr] if vq.quantize else None
    codes_te = [e["codes"] for e in ete] if vq.quantize else None

    # ---- stage 2a: masked pretraining, held-out masked objective every eval_every steps
    tr = model.transformer
    tr.class_weight = t.class_weight
    init_state = {k: val.clone() for k, val in tr.state_dict().items()}
    mgen = torch.Generator().manual_seed(12345)
    te_masks = [torch.rand(len(x), generator=mgen) < t.mask_prob for x in lat_te]

    def heldout_masked():
        tr.eval()
        lat_mse, ce, n = 0.0, 0.0, 0
        with torch.no_grad():
            for i, x in enumerate(lat_te):
                lat = torch.as_tensor(x)[None]
                m = te_masks[i][None]
                h = tr(lat, m)["context"][m]
                lat_mse += float(((tr.latent_head(h) - lat[m]) ** 2).sum(-1).mean()) * int(m.sum())
                if codes_te is not None and tr.code_head is not None:
                    ce += float(torch.nn.functional.cross_entropy(tr.code_head(h),
                                                                  torch.as_tensor(codes_te[i])[None][m])) * int(m.sum())
                n += int(m.sum())
        tr.train()
        return lat_mse / n / tr.d_in, ce / n

    # trivial predictors of a masked latent on held-out data: the training mean, and the previous step
    all_tr = np.concatenate(lat_tr)
    mu = all_tr.mean(0)
    base_mean = float(np.mean([((x[m.numpy()] - mu) ** 2).mean() for x, m in zip(lat_te, te_masks)]))
    base_prev = float(np.mean([((x[1:][m.numpy()[1:]] - x[:-1][m.numpy()[1:]]) ** 2).mean()
                               for x, m in zip(lat_te, te_masks)]))
    pre_hist = []
    if t.mask_pretrain and t.pretrain_steps:
        opt = torch.optim.AdamW([p for p in tr.parameters()], lr=t.lr, weight_decay=t.weight_decay)
        gen = torch.Generator().manual_seed(config.seed * 1009 + sum(map(ord, "pretrain")))
        tr.train()
        for step in range(t.pretrain_steps + 1):
            if step % args.eval_every == 0 or step == t.pretrain_steps:
                mse, ce = heldout_masked()
                pre_hist.append({"step": step, "heldout_latent_mse": mse, "heldout_code_ce": ce})
                log(f"pretrain step {step}: held-out masked latent MSE {mse:.4f} (mean {base_mean:.4f}, "
                    f"previous step {base_prev:.4f}), code CE {ce:.3f} (uniform {np.log(K):.3f})")
            if step == t.pretrain_steps:
                break
            extra = [codes_tr] if codes_tr is not None else []
            b = random_crops(lat_tr, t.batch_size, t.crop, gen, extra)
            mask = torch.rand(b[0].shape[:2], generator=gen) < t.mask_prob
            loss = tr.pretrain_loss(torch.as_tensor(b[0]), torch.as_tensor(b[1]) if extra else None, mask)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(tr.parameters(), 1.0)
            opt.step()
    rep["pretrain"] = {"history": pre_hist, "baseline_mean_mse": base_mean, "baseline_prev_mse": base_prev}
    pretrained_state = {k: val.clone() for k, val in tr.state_dict().items()}

    # ---- stage 2b: fine-tune (fit trials = all but SAC's held-out), with and without the pretraining
    holdout, fit_idx = holdout_split(seqs, config)
    ctx = TrainContext(config, torch.device("cpu"), 0, 1, None, False, False, {})

    def test_pred(latents):
        tr.eval()
        with torch.no_grad():
            return [tr(torch.as_tensor(x)[None])["va"][0].numpy() for x in latents]

    def scores(preds):
        p, y = np.concatenate(preds), np.concatenate(va_te)
        return {"valence_ccc": ccc(y[:, 0], p[:, 0]), "arousal_ccc": ccc(y[:, 1], p[:, 1]),
                "jitter": jitter(preds).tolist()}

    ft = {}
    for name, state in (("scratch", init_state), ("pretrained", pretrained_state)):
        tr.load_state_dict(state)
        _finetune(tr, lat_tr, seqs, fit_idx, ctx, "finetune", t.finetune_steps, t.lr)
        ft[name] = scores(test_pred(lat_te))
        ft[name]["finetune_loss"] = ctx.report["finetune_loss"]
        log(f"fine-tuned from {name}: {ft[name]}")
    rep["finetune"] = ft
    rep["truth_jitter"] = jitter(va_te).tolist()
    # keep the default path's transformer (pretrained unless mask_pretrain is off) for what follows
    if not (t.mask_pretrain and t.pretrain_steps):
        tr.load_state_dict(init_state)
        _finetune(tr, lat_tr, seqs, fit_idx, ctx, "finetune", t.finetune_steps, t.lr)
    preds_te = test_pred(lat_te)
    # the output smoother of the chain (transformer.smooth_s), on the same predictions
    smoother = EEGDancerChain(model, mean, std, smooth_s=t.smooth_s, hop_s=config.pipeline.features.hop_s)
    rep["unsmoothed"] = scores(preds_te)
    rep["smoothed"] = scores([smoother.smooth(p) for p in preds_te]) | {"smooth_s": t.smooth_s}
    log(f"transformer output on test: raw {rep['unsmoothed']}, smoothed ({t.smooth_s} s) {rep['smoothed']}")

    # ---- heads vs code switches (test trials)
    heads: dict = {}
    if vq.quantize:
        d_pred = np.concatenate([np.abs(np.diff(p, axis=0)) for p in preds_te])
        d_true = np.concatenate([np.abs(np.diff(y, axis=0)) for y in va_te])
        sw = np.concatenate([np.diff(c) != 0 for c in codes_te])
        heads["switch_rate"] = float(sw.mean())
        heads["dpred_at_switch"] = d_pred[sw].mean(0).tolist()
        heads["dpred_no_switch"] = d_pred[~sw].mean(0).tolist() if (~sw).any() else None
        heads["dtrue_at_switch"] = d_true[sw].mean(0).tolist()
        heads["example"] = {"truth": va_te[0][:, 0].tolist(), "pred": preds_te[0][:, 0].tolist(),
                            "codes": codes_te[0].tolist()}
    if vq.quantize and vq.head_input == "quantised":
        # latent = code vector q + residual r: step-to-step change of each part, and what the heads make of each
        q_te = [vq.quantizer.codebook[torch.as_tensor(c)].numpy() for c in codes_te]
        r_te = [lat - q for lat, q in zip(lat_te, q_te)]
        dq = np.concatenate([np.linalg.norm(np.diff(q, axis=0), axis=1) for q in q_te])
        dr = np.concatenate([np.linalg.norm(np.diff(r, axis=0), axis=1) for r in r_te])
        dz = np.concatenate([np.linalg.norm(np.diff(e["z_e"], axis=0), axis=1) for e in ete])
        heads["dlatent_code_part"] = float(dq.mean())
        heads["dlatent_residual_part"] = float(dr.mean())
        heads["dz_e"] = float(dz.mean())
        r_mean = np.concatenate([lat - vq.quantizer.codebook[torch.as_tensor(c)].numpy()
                                 for lat, c in zip(lat_tr, codes_tr)]).mean(0)
        q_mean = np.concatenate([vq.quantizer.codebook[torch.as_tensor(c)].numpy() for c in codes_tr]).mean(0)
        code_only = test_pred([(q + r_mean).astype(np.float32) for q in q_te])
        res_only = test_pred([(q_mean + r).astype(np.float32) for r in r_te])
        full, y = np.concatenate(preds_te), np.concatenate(va_te)
        for name, pr in (("code_only", code_only), ("residual_only", res_only)):
            pc = np.concatenate(pr)
            heads[name] = {"valence_ccc_vs_truth": ccc(y[:, 0], pc[:, 0]),
                           "valence_r_vs_full_output": float(np.corrcoef(full[:, 0], pc[:, 0])[0, 1]),
                           "valence_var_ratio": float(pc[:, 0].var() / full[:, 0].var())}
    if heads:
        log(f"heads: {json.dumps({k: val for k, val in heads.items() if k != 'example'})}")
    rep["heads"] = heads

    # ---- stage 3: SAC on the held-out training trials, reward terms logged, then the refit
    sac_rep: dict = {}
    if s.enabled and holdout:
        from eegaffect.models.sac import TrajectoryEnv, TrajectoryOptimizer, train_sac

        class LoggedEnv(TrajectoryEnv):
            terms: list = []

            def reset(self, **kw):
                self._acc = {"error": 0.0, "smooth": 0.0, "action": 0.0, "ccc": 0.0, "n": 0}
                return super().reset(**kw)

            def step(self, action):
                i = self._t
                a = np.clip(np.asarray(action, np.float32).reshape(2), -1.0, 1.0)
                y = np.clip(self._ep_base[i] + self.action_scale * a, -1.0, 1.0)
                self._acc["error"] -= self.w_error * float(np.mean((y - self._ep_tgt[i]) ** 2))
                self._acc["action"] -= self.w_action * float(np.mean(a ** 2))
                if not self._ep_first[i]:
                    self._acc["smooth"] -= self.w_smooth * float(np.mean((y - self._prev) ** 2))
                self._acc["n"] += 1
                obs, r, term, trunc, info = super().step(action)
                if term:
                    self._acc["ccc"] = self.w_ccc * info["episode_ccc"]
                    base_ccc = self.w_ccc * __import__("eegaffect.models.sac", fromlist=["x"]).episode_ccc(
                        self._ep_base, self._ep_tgt)
                    LoggedEnv.terms.append({**self._acc, "ccc_of_base": base_ccc,
                                            "error_of_base": -self.w_error * float(np.mean(
                                                np.sum((self._ep_base - self._ep_tgt) ** 2, 0) / 2))})
                return obs, r, term, trunc, info

        model.cpu().eval()
        runs = [chain.run(seqs.features[i]) for i in holdout]
        env = LoggedEnv([r["context"] for r in runs], [r["base_va"] for r in runs], [seqs.va[i] for i in holdout],
                        episode_len=s.episode_len, action_scale=s.action_scale, w_error=s.w_error,
                        w_smooth=s.w_smooth, w_ccc=s.w_ccc, episode_segments=s.episode_segments,
                        w_action=s.w_action)
        t0 = time.perf_counter()
        agent = train_sac(env, s.total_steps, seed=config.seed, net_arch=s.net_arch,
                          learning_starts=s.learning_starts, batch_size=s.batch_size, learning_rate=s.lr)
        log(f"SAC trained in {time.perf_counter() - t0:.0f} s ({len(LoggedEnv.terms)} episodes)")
        sac_rep["reward_terms"] = LoggedEnv.terms
        optim = TrajectoryOptimizer(agent, s.action_scale)

        def sac_eval(tag):
            runs = [chain.run(f) for f in test.features]
            base = [r["base_va"] for r in runs]
            ys = [optim.run(r["context"], r["base_va"]) for r in runs]
            c = np.concatenate([y - b for y, b in zip(ys, base)])
            e = np.concatenate([g - b for g, b in zip(va_te, base)])
            res = {"base": scores(base), "sac": scores(ys),
                   "corr_correction_error": [float(np.corrcoef(c[:, k], e[:, k])[0, 1]) for k in range(2)],
                   "var_correction": c.var(0).tolist(), "var_error": e.var(0).tolist(),
                   "mse_base": (e ** 2).mean(0).tolist(), "mse_sac": ((e - c) ** 2).mean(0).tolist(),
                   "scatter": {"c": c[::3, 0].tolist(), "e": e[::3, 0].tolist()}}
            log(f"SAC on {tag} transformer: " + json.dumps({k: val for k, val in res.items() if k != "scatter"}))
            return res

        sac_rep["before_refit"] = sac_eval("pre-refit")
        if s.refit_steps:
            stage_refit(model, lat_tr, seqs, ctx, run=True)
            model.cpu().eval()
            sac_rep["after_refit"] = sac_eval("refitted (the default path)")
    rep["sac"] = sac_rep
    path = out_dir / f"{args.tag}.json"
    path.write_text(json.dumps(rep, indent=1))
    log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
