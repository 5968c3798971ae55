"""Shared helpers of the physiological tests: real recordings shipped inside pyhrv/heartpy (data files only; the
packages are never imported), synthetic ECG/PPG with known beats, beat matching."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest


def package_file(package: str, relative: str) -> Path:
    """A data file inside an installed package, located without importing the package.

    The real recordings are part of the test setup (``make install`` installs their packages): a missing one fails
    the test with the fix, it never skips the comparison with real data.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pytest.fail(f"{package} is not installed: its data files are test data (make install adds them)")
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.is_file():
        pytest.fail(f"{path} not found in the installed {package}")
    return path


def pyhrv_ecg() -> tuple[np.ndarray, float]:
    """pyhrv's SampleECG.txt: BITalino ECG (channel A2, 10-bit), 1000 Hz, OpenSignals text."""
    data = np.loadtxt(package_file("pyhrv", "files/SampleECG.txt"))
    return data[:, 5].astype(np.float64), 1000.0


def heartpy_ppg(name: str) -> tuple[np.ndarray, float]:
    """heartpy's data.csv (100 Hz), data2.csv (time column ``timer`` in ms) or data3.csv (``datetime``)."""
    path = package_file("heartpy", f"data/{name}")
    if name == "data.csv":
        return np.loadtxt(path), 100.0
    lines = path.read_text().splitlines()[1:]
    times = [ln.split(",")[0] for ln in lines]
    x = np.array([float(ln.split(",")[1]) for ln in lines])
    if name == "data2.csv":
        t = np.array([float(v) for v in times]) / 1000.0
    else:
        t = np.array([np.datetime64(v.replace(" ", "T"), "ns") for v in times]).astype(np.int64) / 1e9
    return x, (len(t) - 1) / (t[-1] - t[0])


def match_beats(found: np.ndarray, truth: np.ndarray, tol: int) -> tuple[int, int, int]:
    """Greedy one-to-one matching within ``tol`` samples: (true positives, n_found, n_truth)."""
    found, truth = np.sort(found), np.sort(truth)
    used = np.zeros(len(truth), bool)
    tp = 0
    for f in found:
        j = np.searchsorted(truth, f)
        best = -1
        for k in (j - 1, j):
            if 0 <= k < len(truth) and not used[k] and abs(truth[k] - f) <= tol:
                if best < 0 or abs(truth[k] - f) < abs(truth[best] - f):
                    best = k
        if best >= 0:
            used[best] = True
            tp += 1
    return tp, len(found), len(truth)


def f1(found: np.ndarray, truth: np.ndarray, tol: int) -> float:
    tp, n_found, n_truth = match_beats(found, truth, tol)
    return 2 * tp / max(n_found + n_truth, 1)


def ecg_template(sfreq: float) -> tuple[np.ndarray, int]:
    """One PQRST complex (sum of Gaussians), and the index of its R peak."""
    t = np.arange(-0.3, 0.45, 1 / sfreq)
    waves = ((-0.18, 0.15, 0.025), (-0.025, -0.12, 0.008), (0.0, 1.0, 0.01), (0.025, -0.25, 0.01),
             (0.25, 0.3, 0.04))
    x = sum(a * np.exp(-0.5 * ((t - c) / w) ** 2) for c, a, w in waves)
    return x, int(np.argmin(np.abs(t)))


def place(template: np.ndarray, centre: int, beats: np.ndarray, n: int, amps=None) -> np.ndarray:
    """Sum of ``template`` copies with their index ``centre`` at each of ``beats``."""
    x = np.zeros(n)
    for k, b in enumerate(beats):
        a = 1.0 if amps is None else amps[k]
        lo = b - centre
        seg = template[max(0, -lo): min(len(template), n - lo)]
        x[max(0, lo): max(0, lo) + len(seg)] += a * seg
    return x


def regular_beats(rng: np.random.Generator, duration_s: float, sfreq: float, rr_s: float = 0.8,
                  start_s: float = 0.5) -> np.ndarray:
    """Beat samples with respiratory-like modulation (+-5 %) and jitter (1 %)."""
    beats, t = [], start_s
    while t < duration_s - 0.5:
        beats.append(int(round(t * sfreq)))
        rr = rr_s * (1 + 0.05 * np.sin(2 * np.pi * 0.25 * t) + 0.01 * rng.standard_normal())
        t += rr
    return np.array(beats)


def kind_signal(kind: str, seed: int = 0) -> tuple[np.ndarray, float]:
    """A short synthetic recording of every signal kind, with its rate: ECG from :func:`ecg_template` (40 s, 100 Hz),
    PPG / EDA / respiration / EMG from NeuroKit2's simulators (seeded), skin temperature a warming ramp."""
    import warnings

    rng = np.random.default_rng(seed)
    if kind == "ecg":
        tpl, c = ecg_template(100.0)
        n = 4000
        return place(tpl, c, regular_beats(rng, 40.0, 100.0), n) + 0.01 * rng.standard_normal(n), 100.0
    if kind == "temp":
        t = np.arange(240) / 4.0
        return 33.0 + 0.01 * t + 0.005 * rng.standard_normal(t.size), 4.0
    import neurokit2 as nk
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NeuroKit2's own notices
        if kind == "ppg":
            return nk.ppg_simulate(duration=40, sampling_rate=50, heart_rate=70, random_state=seed + 2), 50.0
        if kind == "eda":
            return nk.eda_simulate(duration=60, sampling_rate=16, scr_number=5, drift=0.0, noise=0.01,
                                   random_state=seed + 3), 16.0
        if kind == "resp":
            return nk.rsp_simulate(duration=60, sampling_rate=25, respiratory_rate=15, noise=0.02,
                                   random_state=seed + 4), 25.0
        if kind == "emg":
            return nk.emg_simulate(duration=10, sampling_rate=500, burst_number=3, random_state=seed + 5), 500.0
    raise ValueError(f"no synthetic signal for kind {kind!r}")
