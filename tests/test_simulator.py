"""The simulated headset's generator: streaming determinism, spectra, artifacts and affect effects of the right size."""

from __future__ import annotations

import re

import numpy as np
import pytest
from eegaffect.acquisition import channels
from eegaffect.acquisition.channels import CHANNEL_SETS, SEED_CHANNELS, STANDARD_32, STANDARD_64
from eegaffect.acquisition.sim import (
    RHYTHM_SOURCES,
    RandomWalkTrajectory,
    SimulatedEEG,
    Trajectory,
    electrode_positions,
    random_walk_trajectory,
    scripted_trajectory,
    sources,
    trajectory_from_csv,
)
from scipy.signal import welch

BANDS = {"delta": (1, 3), "theta": (4, 7), "alpha": (8, 13), "beta": (14, 30), "gamma": (31, 50)}


def _band_db(eeg, sfreq, win, band):
    """Band power (dB) per non-overlapping window, shape (n_windows, n_chans), by Welch (the reference PSD)."""
    n = eeg.shape[0] // win
    f, p = welch(eeg[:n * win].reshape(n, win, -1), fs=sfreq, nperseg=win, axis=1)
    lo, hi = BANDS[band]
    return 10 * np.log10(p[:, (f >= lo) & (f <= hi)].mean(axis=1))


def _window_mean(x, win):
    n = x.shape[0] // win
    return x[:n * win].reshape(n, win, -1).mean(axis=1)


# --- electrode table ----------------------------------------------------------------------------------------------

def test_position_table_equals_montage_module():
    """The packaged CSV is what scripts/make_electrode_positions.py writes from eegaffect.montage."""
    from eegaffect.montage import channel_key, channel_positions, template_positions

    # the table also keeps old 10-20 names (T3 ...); under the project's channel key they are their 10-10 sites
    assert {channel_key(k) for k in channels._position_table()} == set(template_positions())
    for name, chans in CHANNEL_SETS.items():
        np.testing.assert_array_equal(electrode_positions(chans), channel_positions(chans), err_msg=name)


def test_unknown_channel_is_named_and_ch_pos_fills_in():
    with pytest.raises(ValueError, match=r"\['EXG1'\]"):
        SimulatedEEG(["Cz", "EXG1"], 200.0)
    sim = SimulatedEEG(["Cz", "EXG1"], 200.0, ch_pos={"EXG1": [0.0, -0.05, 0.09]})
    eeg, _ = sim.generate(10)
    assert eeg.shape == (10, 2)
    with pytest.raises(ValueError, match=r"shape \(2, 3\)"):
        SimulatedEEG(["Cz", "Pz"], 200.0, ch_pos=np.zeros((3, 3)))


# --- streaming and determinism -----------------------------------------------------------------------------------

@pytest.mark.parametrize("chans, sfreq", [(SEED_CHANNELS, 200.0), (STANDARD_32, 250.0), (STANDARD_64, 500.0),
                                          (STANDARD_64, 1000.0)])
def test_any_chunking_gives_identical_output(chans, sfreq, rng):
    n_total = int(3.7 * sfreq)
    whole, va_whole = SimulatedEEG(chans, sfreq, seed=3).generate(n_total)
    sim = SimulatedEEG(chans, sfreq, seed=3)
    parts, vas, done = [], [], 0
    while done < n_total:
        n = int(min(rng.integers(0, int(0.6 * sfreq)), n_total - done))
        eeg, va = sim.generate(n)
        assert eeg.shape == (n, len(chans)) and va.shape == (n, 2)
        parts.append(eeg)
        vas.append(va)
        done += n
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    np.testing.assert_array_equal(np.concatenate(vas), va_whole)
    assert sim.n_generated == n_total
    assert whole.dtype == np.float64 and np.all(np.isfinite(whole))


