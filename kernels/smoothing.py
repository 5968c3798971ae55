"""Linear dynamical system (LDS) smoothing of feature sequences: causal Kalman filter and RTS smoother.

Every feature (column of a ``(n_steps, n_features)`` sequence, e.g. the DE of one channel and band per window)
is an independent scalar LDS::

    z_t = a * z_{t-1} + w_t,   w_t ~ N(0, process_var)      (latent feature; a = transition, 1 = random walk)
    y_t = z_t + v_t,           v_t ~ N(0, obs_var)          (observed feature)

:func:`kalman_filter` / :class:`KalmanSmoother` return the causal estimate ``E[z_t | y_0..y_t]`` (for live use);
:func:`rts_smooth` returns the Rauch-Tung-Striebel estimate ``E[z_t | y_0..y_{n-1}]`` (offline; the analogue of
the ``de_LDS`` features released with SEED, which smooth DE with such a model). ``process_var / obs_var`` sets
the amount of smoothing: smaller is smoother.

Prior: ``initial_mean=None`` is a diffuse (infinitely wide) prior: the first observation of a feature becomes
its estimate with variance ``obs_var``. Otherwise ``z_0 ~ N(initial_mean, initial_var)``.

NaN policy: a NaN observation is a *missing* value: the filter predicts through it (no update). Before a
feature's first observation under a diffuse prior its causal estimate is NaN; the RTS smoother fills those
leading steps from later observations. ``inf`` is rejected with a ``ValueError``.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_chunk, check_int
from ._jit import jit

__all__ = ["KalmanSmoother", "kalman_filter", "rts_smooth", "warmup"]


@jit
def _kalman_kernel(y, a, q, r, mean, var, seen, started, out_mean, out_var, pred_mean, pred_var):  # pragma: no cover
    """Causal Kalman filter over ``y`` (n_steps, n_features), updating ``mean``/``var``/``seen`` in place.

    ``started`` is False for the first step of a stream (the prior is then the state itself, no prediction).
    Writes filtered means/variances and the one-step predictions (``pred_*``) of every step.
    """
    n_steps, n_feat = y.shape
    for t in range(n_steps):
        predict = started or t > 0
        for f in range(n_feat):
            if predict:
                mp = a[f] * mean[f]
                vp = a[f] * a[f] * var[f] + q[f]
            else:
                mp = mean[f]
                vp = var[f]
            obs = y[t, f]
            if np.isnan(obs):
                mean[f] = mp
                var[f] = vp
            elif not seen[f]:
                mean[f] = obs
                var[f] = r[f]
                seen[f] = True
            else:
                gain = vp / (vp + r[f])
                mean[f] = mp + gain * (obs - mp)
                var[f] = (1.0 - gain) * vp
            if not seen[f]:
                mp = np.nan
                vp = np.inf
                mean[f] = np.nan
                var[f] = np.inf
            pred_mean[t, f] = mp
            pred_var[t, f] = vp
            out_mean[t, f] = mean[f]
            out_var[t, f] = var[f]


@jit
def _rts_kernel(a, q, f_mean, f_var, p_mean, p_var, s_mean, s_var):  # pragma: no cover - compiled
    """Rauch-Tung-Striebel backward pass over filtered (``f_*``) and predicted (``p_*``) moments."""
    n_steps, n_feat = f_mean.shape
    if n_steps == 0:
        return
    for f in range(n_feat):
        s_mean[n_steps - 1, f] = f_mean[n_steps - 1, f]
        s_var[n_steps - 1, f] = f_var[n_steps - 1, f]
    for t in range(n_steps - 2, -1, -1):
        for f in range(n_feat):
            if np.isinf(f_var[t, f]):
                # no observation yet under the diffuse prior: z_t = (z_{t+1} - w) / a
                s_mean[t, f] = s_mean[t + 1, f] / a[f]
                s_var[t, f] = (s_var[t + 1, f] + q[f]) / (a[f] * a[f])
            else:
                gain = f_var[t, f] * a[f] / p_var[t + 1, f]
                s_mean[t, f] = f_mean[t, f] + gain * (s_mean[t + 1, f] - p_mean[t + 1, f])
                s_var[t, f] = f_var[t, f] + gain * gain * (s_var[t + 1, f] - p_var[t + 1, f])


def _per_feature(value, name: str, n_features: int, positive: bool = True) -> np.ndarray:
    """Broadcast a scalar or (n_features,) parameter to a float64 array, checking its range."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a number or an array of shape ({n_features},), got {value!r}") from err
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != n_features):
        raise ValueError(f"{name} must be a number or an array of shape ({n_features},), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and not np.all(arr > 0):
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return np.ascontiguousarray(np.broadcast_to(arr, (n_features,)), dtype=np.float64)


class KalmanSmoother:
    """Streaming causal Kalman filter of feature frames (one scalar LDS per feature; see the module docstring).

    Parameters
    ----------
    n_features : int
        Number of features per frame.
    process_var : float | ndarray, shape (n_features,)
        Variance of the latent feature's step per frame (``> 0``).
    obs_var : float | ndarray, shape (n_features,)
        Variance of the observation noise (``> 0``).
    transition : float | ndarray, shape (n_features,)
        Latent transition ``a`` (non-zero; 1 is a random walk).
    initial_mean : float | ndarray, shape (n_features,) | None
        Prior mean of the first latent state; ``None`` is a diffuse prior.
    initial_var : float | ndarray, shape (n_features,) | None
        Prior variance (``> 0``) when ``initial_mean`` is given; defaults to ``obs_var``.
    """

    def __init__(self, n_features, process_var=1e-2, obs_var=1.0, transition=1.0, initial_mean=None,
                 initial_var=None):
        self.n_features = check_int(n_features, "n_features")
        n = self.n_features
        self.process_var = _per_feature(process_var, "process_var", n)
        self.obs_var = _per_feature(obs_var, "obs_var", n)
        self.transition = _per_feature(transition, "transition", n, positive=False)
        if np.any(self.transition == 0):
            raise ValueError(f"transition must be non-zero, got {transition!r}")
        if initial_mean is None:
            if initial_var is not None:
                raise ValueError("initial_var needs initial_mean (initial_mean=None is a diffuse prior)")
            self.initial_mean = self.initial_var = None
        else:
            self.initial_mean = _per_feature(initial_mean, "initial_mean", n, positive=False)
            self.initial_var = (self.obs_var.copy() if initial_var is None
                                else _per_feature(initial_var, "initial_var", n))
        self.reset()

    def reset(self) -> "KalmanSmoother":
        """Start a new sequence from the prior; returns ``self``."""
        if self.initial_mean is None:
            self._mean = np.full(self.n_features, np.nan)
            self._var = np.full(self.n_features, np.inf)
            self._seen = np.zeros(self.n_features, dtype=np.bool_)
        else:
            self._mean = self.initial_mean.copy()
            self._var = self.initial_var.copy()
            self._seen = np.ones(self.n_features, dtype=np.bool_)
        self._started = False
        return self

    @property
    def mean(self) -> np.ndarray:
        """Current estimate, shape (n_features,) (a copy)."""
        return self._mean.copy()

    @property
    def var(self) -> np.ndarray:
        """Variance of the current estimate, shape (n_features,) (a copy)."""
        return self._var.copy()

    def step(self, frames) -> np.ndarray:
        """Filter the next frames.

        Parameters
        ----------
        frames : ndarray, shape (n_steps, n_features)
            Observed features; NaN marks a missing value, inf is rejected.

        Returns
        -------
        smoothed : ndarray, shape (n_steps, n_features)
            Causal estimates ``E[z_t | y_0..y_t]``, float64.
        """
        return self._run(check_chunk(frames, self.n_features, np.float64, name="frames", allow_nan=True,
                                     columns="features"))[0]

    def _run(self, y: np.ndarray):
        shape = y.shape
        f_mean, f_var, p_mean, p_var = (np.empty(shape) for _ in range(4))
        if shape[0]:
            _kalman_kernel(y, self.transition, self.process_var, self.obs_var, self._mean, self._var, self._seen,
                           self._started, f_mean, f_var, p_mean, p_var)
            self._started = True
        return f_mean, f_var, p_mean, p_var


def _check_seq(seq) -> np.ndarray:
    arr = np.asarray(seq)
    if arr.ndim != 2:
        raise ValueError(f"seq must have shape (n_steps, n_features), got shape {arr.shape}")
    return check_chunk(arr, arr.shape[1], np.float64, name="seq", allow_nan=True, columns="features")


def kalman_filter(seq, process_var=1e-2, obs_var=1.0, transition=1.0, initial_mean=None, initial_var=None,
                  return_var=False):
    """Causal Kalman filter of a whole feature sequence (the streaming :class:`KalmanSmoother` in one call).

    Parameters
    ----------
    seq : ndarray, shape (n_steps, n_features)
        Observed features; NaN marks a missing value.
    process_var, obs_var, transition, initial_mean, initial_var
        Model parameters (see :class:`KalmanSmoother`).
    return_var : bool
        Also return the variances of the estimates.

    Returns
    -------
    mean : ndarray, shape (n_steps, n_features)
        Causal estimates ``E[z_t | y_0..y_t]``.
    var : ndarray, shape (n_steps, n_features)
        Their variances (only with ``return_var=True``).
    """
    y = _check_seq(seq)
    kf = KalmanSmoother(y.shape[1], process_var, obs_var, transition, initial_mean, initial_var)
    f_mean, f_var, _, _ = kf._run(y)
    return (f_mean, f_var) if return_var else f_mean


def rts_smooth(seq, process_var=1e-2, obs_var=1.0, transition=1.0, initial_mean=None, initial_var=None,
               return_var=False):
    """Rauch-Tung-Striebel smoothing of a whole feature sequence (offline, uses future observations).

    Parameters
    ----------
    seq : ndarray, shape (n_steps, n_features)
        Observed features; NaN marks a missing value.
    process_var, obs_var, transition, initial_mean, initial_var
        Model parameters (see :class:`KalmanSmoother`).
    return_var : bool
        Also return the variances of the estimates.

    Returns
    -------
    mean : ndarray, shape (n_steps, n_features)
        Smoothed estimates ``E[z_t | y_0..y_{n-1}]``; NaN only for a feature never observed.
    var : ndarray, shape (n_steps, n_features)
        Their variances (only with ``return_var=True``).
    """
    y = _check_seq(seq)
    kf = KalmanSmoother(y.shape[1], process_var, obs_var, transition, initial_mean, initial_var)
    f_mean, f_var, p_mean, p_var = kf._run(y)
    s_mean, s_var = np.empty_like(f_mean), np.empty_like(f_var)
    _rts_kernel(kf.transition, kf.process_var, f_mean, f_var, p_mean, p_var, s_mean, s_var)
    return (s_mean, s_var) if return_var else s_mean


def warmup() -> None:
    """Compile the Kalman and RTS kernels on a tiny input."""
    rts_smooth(np.array([[0.0, np.nan], [1.0, 2.0], [0.5, 1.0]]))

