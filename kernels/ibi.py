"""Inter-beat intervals of the heart stages, with artefact correction (Kubios-style median rule, Lipponen &
Tarvainen 2019 patterns), and the instantaneous heart rate.

The compiled functions here are called by the detector kernels of :mod:`eegaffect.kernels.heart` at every decided
beat (:func:`_on_beat`) and every sample (:func:`_after_sample`); they share the stage's state vectors, whose layout
(float state ``fs``, int state ``st``, parameters ``p``) is defined here for both modules.

Rule
----
The reference is the median of the last 15 kept intervals (3 needed; before that, intervals are kept as they are).
With ``r = IBI / median`` and tolerance ``tau``:

- ``r > 1 + tau`` and ``r`` close to an integer ``n >= 2`` (``|r / n - 1| < tau``): ``n - 1`` missed beats; as many
  beats are inserted at equal spacing (events with :data:`FLAG_INSERTED`) and the detected beat carries
  :data:`FLAG_SPLIT` and the split interval. Only where the inserted beats can still be emitted within the
  decision delay (``IBI (n - 1) / n <= lookahead_s``); otherwise, like any other long interval, :data:`FLAG_LONG`
  and kept as measured;
- ``r < 1 - tau`` waits for the next beat (at most ``lookahead_s``): if the short interval plus the next one make
  one median interval, the detection is an extra beat, removed (event kept with :data:`FLAG_EXTRA`, ``ibi_s``
  NaN); if the next interval is long (``> 1 + tau``), the beat is ectopic (premature beat and compensatory pause):
  both intervals are replaced by their mean (:data:`FLAG_ECTOPIC` on both beats); otherwise :data:`FLAG_SHORT`,
  kept as measured;
- the first beat after the start or after flagged signal has no interval (:data:`FLAG_GAP`, ``ibi_s`` NaN).

Every change is visible: ``corrected`` is true and ``raw_ibi_s`` holds the measured interval.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

__all__ = ["FLAG_INSERTED", "FLAG_EXTRA", "FLAG_ECTOPIC", "FLAG_SHORT", "FLAG_LONG", "FLAG_GAP", "FLAG_SPLIT",
           "FLAG_NAMES", "FLAG_CORRECTED", "BEAT_DTYPE", "beat_events", "warmup"]

#: The beat was not detected: inserted at equal spacing in an interval holding missed beats.
FLAG_INSERTED = 1
#: The detection is an extra beat (short interval + next one make one median interval); removed, ``ibi_s`` NaN.
FLAG_EXTRA = 2
#: Ectopic beat or its compensatory interval (short then long): the two intervals replaced by their mean.
FLAG_ECTOPIC = 4
#: Short interval without an artefact pattern: kept as measured.
FLAG_SHORT = 8
#: Long interval that is not a whole number of median intervals (or too long to correct): kept as measured.
FLAG_LONG = 16
#: First beat after the start or after flagged signal: no interval.
FLAG_GAP = 32
#: The interval ending at this beat held missed beats and was split (see :data:`FLAG_INSERTED`).
FLAG_SPLIT = 64
#: Flag bit -> name.
FLAG_NAMES = {FLAG_INSERTED: "inserted", FLAG_EXTRA: "extra", FLAG_ECTOPIC: "ectopic", FLAG_SHORT: "short",
              FLAG_LONG: "long", FLAG_GAP: "gap", FLAG_SPLIT: "split"}

#: Events of the heart stages: one row per beat (or removed detection).
BEAT_DTYPE = np.dtype([("sample", np.int64), ("ibi_s", np.float64), ("raw_ibi_s", np.float64),
                       ("amplitude", np.float64), ("flag", np.uint8), ("corrected", np.bool_)])
#: Flags of a beat whose interval was changed (or that was inserted / removed): ``corrected`` is true.
FLAG_CORRECTED = FLAG_INSERTED | FLAG_EXTRA | FLAG_ECTOPIC | FLAG_SPLIT

_HISTORY = 15  # intervals in the running median
_MAX_MISSED = 4  # most beats inserted in one interval

# ----------------------------------------------------------------------------------------------------------------
# state layout of a heart stage (shared with the detector kernels of ecg.py and ppg.py)
# ----------------------------------------------------------------------------------------------------------------
# float state (fs) indices
_F_HOLD, _F_PREV, _F_SUM, _F_SPKI, _F_NPKI, _F_CAND_VAL, _F_MAXSEEN, _F_HR, _F_PEND_AMP, _F_PEND_IBI, \
    _F_NEXT_CORR, _F_PSUM, _F_ZBAR, _F_ZCOUNT = range(14)
_NF = 14 + _HISTORY
_F_HIST = 14
# int state (is) indices
_I_N, _I_CAND, _I_LAST_CAND_BEAT, _I_LAST_BAD, _I_PREV_BEAT, _I_PEND, _I_HR_TIME, _I_NHIST, _I_HPOS, \
    _I_BLOCK, _I_LAST_PEAK = range(11)
_NI = 11
# parameter vector indices (shared by both detectors)
_P_SFREQ, _P_TAU, _P_LOOK, _P_DELAY, _P_HR_HOLD, _P_SETTLE, _P_REFR, _P_SEARCH, _P_W1, _P_W2, _P_HOLDN, \
    _P_MAXBLOCK, _P_BETA, _P_EMA, _P_RSHIFT = range(15)
_NP = 15


# ----------------------------------------------------------------------------------------------------------------
# kernels
# ----------------------------------------------------------------------------------------------------------------
@jit
def _median(fs, n):  # pragma: no cover - compiled
    h = np.sort(fs[_F_HIST:_F_HIST + n].copy())
    if n % 2 == 1:
        return h[n // 2]
    return 0.5 * (h[n // 2 - 1] + h[n // 2])


@jit
def _push(fs, st, ibi):  # pragma: no cover - compiled
    fs[_F_HIST + st[_I_HPOS]] = ibi
    st[_I_HPOS] = (st[_I_HPOS] + 1) % _HISTORY
    if st[_I_NHIST] < _HISTORY:
        st[_I_NHIST] += 1


@jit
def _emit(ev_i, ev_f, n_ev, sample, ibi, raw, amp, flag):  # pragma: no cover - compiled
    ev_i[n_ev, 0] = sample
    ev_i[n_ev, 1] = flag
    ev_f[n_ev, 0] = ibi
    ev_f[n_ev, 1] = raw
    ev_f[n_ev, 2] = amp
    return n_ev + 1


@jit
def _kept(fs, st, sample, ibi, measured):  # pragma: no cover - compiled
    """Bookkeeping of a kept beat: previous beat, heart rate, and the median history, which takes the *measured*
    interval (NaN: none), so that a wrong reference cannot sustain itself through its own corrections.
    """
    st[_I_PREV_BEAT] = sample
    if measured == measured:
        _push(fs, st, measured)
    if ibi == ibi:
        fs[_F_HR] = 60.0 / ibi
        st[_I_HR_TIME] = sample


@jit
def _decide_pending(fs, st, p, nxt, ev_i, ev_f, n_ev):  # pragma: no cover - compiled
    """Decide the pending short beat; ``nxt`` is the next interval in samples (-1: unknown)."""
    sample = st[_I_PEND]
    ibi = fs[_F_PEND_IBI]
    amp = fs[_F_PEND_AMP]
    st[_I_PEND] = -1
    tau = p[_P_TAU]
    sf = p[_P_SFREQ]
    n_hist = st[_I_NHIST]
    med = _median(fs, n_hist) if n_hist >= 3 else np.nan
    if nxt >= 0 and med == med:
        s = (ibi + nxt / sf) / med
        if abs(s - 1.0) < tau:
            return _emit(ev_i, ev_f, n_ev, sample, np.nan, ibi, amp, FLAG_EXTRA)
        if nxt / sf / med > 1.0 + tau:
            corr = 0.5 * (ibi + nxt / sf)
            n_ev = _emit(ev_i, ev_f, n_ev, sample, corr, ibi, amp, FLAG_ECTOPIC)
            _kept(fs, st, sample, corr, corr)
            fs[_F_NEXT_CORR] = corr
            return n_ev
    n_ev = _emit(ev_i, ev_f, n_ev, sample, ibi, ibi, amp, FLAG_SHORT)
    _kept(fs, st, sample, ibi, ibi)
    return n_ev


@jit
def _on_beat(fs, st, p, sample, amp, ev_i, ev_f, n_ev):  # pragma: no cover - compiled
    """A detection at ``sample``: settle the pending beat, classify this one (see the module docstring)."""
    sf = p[_P_SFREQ]
    tau = p[_P_TAU]
    look = p[_P_LOOK]
    last_bad = st[_I_LAST_BAD]
    if st[_I_PEND] >= 0:
        if last_bad > st[_I_PEND]:
            n_ev = _decide_pending(fs, st, p, -1, ev_i, ev_f, n_ev)
        else:
            n_ev = _decide_pending(fs, st, p, sample - st[_I_PEND], ev_i, ev_f, n_ev)
    prev = st[_I_PREV_BEAT]
    corr = fs[_F_NEXT_CORR]
    fs[_F_NEXT_CORR] = np.nan
    if prev < 0 or last_bad > prev:
        n_ev = _emit(ev_i, ev_f, n_ev, sample, np.nan, np.nan, amp, FLAG_GAP)
        _kept(fs, st, sample, np.nan, np.nan)
        return n_ev
    ibi = (sample - prev) / sf
    if corr == corr:
        n_ev = _emit(ev_i, ev_f, n_ev, sample, corr, ibi, amp, FLAG_ECTOPIC)
        _kept(fs, st, sample, corr, corr)
        return n_ev
    n_hist = st[_I_NHIST]
    if n_hist < 3:
        n_ev = _emit(ev_i, ev_f, n_ev, sample, ibi, ibi, amp, 0)
        _kept(fs, st, sample, ibi, ibi)
        return n_ev
    med = _median(fs, n_hist)
    r = ibi / med
    if r > 1.0 + tau:
        n = int(np.floor(r + 0.5))
        if n >= 2 and n <= _MAX_MISSED + 1 and abs(r / n - 1.0) < tau and ibi * (n - 1) / n <= look:
            part = ibi / n
            for j in range(1, n):
                at = prev + int(np.floor(j * (sample - prev) / n + 0.5))
                n_ev = _emit(ev_i, ev_f, n_ev, at, part, np.nan, np.nan, FLAG_INSERTED)
                _kept(fs, st, at, part, np.nan)
            n_ev = _emit(ev_i, ev_f, n_ev, sample, part, ibi, amp, FLAG_SPLIT)
            _kept(fs, st, sample, part, ibi)
            return n_ev
        n_ev = _emit(ev_i, ev_f, n_ev, sample, ibi, ibi, amp, FLAG_LONG)
        _kept(fs, st, sample, ibi, ibi)
        return n_ev
    if r < 1.0 - tau:
        st[_I_PEND] = sample
        fs[_F_PEND_IBI] = ibi
        fs[_F_PEND_AMP] = amp
        return n_ev
    n_ev = _emit(ev_i, ev_f, n_ev, sample, ibi, ibi, amp, 0)
    _kept(fs, st, sample, ibi, ibi)
    return n_ev


@jit(inline="always")  # called per sample: no call, no reference counting of its arrays
def _after_sample(fs, st, p, q, hr, i, ev_i, ev_f, n_ev):  # pragma: no cover - compiled
    """Per-sample end: timeout of the pending beat, instantaneous heart rate."""
    n = st[_I_N]
    if st[_I_PEND] >= 0 and n >= st[_I_PEND] + p[_P_DELAY]:
        n_ev = _decide_pending(fs, st, p, -1, ev_i, ev_f, n_ev)
    if q != 0 or st[_I_HR_TIME] < 0 or n - st[_I_HR_TIME] > p[_P_HR_HOLD]:
        hr[i] = np.nan
    else:
        hr[i] = fs[_F_HR]
    return n_ev



def beat_events(ev_i: np.ndarray, ev_f: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` events written by the kernels, as a :data:`BEAT_DTYPE` array.

    Parameters
    ----------
    ev_i : ndarray of int64, shape (capacity, 2)
        Sample and flag of each event.
    ev_f : ndarray of float64, shape (capacity, 3)
        ``ibi_s``, ``raw_ibi_s`` and amplitude of each event.
    n : int
        Events written.

    Returns
    -------
    events : ndarray, shape (n,)
    """
    if n == 0:  # most streaming calls
        return np.empty(0, BEAT_DTYPE)
    ev = np.empty(n, BEAT_DTYPE)
    ev["sample"] = ev_i[:n, 0]
    ev["flag"] = ev_i[:n, 1]
    ev["ibi_s"] = ev_f[:n, 0]
    ev["raw_ibi_s"] = ev_f[:n, 1]
    ev["amplitude"] = ev_f[:n, 2]
    ev["corrected"] = (ev["flag"] & FLAG_CORRECTED) != 0
    return ev


def warmup() -> None:
    """Compile the interval rule on a short beat series (regular, missed, extra and ectopic beats)."""
    p = np.zeros(_NP)
    p[_P_SFREQ], p[_P_TAU], p[_P_LOOK], p[_P_DELAY], p[_P_HR_HOLD] = 100.0, 0.25, 1.5, 200.0, 400.0
    fs = np.zeros(_NF)
    fs[_F_HR] = fs[_F_NEXT_CORR] = np.nan
    st = np.zeros(_NI, dtype=np.int64)
    st[_I_PREV_BEAT] = st[_I_PEND] = st[_I_HR_TIME] = st[_I_LAST_BAD] = -1
    ev_i, ev_f = np.empty((64, 2), np.int64), np.empty((64, 3))
    hr = np.empty(1)
    n_ev = 0
    for sample in (0, 80, 160, 240, 400, 440, 480, 520, 560, 640):
        n_ev = _on_beat(fs, st, p, sample, 1.0, ev_i, ev_f, n_ev)
        st[_I_N] = sample
        n_ev = _after_sample(fs, st, p, 0, hr, 0, ev_i, ev_f, n_ev)
    beat_events(ev_i, ev_f, n_ev)
