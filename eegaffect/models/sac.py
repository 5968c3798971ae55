"""SAC trajectory optimiser: a policy that corrects the transformer's valence/arousal trajectory.

The environment (:class:`TrajectoryEnv`) replays sequences the transformer has already processed. At step t:

- observation = ``[context_t (d_ctx), base_t (2), y_{t-1} (2)]``: the transformer's context vector, its own V/A
  estimate, and the previous output of the optimiser (``y_{-1} = base_0``), clipped to ``[-obs_clip, obs_clip]``;
- action ``a_t`` in ``[-1, 1]^2``: a bounded correction, output ``y_t = clip(base_t + action_scale * a_t, -1, 1)``;
- reward ``r_t = -w_error * mean((y_t - target_t)^2) - w_smooth * mean((y_t - y_{t-1})^2)
  - w_action * mean(a_t^2)`` (no smoothness term on a segment's first step), and on the episode's last step
  additionally ``+ w_ccc * mean_d CCC(y[:, d], target[:, d])`` over the whole episode (sequence-level agreement;
  a constant trajectory has CCC 0).

An episode is ``episode_segments`` windows of ``episode_len`` steps (or whole sequences when shorter/None), each
from a sequence drawn with the environment's seeded ``np_random``; each segment starts like a fresh stream
(previous output = its base). Spanning several sequences makes the CCC term score agreement *across* trials, as
the evaluation does, not only the small variation inside one trial. Training uses stable-baselines3 SAC with small
networks; inference uses the deterministic policy (the tanh of the actor mean) through :class:`TrajectoryOptimizer`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import gymnasium as gym
import numpy as np

from eegaffect.benchmark.metrics import ccc

__all__ = ["TrajectoryEnv", "TrajectoryOptimizer", "train_sac", "episode_ccc"]


def episode_ccc(y: np.ndarray, target: np.ndarray) -> float:
    """Mean over columns of :func:`eegaffect.benchmark.metrics.ccc`, as a reward term.

    Parameters
    ----------
    y, target : ndarray, shape (n_steps, n_outputs)
        Outputs and targets of an episode.

    Returns
    -------
    ccc : float
        A column whose CCC is undefined (output and target both constant and equal) counts 0: a reward must be a
        number, and an episode that gives no evidence of agreement earns none.
    """
    y, target = np.asarray(y, float), np.asarray(target, float)
    values = [ccc(target[:, k], y[:, k]) for k in range(y.shape[1])]
    return float(np.mean([0.0 if np.isnan(v) else v for v in values]))


class TrajectoryEnv(gym.Env):
    """Gymnasium environment for trajectory-level correction (see the module docstring).

    Parameters
    ----------
    contexts : sequence of ndarray, shape (n_steps, d_ctx)
        Transformer context vectors per sequence.
    base : sequence of ndarray, shape (n_steps, 2)
        The transformer's V/A per step.
    targets : sequence of ndarray, shape (n_steps, 2)
        Ground-truth V/A per step.
    episode_len : int | None
        Steps per segment (None: whole sequences).
    episode_segments : int
        Segments (from randomly drawn sequences) per episode; the CCC term spans all of them.
    action_scale : float
        Largest correction per output.
    w_error, w_smooth, w_ccc, w_action : float
        Reward weights.
    obs_clip : float
        Observation bound.
    """

    metadata = {"render_modes": []}

    def __init__(self, contexts: Sequence[np.ndarray], base: Sequence[np.ndarray], targets: Sequence[np.ndarray],
                 episode_len: int | None = 32, action_scale: float = 0.5, w_error: float = 1.0,
                 w_smooth: float = 0.5, w_ccc: float = 1.0, obs_clip: float = 10.0, episode_segments: int = 1,
                 w_action: float = 0.0):
        super().__init__()
        if not (len(contexts) == len(base) == len(targets)) or not contexts:
            raise ValueError(f"expected equally many (>= 1) contexts, base and targets, got {len(contexts)}, "
                             f"{len(base)}, {len(targets)}")
        if episode_segments < 1:
            raise ValueError(f"episode_segments must be >= 1, got {episode_segments}")
        self._ctx = [np.asarray(c, np.float32) for c in contexts]
        self._base = [np.asarray(b, np.float32) for b in base]
        self._tgt = [np.asarray(t, np.float32) for t in targets]
        d_ctx = self._ctx[0].shape[1]
        for c, b, t in zip(self._ctx, self._base, self._tgt):
            if c.ndim != 2 or c.shape[1] != d_ctx or b.shape != (len(c), 2) or t.shape != (len(c), 2) or not len(c):
                raise ValueError(f"expected context (n, {d_ctx}), base (n, 2), targets (n, 2) with n >= 1, got "
                                 f"{c.shape}, {b.shape}, {t.shape}")
        self.episode_len, self.episode_segments = episode_len, int(episode_segments)
        self.action_scale, self.w_error, self.w_smooth, self.w_ccc = action_scale, w_error, w_smooth, w_ccc
        self.w_action = float(w_action)
        self.obs_clip = float(obs_clip)
        self.observation_space = gym.spaces.Box(-self.obs_clip, self.obs_clip, (d_ctx + 4,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self._ep_ctx = self._ctx[0][:1]
        self._ep_base = self._base[0][:1]
        self._ep_tgt = self._tgt[0][:1]
        self._ep_first = np.ones(1, bool)
        self._t = 0
        self._prev = np.zeros(2, np.float32)
        self._outputs: list[np.ndarray] = []

    def _obs(self) -> np.ndarray:
        i = self._t
        obs = np.concatenate([self._ep_ctx[i], self._ep_base[i], self._prev])
        return np.clip(obs, -self.obs_clip, self.obs_clip).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start an episode of ``episode_segments`` random segments; return the first observation and ``{}``."""
        super().reset(seed=seed)
        parts = []
        for _ in range(self.episode_segments):
            k = int(self.np_random.integers(len(self._ctx)))
            n = len(self._ctx[k])
            length = n if self.episode_len is None else min(n, int(self.episode_len))
            start = int(self.np_random.integers(n - length + 1))
            parts.append((k, slice(start, start + length)))
        self._ep_ctx = np.concatenate([self._ctx[k][sl] for k, sl in parts])
        self._ep_base = np.concatenate([self._base[k][sl] for k, sl in parts])
        self._ep_tgt = np.concatenate([self._tgt[k][sl] for k, sl in parts])
        self._ep_first = np.concatenate([np.arange(sl.stop - sl.start) == 0 for _, sl in parts])
        self._t = 0
        self._prev = self._ep_base[0].copy()
        self._outputs = []
        return self._obs(), {}

    def step(self, action):
        """Apply a correction to the current base output and advance one step.

        Parameters
        ----------
        action : array-like, shape (2,)
            Correction in [-1, 1], scaled by ``action_scale`` and added to the base valence/arousal.

        Returns
        -------
        observation : ndarray, shape (n_context + 4,)
            Context, base output and previous output of the next step.
        reward : float
            Negative weighted squared error, action size and roughness; the episode's CCC is added at the end.
        terminated : bool
            Whether the episode's last step was taken.
        truncated : bool
            Always False.
        info : dict
            ``episode_ccc`` on the last step.
        """
        i = self._t
        a = np.clip(np.asarray(action, np.float32).reshape(2), -1.0, 1.0)
        y = np.clip(self._ep_base[i] + self.action_scale * a, -1.0, 1.0).astype(np.float32)
        reward = -self.w_error * float(np.mean((y - self._ep_tgt[i]) ** 2))
        reward -= self.w_action * float(np.mean(a ** 2))
        if not self._ep_first[i]:
            reward -= self.w_smooth * float(np.mean((y - self._prev) ** 2))
        self._outputs.append(y)
        self._t += 1
        terminated = self._t >= len(self._ep_base)
        info = {}
        if terminated:
            ccc = episode_ccc(np.stack(self._outputs), self._ep_tgt)
            reward += self.w_ccc * ccc
            info["episode_ccc"] = ccc
            self._t -= 1  # the last observation repeats the final step's inputs
            self._prev = y
        else:  # a new segment starts a new sequence: its previous output is its own base, as at inference
            self._prev = self._ep_base[self._t].copy() if self._ep_first[self._t] else y
        return self._obs(), float(reward), terminated, False, info


