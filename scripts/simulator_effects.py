"""Measure the simulated headset's affect effects at the electrodes (the numbers quoted in
``acquisition/simulator.py``'s docstring).

For each of four subjects, 10 minutes of 62-channel EEG at 200 Hz are generated along a fast random walk of
valence and arousal (all artifacts on). Band powers of 2-s windows (Welch, dB) are averaged over a few
electrodes per feature and regressed on the window's mean valence and arousal; the slopes (dB per unit) and the
correlation of the fitted values with the feature are printed, averaged over the subjects.

Run: ``.venv/bin/python scripts/simulator_effects.py [n_subjects]``
"""

from __future__ import annotations

import sys

import numpy as np
from eegaffect.acquisition.simulator import SimulatedEEG, random_walk_trajectory
from scipy.signal import welch

SFREQ = 200.0
WINDOW = int(2 * SFREQ)
BANDS = {"delta": (1, 3), "theta": (4, 7), "alpha": (8, 13), "beta": (14, 30), "gamma": (31, 50)}
#: feature -> (band, electrodes, electrodes subtracted (asymmetry) or None)
FEATURES = {
    "F4-F3 alpha asymmetry": ("alpha", ["F4", "F6"], ["F3", "F5"]),
    "O1/O2/PO7/PO8 alpha": ("alpha", ["O1", "O2", "PO7", "PO8"], None),
    "FZ/FCZ theta": ("theta", ["FZ", "FCZ"], None),
    "FZ/FCZ/CZ beta": ("beta", ["FZ", "FCZ", "CZ"], None),
    "temporal beta": ("beta", ["T7", "T8", "TP7", "TP8"], None),
    "temporal gamma": ("gamma", ["T7", "T8", "FT7", "FT8"], None),
    "frontopolar gamma": ("gamma", ["FP1", "FP2", "FPZ"], None),
    "PZ/POZ delta": ("delta", ["PZ", "POZ"], None),
    "C3/C4 alpha (mu, no effect)": ("alpha", ["C3", "C4"], None),
}


def measure(n_subjects: int = 4) -> dict[str, np.ndarray]:
    rows = []
    for seed in range(n_subjects):
        walk = random_walk_trajectory(600.0, seed=100 + seed, time_constant_s=8.0)
        sim = SimulatedEEG(sfreq=SFREQ, seed=seed, trajectory=walk)
        eeg, va = sim.generate(int(600 * SFREQ))
        n = eeg.shape[0] // WINDOW
        f, p = welch(eeg[:n * WINDOW].reshape(n, WINDOW, -1), fs=SFREQ, nperseg=WINDOW, axis=1)
        design = np.column_stack([np.ones(n), va[:n * WINDOW].reshape(n, WINDOW, 2).mean(axis=1)])
        ch = sim.ch_names
        row = []
        for band, plus, minus in FEATURES.values():
            lo, hi = BANDS[band]
            power_db = 10 * np.log10(p[:, (f >= lo) & (f <= hi)].mean(axis=1))
            y = power_db[:, [ch.index(c) for c in plus]].mean(axis=1)
            if minus:
                y = y - power_db[:, [ch.index(c) for c in minus]].mean(axis=1)
            coef, *_ = np.linalg.lstsq(design, y, rcond=None)
            row.append((coef[1], coef[2], np.corrcoef(design @ coef, y)[0, 1]))
        rows.append(row)
    table = np.asarray(rows).mean(axis=0)
    return dict(zip(FEATURES, table))


if __name__ == "__main__":
    for name, (val, aro, r) in measure(int(sys.argv[1]) if len(sys.argv) > 1 else 4).items():
        print(f"{name:30s} {val:+.1f} dB / valence  {aro:+.1f} dB / arousal  r = {r:.2f}")