def test_seeded_and_subject_traits():
    a, _ = SimulatedEEG(sfreq=200.0, seed=7).generate(500)
    b, _ = SimulatedEEG(sfreq=200.0, seed=7).generate(500)
    c, _ = SimulatedEEG(sfreq=200.0, seed=8).generate(500)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    same_person = [SimulatedEEG(sfreq=200.0, seed=s, subject=4) for s in (1, 2)]
    assert same_person[0].subject_traits.iaf_hz == same_person[1].subject_traits.iaf_hz
    assert SimulatedEEG(sfreq=200.0, seed=1).subject_traits.iaf_hz != same_person[0].subject_traits.iaf_hz
    # Session traits follow `session`, independent of the noise seed.
    g1 = SimulatedEEG(sfreq=200.0, seed=1, subject=4, session=9).session_traits.channel_gain
    g2 = SimulatedEEG(sfreq=200.0, seed=2, subject=4, session=9).session_traits.channel_gain
    np.testing.assert_array_equal(g1, g2)


def test_units_volts_and_microvolts():
    volts, va_v = SimulatedEEG(sfreq=200.0, seed=2).generate(400)
    micro, va_u = SimulatedEEG(sfreq=200.0, seed=2, unit="uV").generate(400)
    np.testing.assert_allclose(volts * 1e6, micro, rtol=1e-12)
    np.testing.assert_array_equal(va_v, va_u)
    rms = np.sqrt(np.mean(micro ** 2))
    assert 5 < rms < 100, f"scalp EEG is tens of µV, got {rms:.1f} µV RMS"


@pytest.mark.parametrize("kwargs, match", [
    ({"sfreq": 50.0}, "sfreq >= 100"),
    ({"seed": -1}, "non-negative int"),
    ({"unit": "mV"}, "unit 'V' or 'uV'"),
    ({"line_hz": 150.0}, "Nyquist"),
    ({"trajectory": 3}, "callable"),
    ({"ch_names": ["Cz", "CZ"]}, "duplicated"),
])
def test_bad_arguments_are_explained(kwargs, match):
    args = {"ch_names": SEED_CHANNELS, "sfreq": 200.0, **kwargs}
    with pytest.raises((ValueError, TypeError), match=match):
        SimulatedEEG(**args)


def test_trajectory_out_of_range_is_an_error():
    sim = SimulatedEEG(sfreq=200.0, trajectory=lambda t: np.full((t.shape[0], 2), 1.5))
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        sim.generate(10)


# --- spectra and artifacts ----------------------------------------------------------------------------------------

def test_spectrum_is_one_over_f_with_an_alpha_peak():
    sim = SimulatedEEG(sfreq=200.0, seed=11, blinks=False, muscle=False, line_hz=None, drift=False,
                       effect_scale=0.0)
    eeg, _ = sim.generate(200 * 120)
    f, p = welch(eeg, fs=200.0, nperseg=800, axis=0)
    o1 = p[:, sim.ch_names.index("O1")]
    # Aperiodic slope from a log-log fit outside the alpha band: clearly negative, like scalp EEG (-1 to -2.5).
    fit = ((f >= 2) & (f <= 7)) | ((f >= 15) & (f <= 45))
    slope, intercept = np.polyfit(np.log10(f[fit]), np.log10(o1[fit]), 1)
    assert -3.0 < slope < -0.8, slope
    # The alpha peak stands several dB above the 1/f fit, at the subject's IAF.
    alpha = (f >= 7) & (f <= 14)
    excess_db = 10 * (np.log10(o1[alpha]) - (intercept + slope * np.log10(f[alpha])))
    assert excess_db.max() > 6
    assert abs(f[alpha][np.argmax(excess_db)] - sim.subject_traits.iaf_hz) <= 1.0
    # Posterior alpha dominates frontal alpha (topography).
    fz = p[:, sim.ch_names.index("FZ")]
    assert o1[alpha].sum() > 3 * fz[alpha].sum()