def train_sac(env: TrajectoryEnv, total_steps: int = 2000, seed: int = 0, net_arch: Sequence[int] = (64, 64),
              learning_starts: int = 200, batch_size: int = 64, learning_rate: float = 1e-3, device: str = "cpu",
              progress: bool = False):
    """Train stable-baselines3 SAC on ``env`` (seeded: the same seed gives the same policy on CPU).

    Parameters
    ----------
    env : TrajectoryEnv
        The environment.
    total_steps : int
        Environment steps.
    seed : int
        Seed of SAC, its networks and the environment.
    net_arch : sequence of int
        Hidden sizes of the actor and critics.
    learning_starts, batch_size, learning_rate : see ``stable_baselines3.SAC``.
    device : str
        Torch device.
    progress : bool
        Show a progress bar.

    Returns
    -------
    model : stable_baselines3.SAC
    """
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}")
    from stable_baselines3 import SAC

    model = SAC("MlpPolicy", env, seed=int(seed), learning_starts=min(learning_starts, total_steps),
                batch_size=batch_size, learning_rate=learning_rate, buffer_size=max(total_steps, 1000),
                policy_kwargs={"net_arch": list(net_arch)}, device=device, verbose=0)
    # sb3's own progress_bar needs `rich`, which is not a dependency: drive eegaffect's tqdm bar from a callback.
    callback = _progress_callback(int(total_steps)) if progress else None
    try:
        model.learn(total_timesteps=int(total_steps), progress_bar=False, callback=callback)
    finally:
        if callback is not None:
            callback.bar.close()
    return model


