"""Tiny fixture datasets written in the exact on-disk layouts of DATA_FORMATS.md (independent of eegaffect's writers).

Every trial's samples encode where they came from, so a test can check that a reader returned the right trial of
the right session of the right subject: ``data[ch, t] = code + ch + t / 1e4`` with
``code = subject * 1e5 + session * 1e4 + trial * 100`` (in the files' own ``(n_chans, n_times)`` layout).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io

SEED_CHANNELS = tuple(
    "FP1 FPZ FP2 AF3 AF4 F7 F5 F3 F1 FZ F2 F4 F6 F8 FT7 FC5 FC3 FC1 FCZ FC2 FC4 FC6 FT8 T7 C5 C3 C1 CZ C2 C4 C6 T8 "
    "TP7 CP5 CP3 CP1 CPZ CP2 CP4 CP6 TP8 P7 P5 P3 P1 PZ P2 P4 P6 P8 PO7 PO5 PO3 POZ PO4 PO6 PO8 CB1 O1 OZ O2 CB2"
    .split())
DREAMER_CHANNELS = tuple("AF3 F7 F3 FC5 T7 P7 O1 O2 P8 T8 FC6 F4 F8 AF4".split())
SEED_LABELS = [1, 0, -1, -1, 0, 1, -1, 0, 1, 1, 0, -1, 0, 1, -1]
SEED_IV_LABELS = {
    1: [1, 2, 3, 0, 2, 0, 0, 1, 0, 1, 2, 1, 1, 1, 2, 3, 2, 2, 3, 3, 0, 3, 0, 3],
    2: [2, 1, 3, 0, 0, 2, 0, 2, 3, 3, 2, 3, 2, 0, 1, 1, 2, 1, 0, 3, 0, 1, 3, 1],
    3: [1, 2, 2, 1, 3, 3, 3, 1, 1, 2, 1, 0, 2, 3, 3, 0, 2, 3, 0, 0, 2, 0, 1, 0],
}
# real SEED prefixes for the first subjects, then made-up ones
PREFIXES = ["djc", "jl", "jj", "lqj", "ly", "mhw", "phl", "sxy", "wk", "ww", "wsf", "wyw", "xyl", "ys", "zjy"]


def trial_code(subject: int, session: int, trial: int) -> float:
    """The constant a fixture trial's samples are built around."""
    return subject * 1e5 + session * 1e4 + trial * 100


def trial_array(subject: int, session: int, trial: int, n_times: int, n_chans: int = 62) -> np.ndarray:
    """A fixture trial in the files' layout, shape (n_chans, n_times), float64."""
    ch = np.arange(n_chans, dtype=np.float64)[:, None]
    t = np.arange(n_times, dtype=np.float64)[None, :]
    return trial_code(subject, session, trial) + ch + t / 1e4