def test_line_noise_blinks_and_drift_can_be_switched():
    base = dict(sfreq=200.0, seed=4, muscle=False, effect_scale=0.0)
    on, _ = SimulatedEEG(**base).generate(200 * 60)
    off, _ = SimulatedEEG(**base, line_hz=None, blinks=False, drift=False).generate(200 * 60)
    f, p_on = welch(on, fs=200.0, nperseg=4000, axis=0)  # 0.05 Hz bins: a sinusoid stands out
    _, p_off = welch(off, fs=200.0, nperseg=4000, axis=0)
    k50 = np.argmin(abs(f - 50))
    assert np.all(p_on[k50] > 3 * p_off[k50]), "a 50 Hz line peak on every channel"
    sim = SimulatedEEG(**base)
    fp1, o1 = sim.ch_names.index("FP1"), sim.ch_names.index("O1")
    diff = (on - off) * 1e6  # blinks + drift + line, in µV
    assert np.max(diff[:, fp1]) > 40, "blinks reach tens of µV at the frontopolar sites"
    assert np.max(np.abs(diff[:, o1])) < 0.6 * np.max(np.abs(diff[:, fp1]))
    # Slow drift: the difference has most of its power below 0.5 Hz on a posterior channel.
    f_d, p_d = welch(diff[:, o1], fs=200.0, nperseg=200 * 20)
    assert p_d[f_d < 0.5].sum() > p_d[(f_d > 0.5) & (f_d < 45)].sum()


def test_muscle_bursts_are_temporal_and_high_frequency():
    base = dict(sfreq=200.0, seed=6, blinks=False, line_hz=None, drift=False, effect_scale=0.0)
    with_emg, _ = SimulatedEEG(**base).generate(200 * 120)
    without, _ = SimulatedEEG(**base, muscle=False).generate(200 * 120)
    emg = (with_emg - without) * 1e6
    names = SEED_CHANNELS
    t7, cz = names.index("T7"), names.index("CZ")
    assert np.std(emg[:, t7]) > 1.0 and np.std(emg[:, t7]) > 5 * np.std(emg[:, cz])
    f, p = welch(emg[:, t7], fs=200.0, nperseg=400)
    assert p[(f > 30) & (f < 100)].mean() > 10 * p[f < 10].mean()


# --- affect effects ----------------------------------------------------------------------------------------------

def test_frontal_alpha_asymmetry_tracks_valence_moderately():
    """In a noisy minute whose valence sweeps up and down, F4-F3 alpha asymmetry follows it: clearly, not perfectly."""
    sweep = scripted_trajectory([(0, -1, 0), (15, 1, 0), (30, -1, 0), (45, 1, 0), (60, -1, 0)])
    rs = []
    for seed in range(4):
        sim = SimulatedEEG(sfreq=200.0, seed=seed, trajectory=sweep)
        eeg, va = sim.generate(200 * 60)
        alpha = _band_db(eeg, 200.0, 400, "alpha")
        ch = sim.ch_names
        faa = alpha[:, [ch.index("F4"), ch.index("F6")]].mean(1) - alpha[:, [ch.index("F3"), ch.index("F5")]].mean(1)
        rs.append(np.corrcoef(faa, _window_mean(va, 400)[:, 0])[0, 1])
    rs = np.array(rs)
    assert np.all(rs > 0.1) and rs.mean() > 0.3, rs
    assert np.all(rs < 0.95), rs


def test_arousal_lowers_posterior_alpha_and_raises_beta_gamma():
    walk = random_walk_trajectory(300, seed=21, time_constant_s=8.0)
    sim = SimulatedEEG(sfreq=200.0, seed=5, trajectory=walk)
    eeg, va = sim.generate(200 * 300)
    ch = sim.ch_names
    aro = _window_mean(va, 400)[:, 1]
    occ_alpha = _band_db(eeg, 200.0, 400, "alpha")[:, [ch.index(c) for c in ("O1", "O2", "PO7", "PO8")]].mean(1)
    fc_beta = _band_db(eeg, 200.0, 400, "beta")[:, [ch.index(c) for c in ("FZ", "FCZ", "CZ")]].mean(1)
    t_gamma = _band_db(eeg, 200.0, 400, "gamma")[:, [ch.index(c) for c in ("T7", "T8", "FT7", "FT8")]].mean(1)
    r_alpha = np.corrcoef(occ_alpha, aro)[0, 1]
    r_beta = np.corrcoef(fc_beta, aro)[0, 1]
    r_gamma = np.corrcoef(t_gamma, aro)[0, 1]
    assert -0.9 < r_alpha < -0.15 and 0.15 < r_beta < 0.9 and 0.15 < r_gamma < 0.9, (r_alpha, r_beta, r_gamma)


