"""A simulated person wearing several devices: the EEG headset plus one LSL outlet per physiological signal.

:class:`SimulatedPerson` is a :class:`~eegaffect.acquisition.sim.SimulatedHeadset` that, on the same push timeline
and from the same valence/arousal trajectory, also publishes ECG, PPG/BVP, EDA, respiration and skin temperature
(:func:`~eegaffect.acquisition.sim.physiology.simulate_physiology`), each as its own outlet with its own rate,
content type and unique source_id (:data:`PHYSIO_DEVICES`), as a chest strap, a wrist band and a belt would.

Device clocks
-------------
Each device can have its own clock: ``D(t) = t + clock_offset_s + clock_drift_ppm * 1e-6 * (t - t_start)``,
where ``t`` is this machine's :func:`pylsl.local_clock`. The device samples regularly *on its own clock* (sample
``j`` is taken when ``D(t) = D(t_start) + j / sfreq``, i.e. at true time ``t_start + j / (sfreq (1 + drift))``)
and stamps it with ``D``. The signal content is that of the true sampling time, so a receiver that maps the
stamps back onto the local clock recovers the true times exactly. (liblsl's ``time_correction`` measures the
offset between two *machines'* clocks; on one machine it is zero, so a simulated device clock is visible to a
receiver only through the stamps: see :mod:`eegaffect.live.physio_inputs` for how the live session aligns it.)

Dropouts
--------
``drops`` are ``(start_s, duration_s)`` stretches of signal time (true time since sample 0) during which a device
pushes nothing: its samples are generated (the sample counter keeps counting) but not sent, as when a wrist band
loses its radio link. The outlet stays open; the receiver sees a gap in the stamps and, with the sample_index
channel, exactly how many samples were lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from eegaffect.acquisition.channels import INDEX_CHANNEL_NAME
from eegaffect.acquisition.outlet import Outlet
from eegaffect.acquisition.sim.headset import EEGSource, SimulatedHeadset
from eegaffect.acquisition.sim.physiology import simulate_physiology

__all__ = ["PHYSIO_DEVICES", "DeviceSpec", "SimulatedPerson"]

#: kind -> (LSL content type, default rate in Hz, LSL unit of its one channel), device-like rates: a chest strap's
#: ECG, a wrist band's BVP (64 Hz), EDA and temperature (4 Hz), a respiration belt.
PHYSIO_DEVICES: dict[str, tuple[str, float, str]] = {
    "ecg": ("ECG", 256.0, "millivolts"),
    "ppg": ("PPG", 64.0, "a.u."),
    "eda": ("EDA", 4.0, "microsiemens"),
    "resp": ("RESP", 32.0, "a.u."),
    "temp": ("TEMP", 4.0, "degC"),
}
_BLOCK_S = 300.0  # physiology generated this many seconds at a time when the duration is open


@dataclass(frozen=True)
class DeviceSpec:
    """One simulated physiological device.

    Parameters
    ----------
    kind : str
        A key of :data:`PHYSIO_DEVICES` (``ecg``, ``ppg``, ``eda``, ``resp``, ``temp``).
    sfreq : float | None
        Nominal rate in Hz (its own clock); None takes the kind's default.
    clock_offset_s : float
        Offset of the device's clock from this machine's at the start, seconds.
    clock_drift_ppm : float
        How much faster the device's clock runs, parts per million (within +-1000).
    drops : sequence of (float, float)
        ``(start_s, duration_s)`` stretches (signal time) during which the device sends nothing.
    """

    kind: str
    sfreq: float | None = None
    clock_offset_s: float = 0.0
    clock_drift_ppm: float = 0.0
    drops: tuple[tuple[float, float], ...] = ()

    def __post_init__(self):
        if self.kind not in PHYSIO_DEVICES:
            raise ValueError(f"unknown device kind {self.kind!r}; expected one of {sorted(PHYSIO_DEVICES)}")
        rate = PHYSIO_DEVICES[self.kind][1] if self.sfreq is None else float(self.sfreq)
        if not (np.isfinite(rate) and rate > 0):
            raise ValueError(f"{self.kind} sfreq must be a finite rate > 0 Hz, got {self.sfreq!r}")
        object.__setattr__(self, "sfreq", rate)
        if not np.isfinite(self.clock_offset_s):
            raise ValueError(f"{self.kind} clock_offset_s must be finite, got {self.clock_offset_s!r}")
        if not (np.isfinite(self.clock_drift_ppm) and abs(self.clock_drift_ppm) <= 1000):
            raise ValueError(f"{self.kind} clock_drift_ppm must lie within +-1000, got {self.clock_drift_ppm!r}")
        drops = tuple((float(a), float(b)) for a, b in self.drops)
        bad = [d for d in drops if not (d[0] >= 0 and d[1] > 0)]
        if bad:
            raise ValueError(f"{self.kind} drops must be (start_s >= 0, duration_s > 0), got {bad}")
        object.__setattr__(self, "drops", drops)

    @property
    def type(self) -> str:
        """LSL content type (``ECG``, ``PPG``, ``EDA``, ``RESP``, ``TEMP``)."""
        return PHYSIO_DEVICES[self.kind][0]


class _Device:
    """Runtime state of one device: its outlet, pre-generated samples and the next sample to push."""

    def __init__(self, spec: DeviceSpec, outlet: Outlet, index: bool):
        self.spec, self.outlet, self.index = spec, outlet, index
        self.scale = 1.0 + spec.clock_drift_ppm * 1e-6  # device seconds per true second
        self.true_rate = spec.sfreq * self.scale  # samples per true second
        self.next = 0  # next sample index to push (or to skip during a drop)
        self.block_start = 0
        self.block = np.empty(0)
        self.n_pushed = 0
        self.n_dropped = 0


class SimulatedPerson(SimulatedHeadset):
    """The simulated headset plus physiological devices on the same timeline and trajectory.

    Parameters
    ----------
    source : EEGSource
        The EEG generator (its ``trajectory`` drives the physiology too; see :class:`SimulatedHeadset`).
    devices : sequence of DeviceSpec
        One outlet each, named ``{name}-{kind}``, type ``spec.type``, one channel named ``kind`` (plus
        ``sample_index`` with ``index_channel``), source_id ``{eeg source_id}-{kind}``.
    name, chunk_size, speed, index_channel, source_id, duration
        See :class:`SimulatedHeadset`.
    seed : int
        Seed of the physiological noise and events.
    subject : int | None
        Seed of the person's physiological traits (None: ``seed``).
    effect_scale : float
        Factor on the physiology's affect couplings (0: a null control).
    """

    def __init__(self, source: EEGSource, devices: Sequence[DeviceSpec] = (), *, name: str = "eegaffect-sim",
                 chunk_size: int | None = None, speed: float = 1.0, index_channel: bool = False,
                 source_id: str | None = None, duration: float | None = None, seed: int = 0,
                 subject: int | None = None, effect_scale: float = 1.0):
        trajectory = getattr(source, "trajectory", None)
        if devices and not callable(trajectory):
            raise TypeError(f"a source with physiological devices needs a callable 'trajectory' attribute (times_s "
                            f"-> (n, 2)) to drive them; {type(source).__name__} has none")
        kinds = [d.kind for d in devices]
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"expected one device per kind, got {kinds}")
        if not all(isinstance(d, DeviceSpec) for d in devices):
            raise TypeError("devices must be DeviceSpec objects")
        super().__init__(source, name=name, chunk_size=chunk_size, speed=speed, index_channel=index_channel,
                         source_id=source_id, duration=duration)
        self._trajectory = trajectory
        self._duration = duration
        self._seed, self._subject, self._effect = int(seed), subject, float(effect_scale)
        self.devices: dict[str, _Device] = {}
        try:
            for spec in devices:
                self.devices[spec.kind] = _Device(spec, self._make_outlet(spec, index_channel), index_channel)
        except BaseException:
            self._close_outlets()
            raise

    def _make_outlet(self, spec: DeviceSpec, index: bool) -> Outlet:
        _, _, unit = PHYSIO_DEVICES[spec.kind]
        names = [spec.kind] + ([INDEX_CHANNEL_NAME] if index else [])
        return Outlet(f"{self.name}-{spec.kind}", spec.type, names, spec.sfreq,
                      ch_types=[spec.kind] + (["misc"] if index else []),
                      ch_units=[unit] + (["samples"] if index else []),
                      source_id=f"{self.source_id}-{spec.kind}", channel_format="float64" if index else "float32",
                      desc={"manufacturer": "eegaffect", "model": f"SimulatedPerson {spec.kind}",
                            "clock_offset_s": f"{spec.clock_offset_s:g}",
                            "clock_drift_ppm": f"{spec.clock_drift_ppm:g}"})

    @property
    def outlets(self) -> dict[str, Outlet]:
        """Every outlet by kind: ``eeg``, ``truth`` and one per device."""
        return {"eeg": self.eeg_outlet, "truth": self.truth_outlet,
                **{k: d.outlet for k, d in self.devices.items()}}

    def device_counts(self) -> dict[str, dict[str, int]]:
        """Per device: samples pushed and samples withheld by its drops so far."""
        return {k: {"pushed": d.n_pushed, "dropped": d.n_dropped} for k, d in self.devices.items()}

    # -- pushing -------------------------------------------------------------------------------------------------
    def _emit(self, i: int, m: int, timestamps: np.ndarray, prepared=None) -> None:
        super()._emit(i, m, timestamps, prepared)
        t_last = (i + m - 1) / self._sfreq  # signal time of this EEG chunk's last sample
        for dev in self.devices.values():
            self._push_device(dev, t_last)

    def _push_device(self, dev: _Device, t_last: float) -> None:
        n_due = int(np.floor(t_last * dev.true_rate + 1e-9)) + 1  # samples j with j / true_rate <= t_last
        if self._n_total is not None:
            n_due = min(n_due, int(round(self._n_total / self._sfreq * dev.true_rate)))
        if n_due <= dev.next:
            return
        j = np.arange(dev.next, n_due)
        values = self._samples(dev, dev.next, n_due)
        true_t = j / dev.true_rate  # signal time of each sample
        keep = np.ones(j.size, bool)
        for start, length in dev.spec.drops:
            keep &= ~((true_t >= start) & (true_t < start + length))
        dev.next = n_due
        dev.n_dropped += int(j.size - keep.sum())
        if not keep.any():
            return
        spec = dev.spec
        stamps = self._t_start + true_t[keep] / self._speed
        stamps = stamps + spec.clock_offset_s + spec.clock_drift_ppm * 1e-6 * (stamps - self._t_start)
        data = values[keep, None]
        if dev.index:
            data = np.column_stack([data, j[keep].astype(np.float64)])
        dev.outlet.push(data, stamps)
        dev.n_pushed += int(keep.sum())

    def _samples(self, dev: _Device, a: int, b: int) -> np.ndarray:
        """Samples ``a .. b - 1`` of a device (generated a block at a time)."""
        parts = []
        while a < b:
            if not dev.block_start <= a < dev.block_start + dev.block.size:
                self._generate(dev, a)
            take = min(b, dev.block_start + dev.block.size) - a
            parts.append(dev.block[a - dev.block_start: a - dev.block_start + take])
            a += take
        return np.concatenate(parts) if parts else np.empty(0)

    def _generate(self, dev: _Device, start: int) -> None:
        if self._duration is not None:  # one block: no seams in the physiology
            total = int(round(self._duration * dev.true_rate)) + 1
            n, block_seed = max(total - start, 1), self._seed
        else:
            n = int(round(_BLOCK_S * dev.true_rate))
            n_block = start // n
            start = n_block * n
            block_seed = int(np.random.SeedSequence([self._seed, n_block]).generate_state(1)[0])
        sig = simulate_physiology({dev.spec.kind: dev.true_rate}, n / dev.true_rate, self._trajectory,
                                  seed=block_seed, subject=self._seed if self._subject is None else self._subject,
                                  effect_scale=self._effect, t0_s=start / dev.true_rate)[dev.spec.kind]
        dev.block = sig[:, 0]
        dev.block_start = start

    def _close_outlets(self) -> None:
        super()._close_outlets()
        for dev in getattr(self, "devices", {}).values():
            dev.outlet.close()