def _progress_callback(total_steps: int):
    """An sb3 callback that advances an :func:`eegaffect._progress.progress` bar by one per environment step."""
    from stable_baselines3.common.callbacks import BaseCallback

    from eegaffect._progress import progress

    class _ProgressCallback(BaseCallback):
        def __init__(self):
            super().__init__()
            self.bar = progress(total=total_steps, desc="sac", unit="step", leave=False)

        def _on_step(self) -> bool:
            self.bar.update(self.training_env.num_envs)
            return True

    return _ProgressCallback()


class TrajectoryOptimizer:
    """Deterministic inference with a trained SAC policy, one step at a time.

    Parameters
    ----------
    model : stable_baselines3.SAC
        The trained agent.
    action_scale : float
        As in the environment it was trained in.
    obs_clip : float
        As in the environment.
    """

    def __init__(self, model, action_scale: float = 0.5, obs_clip: float = 10.0):
        self.model = model
        self.action_scale, self.obs_clip = float(action_scale), float(obs_clip)
        self.model.policy.set_training_mode(False)
        self._prev: np.ndarray | None = None

    @classmethod
    def load(cls, path: str | Path, action_scale: float = 0.5, obs_clip: float = 10.0) -> "TrajectoryOptimizer":
        """Load an sb3 SAC zip saved by :meth:`save` (on CPU)."""
        from stable_baselines3 import SAC

        return cls(SAC.load(str(path), device="cpu"), action_scale, obs_clip)

    def save(self, path: str | Path) -> Path:
        """Save the policy as an sb3 zip; returns the path."""
        path = Path(path)
        self.model.save(str(path))
        return path if path.suffix == ".zip" else path.with_suffix(".zip")

    def reset(self) -> None:
        """Forget the previous output (start of a new sequence)."""
        self._prev = None

    def act(self, context: np.ndarray, base: np.ndarray, prev: np.ndarray | None) -> np.ndarray:
        """Corrected output for one step, without touching state.

        Parameters
        ----------
        context : ndarray, shape (d_ctx,)
        base : ndarray, shape (2,)
        prev : ndarray, shape (2,) | None
            Previous output (None at the start of a sequence: ``base`` is used, as in the environment).

        Returns
        -------
        y : ndarray of float32, shape (2,)
        """
        import torch

        base = np.asarray(base, np.float32).reshape(2)
        prev = base if prev is None else np.asarray(prev, np.float32).reshape(2)
        obs = np.clip(np.concatenate([np.asarray(context, np.float32).ravel(), base, prev]),
                      -self.obs_clip, self.obs_clip).astype(np.float32)
        with torch.no_grad():
            a = self.model.policy.actor(torch.as_tensor(obs[None]), deterministic=True)[0].numpy()
        return np.clip(base + self.action_scale * np.clip(a, -1, 1), -1.0, 1.0).astype(np.float32)

    def step(self, context: np.ndarray, base: np.ndarray) -> np.ndarray:
        """Correct one step with the previous output carried (see :meth:`act`)."""
        self._prev = self.act(context, base, self._prev)
        return self._prev

    def run(self, contexts: np.ndarray, base: np.ndarray) -> np.ndarray:
        """Correct a whole sequence from a fresh start; contexts (n, d_ctx), base (n, 2) -> (n, 2)."""
        self.reset()
        return np.stack([self.step(c, b) for c, b in zip(contexts, base)]) if len(base) else np.zeros((0, 2),
                                                                                                       np.float32)
