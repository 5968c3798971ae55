"""The binding: every use of pylsl beyond its documented API, and the inlet settings eegaffect relies on.

mne-lsl keeps its ctypes binding of liblsl apart from its Stream; eegaffect uses pylsl for the binding, and this
module holds the places where it reaches under pylsl's public surface (the inlet's liblsl handle, its
``do_pull_chunk`` function, ``pylsl.util.handle_error``) and the liblsl format codes and post-processing flags.
A pylsl upgrade that moves those internals breaks this module only.
"""

from __future__ import annotations

import ctypes

import numpy as np
import pylsl

__all__ = ["ChunkPuller", "NUMPY_DTYPES", "format_name", "open_inlet", "local_clock", "was_clock_reset"]

_FORMAT_NAMES = {
    pylsl.cf_float32: "float32",
    pylsl.cf_double64: "float64",
    pylsl.cf_int8: "int8",
    pylsl.cf_int16: "int16",
    pylsl.cf_int32: "int32",
    pylsl.cf_int64: "int64",
    pylsl.cf_string: "string",
}
#: numpy dtype of each channel format (``object`` holding ``str`` for string streams).
NUMPY_DTYPES = {"float32": np.float32, "float64": np.float64, "int8": np.int8, "int16": np.int16,
                "int32": np.int32, "int64": np.int64, "string": object}
_PROCESSING = pylsl.proc_clocksync | pylsl.proc_monotonize | pylsl.proc_threadsafe

# liblsl's calls that do not block, called with the interpreter lock held (``ctypes.PyDLL`` on the library pylsl
# loaded; pylsl's ``CDLL`` releases the lock around every call). An acquisition worker that released it between
# pulling a chunk and writing it into the ring buffer gave it to whichever thread of its process was waiting (a
# consumer polling the buffer) and waited for it back: 0.1-0.2 ms at p99 per release, on the latency path
# (``docs/latency.md``). These calls take microseconds. A pull with timeout 0 is one of them only while the inlet's
# clock offset is known: liblsl's clock synchronisation asks for the offset every 50 samples inside the pull and
# waits up to 5 s for it when there is none yet (before the first estimate, and again after each recovery), see
# :meth:`ChunkPuller.pull`.
_HELD = ctypes.PyDLL(pylsl.lib.lib._name)


def _held(function):
    held = getattr(_HELD, function.__name__)
    held.restype, held.argtypes = function.restype, function.argtypes
    return held


_local_clock = _held(pylsl.lib.lib.lsl_local_clock)
_was_clock_reset = _held(pylsl.lib.lib.lsl_was_clock_reset)
_time_correction = _held(pylsl.lib.lib.lsl_time_correction)


def local_clock() -> float:
    """:func:`pylsl.local_clock`, without releasing the interpreter lock."""
    return _local_clock()


def was_clock_reset(inlet: pylsl.StreamInlet) -> bool:
    """:meth:`pylsl.StreamInlet.was_clock_reset`, without releasing the interpreter lock."""
    return bool(_was_clock_reset(inlet.obj))


def format_name(info: pylsl.StreamInfo) -> str:
    """The channel format of a stream as a name: ``"float32"``, ``"float64"``, ``"int8"`` ... ``"int64"``,
    ``"string"`` (``"unknown"`` for a code this table lacks).
    """
    return _FORMAT_NAMES.get(info.channel_format(), "unknown")


def open_inlet(info: pylsl.StreamInfo, max_buflen: int) -> pylsl.StreamInlet:
    """An inlet with liblsl's clock synchronisation, monotonic timestamps, thread safety and recovery.

    Dejittering is not asked of liblsl: it would smear a gap over hundreds of samples (see
    :mod:`eegaffect.acquisition.lsl`).

    Parameters
    ----------
    info : pylsl.StreamInfo
        A resolved stream.
    max_buflen : int
        Seconds liblsl buffers on its side.

    Returns
    -------
    inlet : pylsl.StreamInlet
        Not opened yet (call ``open_stream``); the estimation of its clock offset is under way.

    Notes
    -----
    liblsl starts estimating an inlet's clock offset (eight probes of the outlet's time service over ~0.6 s) only
    when something first asks for it, and its clock synchronisation asks at the first sample pulled, inside that
    pull, waiting up to 5 s. A source that went away before the estimate was complete then made every pull wait
    those 5 s and fail with a timeout, each dropping a sample, while the worker could not look for the source's
    successor: ``eegaffect record`` did not follow a source that lived half a second. The estimate is started
    here, with the inlet, so it is ready by the first sample even when the worker starts pulling late.
    """
    inlet = pylsl.StreamInlet(info, max_buflen=int(max_buflen), recover=True, processing_flags=_PROCESSING)
    try:
        inlet.time_correction(timeout=0.0)  # starts liblsl's time-probe thread; no estimate yet
    except pylsl.util.TimeoutError:
        pass
    return inlet