def test_effect_scale_zero_removes_the_affect_signal():
    sweep = scripted_trajectory([(0, -1, -1), (30, 1, 1), (60, -1, -1), (90, 1, 1), (120, -1, -1)])
    sim = SimulatedEEG(sfreq=200.0, seed=2, trajectory=sweep, effect_scale=0.0)
    eeg, va = sim.generate(200 * 120)
    ch = sim.ch_names
    occ_alpha = _band_db(eeg, 200.0, 400, "alpha")[:, ch.index("O1")]
    r = np.corrcoef(occ_alpha, _window_mean(va, 400)[:, 1])[0, 1]
    assert abs(r) < 0.3, r


def test_docstring_table_matches_the_sources():
    rows = re.findall(r"^([a-z]+-[a-z-]+)\s+(\S+)\s+((?:[A-Z0-9]+ )*[A-Z0-9]+)\s+([\d.]+)\s+([+-][\d.]+)\s+"
                      r"([+-][\d.]+)\s+(\S+)\s*$", sources.__doc__, flags=re.M)
    assert len(rows) == len(RHYTHM_SOURCES)
    for row, src in zip(rows, RHYTHM_SOURCES):
        name, peak, sites, amp, val, aro, lr = row
        assert name == src.name and tuple(sites.split()) == src.sites
        assert (float(amp), float(val), float(aro)) == (src.amplitude_uv, src.valence_db, src.arousal_db)
        expected_peak = (f"IAF{src.peak_hz:+.1f}" if src.peak_hz else "IAF") if src.relative_to_iaf \
            else f"{src.peak_hz:g}"
        assert peak == expected_peak
        assert lr == ("-" if src.partner is None else f"{src.coupling:.1f}")


def test_homologous_sources_are_coherent():
    """Left and right frontal alpha share most of their time course, so the asymmetry index is not pure noise."""
    sim = SimulatedEEG(sfreq=200.0, seed=1, effect_scale=0.0, blinks=False, muscle=False, line_hz=None,
                       drift=False)
    eeg, _ = sim.generate(200 * 60)
    alpha = _band_db(eeg, 200.0, 200, "alpha")
    ch = sim.ch_names
    r_frontal = np.corrcoef(alpha[:, ch.index("F3")], alpha[:, ch.index("F4")])[0, 1]
    r_far = np.corrcoef(alpha[:, ch.index("F3")], alpha[:, ch.index("O2")])[0, 1]
    assert r_frontal > 0.4 and r_frontal > r_far + 0.2, (r_frontal, r_far)


# --- trajectories ------------------------------------------------------------------------------------------------

def test_random_walk_is_smooth_bounded_seeded_and_prefix_stable():
    t = np.arange(0, 600, 0.05)
    walk = random_walk_trajectory(None, seed=3)
    va = walk(t)
    assert va.shape == (t.size, 2)
    assert np.all(np.abs(va) < 1) and va.std(axis=0).min() > 0.15
    assert np.max(np.abs(np.diff(va, axis=0))) < 0.05, "smooth: small steps between 50-ms samples"
    np.testing.assert_array_equal(random_walk_trajectory(None, seed=3)(t), va)
    finite = random_walk_trajectory(100.0, seed=3)
    np.testing.assert_array_equal(finite(t[t <= 100]), va[t <= 100])
    np.testing.assert_array_equal(finite([150.0, 300.0]), np.repeat(finite([100.0]), 2, axis=0))
    assert not np.allclose(random_walk_trajectory(None, seed=4)(t), va)
    assert isinstance(walk, RandomWalkTrajectory) and walk.duration_s == np.inf