def write_seed(root: Path, n_subjects: int = 11, n_sessions: int = 3, trial_seconds: list[int] | None = None,
               layout: str = "old", label_dtype=np.int16, features: bool = True, strays: bool = True,
               n_trials: int = 15) -> Path:
    """Write a miniature SEED copy (Preprocessed_EEG + ExtractedFeatures) and return its root.

    Session dates follow :func:`session_date` (session 3's date lies between 1 and 2, so the session number comes
    from date order, not from the order the writer produced them).
    """
    root = Path(root)
    if layout == "old":
        raw, feat = root / "Preprocessed_EEG", root / "ExtractedFeatures"
    else:
        raw, feat = root / "SEED_EEG" / "Preprocessed_EEG", root / "SEED_EEG" / "ExtractedFeatures_1s"
    raw.mkdir(parents=True)
    seconds = trial_seconds or [1 + (k % 2) for k in range(n_trials)]
    labels = np.asarray(SEED_LABELS[:n_trials], dtype=label_dtype).reshape(1, n_trials)
    scipy.io.savemat(raw / "label.mat", {"label": labels}, do_compression=True)
    if features:
        feat.mkdir(parents=True)
        scipy.io.savemat(feat / "label.mat", {"label": labels}, do_compression=True)
    for subject in range(1, n_subjects + 1):
        prefix = PREFIXES[subject - 1] if subject <= len(PREFIXES) else f"s{subject}x"
        for session in range(1, n_sessions + 1):
            date = _date_in_order(subject, session)
            name = f"{subject}_{date}.mat"
            arrays = {f"{prefix}_eeg{k}": trial_array(subject, session, k, 200 * seconds[k - 1] + 1)
                      for k in range(1, n_trials + 1)}
            scipy.io.savemat(raw / name, arrays, do_compression=True)
            if features:
                scipy.io.savemat(feat / name, seed_features(subject, session, seconds), do_compression=True)
    if strays:
        (raw / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
        (raw / "readme.txt").write_text("SEED preprocessed EEG: downsampled to 200 Hz, 0-75 Hz band-pass.\n")
        (raw / "notes_eeg.mat.txt").write_text("notes\n")
        (raw / "subfolder").mkdir()
        if features:
            (feat / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    return root


def _date_in_order(subject: int, session: int) -> str:
    """Session k's date; written out of name order (day numbers make '..._20131102' < '..._20131027' false)."""
    day = subject % 20 + 1
    return {1: f"201310{day:02d}", 2: f"201312{day:02d}", 3: f"201401{day:02d}", 4: f"201402{day:02d}"}[session]


def seed_features(subject: int, session: int, seconds: list[int], n_bands: int = 5,
                  families=("de_LDS", "de_movingAve", "psd_LDS")) -> dict[str, np.ndarray]:
    """ExtractedFeatures variables ``{family}{k}``, shape (62, T, 5); value encodes family, trial and window."""
    out = {}
    for f_idx, family in enumerate(families):
        for k, t in enumerate(seconds, start=1):
            ch = np.arange(62.0)[:, None, None]
            w = np.arange(t, dtype=np.float64)[None, :, None]
            band = np.arange(n_bands, dtype=np.float64)[None, None, :]
            out[f"{family}{k}"] = trial_code(subject, session, k) + f_idx * 1e6 + ch + w / 100 + band / 1e4
    return out


def write_seed_iv(root: Path, n_subjects: int = 2, sessions=(1, 2, 3), n_times: int = 201,
                  features: bool = True) -> Path:
    """Write a miniature SEED-IV copy (``eeg_raw_data/{1,2,3}``, ``eeg_feature_smooth/{1,2,3}``, eye folders)."""
    root = Path(root)
    for session in sessions:
        raw = root / "eeg_raw_data" / str(session)
        raw.mkdir(parents=True)
        feat = root / "eeg_feature_smooth" / str(session)
        if features:
            feat.mkdir(parents=True)
        (root / "eye_feature_smooth" / str(session)).mkdir(parents=True)
        for subject in range(1, n_subjects + 1):
            name = f"{subject}_2016{session + 4:02d}{subject + 10:02d}.mat"
            prefix = ["cz", "ha", "hql", "ldy", "ly", "mhw", "mz", "qyt", "rx", "tyc", "whh", "wll", "wq", "zjd",
                      "zjy"][subject - 1]
            arrays = {f"{prefix}_eeg{k}": trial_array(subject, session, k, n_times + k) for k in range(1, 25)}
            scipy.io.savemat(raw / name, arrays, do_compression=True)
            if features:
                windows = [2 + k % 3 for k in range(24)]
                values = seed_features(subject, session, windows, families=("de_LDS", "de_movingAve"))
                scipy.io.savemat(feat / name, values, do_compression=True)
    (root / "eye_raw_data").mkdir()
    (root / "ReadMe.txt").write_text("The labels with 0, 1, 2, and 3 denote the ground truth, neutral, sad, fear, "
                                     "and happy emotions, respectively.\n")
    return root


def dreamer_struct(n_subjects: int = 3, n_clips: int = 18, rng: np.random.Generator | None = None,
                   baseline_len: int = 7808 // 61 * 2) -> tuple[dict, dict]:
    """The ``DREAMER`` struct as nested numpy record/object arrays, and the expected scores.

    Returns
    -------
    mdict : dict
        ``{"DREAMER": struct}`` for :func:`scipy.io.savemat`.
    scores : dict
        ``{"valence"|"arousal"|"dominance": ndarray (n_subjects, n_clips)}``, ints 1..5.
    """
    rng = rng or np.random.default_rng(0)
    scores = {k: rng.integers(1, 6, size=(n_subjects, n_clips)) for k in ("valence", "arousal", "dominance")}
    subject_dtype = [("Age", "O"), ("Gender", "O"), ("EEG", "O"), ("ECG", "O"), ("ScoreValence", "O"),
                     ("ScoreArousal", "O"), ("ScoreDominance", "O")]
    data = np.empty((1, n_subjects), dtype=object)
    for s in range(n_subjects):
        stimuli = np.empty((n_clips, 1), dtype=object)
        baseline = np.empty((n_clips, 1), dtype=object)
        ecg_stim = np.empty((n_clips, 1), dtype=object)
        ecg_base = np.empty((n_clips, 1), dtype=object)
        for t in range(n_clips):
            n = 128 + 16 * t  # lengths vary per clip
            stimuli[t, 0] = trial_array(s + 1, 1, t + 1, n, n_chans=14).T  # DREAMER stores (n_samples, 14)
            baseline[t, 0] = trial_array(s + 1, 0, t + 1, baseline_len, n_chans=14).T
            # ECG at 256 Hz, coded like the EEG (session 2 = stimulus, 3 = baseline)
            ecg_stim[t, 0] = trial_array(s + 1, 2, t + 1, 2 * n, n_chans=2).T
            ecg_base[t, 0] = trial_array(s + 1, 3, t + 1, 2 * baseline_len, n_chans=2).T
        eeg = np.zeros((1, 1), dtype=[("baseline", "O"), ("stimuli", "O")])
        eeg[0, 0]["baseline"], eeg[0, 0]["stimuli"] = baseline, stimuli
        ecg = np.zeros((1, 1), dtype=[("baseline", "O"), ("stimuli", "O")])
        ecg[0, 0]["baseline"], ecg[0, 0]["stimuli"] = ecg_base, ecg_stim
        subj = np.zeros((1, 1), dtype=subject_dtype)
        subj[0, 0]["Age"] = np.array([[22 + s]], dtype=np.uint8)
        subj[0, 0]["Gender"] = "male" if s % 2 else "female"
        subj[0, 0]["EEG"], subj[0, 0]["ECG"] = eeg, ecg
        subj[0, 0]["ScoreValence"] = scores["valence"][s].reshape(-1, 1).astype(np.uint8)
        subj[0, 0]["ScoreArousal"] = scores["arousal"][s].reshape(-1, 1).astype(np.uint8)
        subj[0, 0]["ScoreDominance"] = scores["dominance"][s].reshape(-1, 1).astype(np.uint8)
        data[0, s] = subj
    electrodes = np.empty((14, 1), dtype=object)
    for i, ch in enumerate(DREAMER_CHANNELS):
        electrodes[i, 0] = ch
    top_dtype = [("Data", "O"), ("EEG_SamplingRate", "O"), ("ECG_SamplingRate", "O"), ("EEG_Electrodes", "O"),
                 ("noOfSubjects", "O"), ("noOfVideoSequences", "O"), ("Disclaimer", "O"), ("Provider", "O"),
                 ("Version", "O"), ("Acknowledgement", "O")]
    top = np.zeros((1, 1), dtype=top_dtype)
    top[0, 0]["Data"] = data
    top[0, 0]["EEG_SamplingRate"] = np.array([[128]], dtype=np.uint8)
    top[0, 0]["ECG_SamplingRate"] = np.array([[256]], dtype=np.uint16)
    top[0, 0]["EEG_Electrodes"] = electrodes.T  # a 1x14 cell
    top[0, 0]["noOfSubjects"] = np.array([[n_subjects]], dtype=np.uint8)
    top[0, 0]["noOfVideoSequences"] = np.array([[n_clips]], dtype=np.uint8)
    top[0, 0]["Disclaimer"] = "fixture"
    top[0, 0]["Provider"] = "tests"
    top[0, 0]["Version"] = "1.0.0"
    top[0, 0]["Acknowledgement"] = "none"
    return {"DREAMER": top}, scores


def write_xdf(path: Path, streams: list[dict]) -> None:
    """A minimal XDF 1.0 file as LabRecorder writes it (FileHeader, StreamHeader, Samples, ClockOffset, StreamFooter).

    Each stream dict: ``name, type, sfreq, ch_names, ch_types, data`` and either ``t0`` (regular timestamps
    ``t0 + k / sfreq``, default 100) or explicit ``timestamps``. ``data`` is ``(n_times, n_chans)`` numbers (written
    as float32), or strings (channel_format ``string``): a list of str (one channel) or of rows of str.
    """
    import struct

    def chunk(tag: int, content: bytes) -> bytes:
        body = struct.pack("<H", tag) + content
        return struct.pack("<BQ", 8, len(body)) + body

    def varlen(n: int) -> bytes:
        return struct.pack("<BQ", 8, n)

    out = [b"XDF:", chunk(1, b'<?xml version="1.0"?><info><version>1.0</version></info>')]
    for sid, s in enumerate(streams, start=1):
        is_str = isinstance(s["data"], list)
        rows = [[v] if isinstance(v, str) else list(v) for v in s["data"]] if is_str else s["data"]
        fmt = "string" if is_str else "float32"
        n_chans = (len(rows[0]) if rows else 1) if is_str else s["data"].shape[1]
        channels = "".join(f"<channel><label>{c}</label><type>{t}</type><unit>microvolts</unit></channel>"
                           for c, t in zip(s.get("ch_names", []), s.get("ch_types", [])))
        header = (f'<?xml version="1.0"?><info><name>{s["name"]}</name><type>{s["type"]}</type>'
                  f"<channel_count>{n_chans}</channel_count><nominal_srate>{s['sfreq']}</nominal_srate>"
                  f"<channel_format>{fmt}</channel_format><source_id>{s['name']}-id</source_id>"
                  f"<desc><channels>{channels}</channels></desc></info>")
        out.append(chunk(2, struct.pack("<I", sid) + header.encode()))
        n = len(rows)
        if "timestamps" in s:
            stamps = np.asarray(s["timestamps"], dtype=np.float64)
            t0 = float(stamps[0]) if n else 100.0
        else:
            t0 = s.get("t0", 100.0)
            stamps = t0 + np.arange(n) / (s["sfreq"] or 1.0)
        samples = bytearray(struct.pack("<I", sid) + varlen(n))
        for row, t in zip(rows, stamps):
            samples += struct.pack("<Bd", 8, t)
            if is_str:
                for value in row:
                    text = str(value).encode()
                    samples += varlen(len(text)) + text
            else:
                samples += np.asarray(row, dtype="<f4").tobytes()
        out.append(chunk(3, bytes(samples)))
        for when in (t0, t0 + 5.0):  # ClockOffset chunks, as LabRecorder writes
            out.append(chunk(4, struct.pack("<Idd", sid, when, 0.0)))
        first, last = (stamps[0], stamps[-1]) if n else (t0, t0)
        footer = (f'<?xml version="1.0"?><info><first_timestamp>{first}</first_timestamp>'
                  f"<last_timestamp>{last}</last_timestamp><sample_count>{n}</sample_count></info>")
        out.append(chunk(6, struct.pack("<I", sid) + footer.encode()))
    Path(path).write_bytes(b"".join(out))


def write_eegaffect_h5(path: Path, streams: list[dict]) -> None:
    """An HDF5 file in the eegaffect recording layout (issue 3), written directly with h5py."""
    import h5py

    with h5py.File(path, "w") as fh:
        fh.attrs.update({"format": "eegaffect-recording", "format_version": 1, "created_at": "2026-01-01T00:00:00",
                         "eegaffect_version": "test"})
        for s in streams:
            g = fh.create_group(f"streams/{s['name']}")
            data = s["data"]
            if isinstance(data, list):
                g.create_dataset("data", data=np.array(data, dtype=object).reshape(-1, 1),
                                 dtype=h5py.string_dtype("utf-8"))
            else:
                g.create_dataset("data", data=data, maxshape=(None, data.shape[1]), chunks=True)
            g.create_dataset("timestamps", data=s.get("t0", 100.0) + np.arange(len(data)) / (s["sfreq"] or 1.0))
            g.create_dataset("clock_offsets", data=np.zeros((0, 2)))
            g.create_dataset("gaps", data=np.zeros((0, 4)))
            n = 1 if isinstance(data, list) else data.shape[1]
            g.attrs.update({"name": s["name"], "type": s["type"], "sfreq": float(s["sfreq"]),
                            "source_id": s["name"] + "-id", "ch_names": s.get("ch_names", [f"m{i}" for i in range(n)]),
                            "ch_types": s.get("ch_types", ["misc"] * n), "ch_units": ["uV"] * n,
                            "created_at": "2026-01-01T00:00:00", "eegaffect_version": "test"})