class ChunkPuller:
    """Pull chunks from a numeric inlet into preallocated arrays, with no Python-level allocation per call.

    One :meth:`pull` waits up to ``timeout`` seconds for the first sample, then takes whatever else is already
    there, up to the capacity, without waiting (and, while the clock offset is known, without releasing the
    interpreter lock, see :func:`local_clock`): two liblsl calls (``lsl_pull_chunk_*``) made through ctypes with
    arguments built once. :meth:`pylsl.StreamInlet.pull_chunk` with ``min_samples=1`` does the same
    two calls, but builds ctypes buffers, memoryviews and result arrays in Python on each of them, which
    added ~0.1-0.2 ms between liblsl handing the samples over and the worker having them in a live worker
    that wakes once per chunk (measured with ``eegaffect bench acquisition``).

    Parameters
    ----------
    inlet : pylsl.StreamInlet
        An open inlet of a numeric stream (not string).
    capacity : int
        Most samples per pull.
    timeout : float
        Seconds the first sample is waited for.

    Attributes
    ----------
    data : ndarray, shape (capacity, n_chans)
        Destination of the samples, in the stream's dtype; rows ``[:n]`` after a pull of ``n``.
    timestamps : ndarray, shape (capacity,)
        Their LSL timestamps (float64).
    """

    def __init__(self, inlet: pylsl.StreamInlet, capacity: int, timeout: float):
        if inlet.np_dtype is None:
            raise ValueError("ChunkPuller pulls numeric streams only; string streams go through "
                             "StreamInlet.pull_chunk")
        n_chans = inlet.channel_count
        self._inlet = inlet  # keeps the liblsl handle alive
        self.data = np.empty((capacity, n_chans), dtype=inlet.np_dtype)
        self.timestamps = np.empty(capacity, dtype=np.float64)
        self._n_chans = n_chans
        row_bytes = self.data.itemsize * n_chans
        c_size = ctypes.c_size_t
        self._errcode = ctypes.c_int()
        self._offset_errcode = ctypes.c_int()
        self._first_args = (inlet.obj, ctypes.c_void_p(self.data.ctypes.data),
                            ctypes.c_void_p(self.timestamps.ctypes.data), c_size(n_chans), c_size(1),
                            ctypes.c_double(timeout), ctypes.byref(self._errcode))
        self._rest_args = None if capacity == 1 else (
            inlet.obj, ctypes.c_void_p(self.data.ctypes.data + row_bytes),
            ctypes.c_void_p(self.timestamps.ctypes.data + 8), c_size((capacity - 1) * n_chans), c_size(capacity - 1),
            ctypes.c_double(0.0), ctypes.byref(self._errcode))
        self._pull = inlet.do_pull_chunk
        self._pull_held = _held(inlet.do_pull_chunk)
        self._offset_args = (inlet.obj, ctypes.c_double(0.0), ctypes.byref(self._offset_errcode))

    def pull(self) -> int:
        """Wait for data and pull it; return the number of samples now in ``data[:n]`` / ``timestamps[:n]``.

        Raises the pylsl exception of a liblsl error code (e.g. ``LostError`` for a lost stream without
        recovery).
        """
        n_values = self._pull(*self._first_args)
        if self._errcode.value:
            pylsl.util.handle_error(self._errcode)
        if n_values == 0:
            return 0
        if self._rest_args is not None:
            # the rest keeps the interpreter lock unless liblsl's clock synchronisation could wait in it for an
            # offset estimate (none yet, or reset by a recovery): then another thread may run meanwhile
            pull = self._pull_held if self.offset_known() else self._pull
            n_values += pull(*self._rest_args)
            if self._errcode.value:
                pylsl.util.handle_error(self._errcode)
        return n_values // self._n_chans

    def offset_known(self) -> bool:
        """Whether liblsl has an estimate of the inlet's clock offset now (asked without waiting, and without
        releasing the interpreter lock): a pull with timeout 0 then never waits.
        """
        _time_correction(*self._offset_args)
        return not self._offset_errcode.value