def test_scripted_and_csv_trajectories(tmp_path):
    traj = scripted_trajectory([(0, -0.5, 0.0), (10, 0.5, 1.0)])
    np.testing.assert_allclose(traj([-1.0, 0.0, 5.0, 10.0, 20.0]),
                               [[-0.5, 0.0], [-0.5, 0.0], [0.0, 0.5], [0.5, 1.0], [0.5, 1.0]])
    path = traj.to_csv(tmp_path / "traj.csv")
    again = trajectory_from_csv(path)
    np.testing.assert_allclose(again.values, traj.values)
    np.testing.assert_allclose(again.times_s, traj.times_s)
    other = tmp_path / "reordered.csv"
    other.write_text("# comment\narousal,note,time_s,valence\n0.1,x,0,0.2\n0.3,y,2,0.4\n")
    np.testing.assert_allclose(trajectory_from_csv(other)([1.0]), [[0.3, 0.2]])
    sim = SimulatedEEG(sfreq=200.0, trajectory=trajectory_from_csv(path))
    _, va = sim.generate(2001)
    np.testing.assert_allclose(va[-1], [0.5, 1.0])
    np.testing.assert_allclose(va[1000], [0.0, 0.5])


@pytest.mark.parametrize("text, match", [
    ("time_s,valence\n0,0\n", "missing \\['arousal'\\]"),
    ("time_s,valence,arousal\n0,0,0\n1,abc,0\n", "row 3"),
    ("time_s,valence,arousal\n0,0,0\n0,0.5,0\n", "strictly increasing"),
    ("time_s,valence,arousal\n0,0,2\n", "\\[-1, 1\\]"),
    ("time_s,valence,arousal\n", "at least one data row"),
])
def test_bad_csv_is_explained(tmp_path, text, match):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=match) as info:
        trajectory_from_csv(path)
    assert str(path) in str(info.value)


def test_trajectory_validation():
    with pytest.raises(ValueError, match=r"shape \(n_points, 3\)"):
        scripted_trajectory([(0, 1)])
    with pytest.raises(ValueError, match="shape"):
        Trajectory([0, 1], [[0, 0]])
    with pytest.raises(ValueError, match="centre"):
        random_walk_trajectory(10, seed=0, centre=(1.0, 0.0))


def test_eye_movements_are_horizontal_eog():
    """Saccades: steps of opposite sign at F7 and F8, held between saccades, negligible at the back."""
    base = dict(sfreq=200.0, seed=8, muscle=False, blinks=False, drift=False, line_hz=None, effect_scale=0.0)
    with_eog, _ = SimulatedEEG(**base).generate(200 * 60)
    without, _ = SimulatedEEG(**base, eye_movements=False).generate(200 * 60)
    eog = (with_eog - without) * 1e6
    ch = SEED_CHANNELS
    f7, f8, o1 = eog[:, ch.index("F7")], eog[:, ch.index("F8")], eog[:, ch.index("O1")]
    assert np.corrcoef(f7, f8)[0, 1] < -0.9
    assert 5 < np.std(f8) < 100 and np.std(o1) < 0.1 * np.std(f8)
    steps = np.abs(np.diff(f8))
    assert np.mean(steps < 1e-9) > 0.8, "the gaze is held between saccades"
    sim = SimulatedEEG(**base)
    parts = [sim.generate(n)[0] for n in (3, 397, 5, 11595)]  # saccades straddle block edges
    np.testing.assert_array_equal(np.concatenate(parts), with_eog)


def test_old_module_paths_re_export_the_sim_package():
    """``eegaffect.acquisition.simulator`` and ``.simulate`` stay importable and hand out the same objects."""
    from eegaffect.acquisition import sim, simulate, simulator

    for module in (simulator, simulate):
        assert module.__all__ and all(getattr(module, name) is getattr(sim, name) for name in module.__all__)
    # every old name still comes from the package; names added since (the devices) live only in the package
    assert set(simulator.__all__) | set(simulate.__all__) <= set(sim.__all__)
    old = set(simulator.__all__) | set(simulate.__all__)
    assert {"SimulatedEEG", "SimulatedHeadset", "random_walk_trajectory"} <= old

