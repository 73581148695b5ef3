"""Alibart tuning of many independent devices at once: one vectorized step for all of them.

Devices that do not disturb each other (a 1T1R array, whose transistors isolate every cell) can be
tuned in parallel, as a parallel write circuit would: each step reads every device still tuning and
pulses those outside their band, each at its own ramp amplitude, in one call to the bench
(`Bench.read_devices`, `Bench.pulse_devices`). Each device follows `tune_device`'s rules exactly: the
ramps and how they grow and restart, the successive good reads, the pulse budget and the unresponsive
stop. The run comes out as columns (`TuningColumns`: every read and pulse as arrays) and, for the
Recorder, as the same records `tune_devices` yields, each device's concluding "tuning" Result included.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from labrram.bench.base import Bench, DeviceAddress, DeviceBlock
from labrram.procedures.common import require_positive
from labrram.procedures.tuning import AlibartSettings
from labrram.records import Progress, Pulse, PulseKind, Read, Record, Result, RunStarted


@dataclass(frozen=True)
class TuningColumns:
    """A parallel tuning run as arrays: every read and pulse (device index into ``devices``, time,
    value) in the order taken, and each device's outcome."""

    devices: tuple[DeviceAddress, ...]
    targets_s: np.ndarray
    read_device: np.ndarray
    read_t_s: np.ndarray
    read_current_a: np.ndarray
    pulse_device: np.ndarray
    pulse_t_s: np.ndarray
    pulse_amplitude_v: np.ndarray
    pulse_current_a: np.ndarray
    achieved_s: np.ndarray
    pulses: np.ndarray
    success: np.ndarray
    unresponsive: np.ndarray
    seen_low_s: np.ndarray
    seen_high_s: np.ndarray
    compliance_a: float | None


class _Ramps:
    """Each device's SET and RESET amplitude (`_Ramp` of the sequential procedure, as arrays)."""

    def __init__(self, count: int, settings: AlibartSettings) -> None:
        self.settings = settings
        self.set_v = np.full(count, settings.set_start_v)
        self.reset_v = np.full(count, settings.reset_start_v)

    def advance(
        self, devices: np.ndarray, set_kind: np.ndarray, change_s: np.ndarray, distance_s: np.ndarray
    ) -> None:
        """Grow the ramp each device last pulsed with, after a pulse that moved it by ``change_s``."""
        s = self.settings
        for kind, amplitudes, step_v, stop_v, start_v in (
            (set_kind, self.set_v, s.set_step_v, s.set_stop_v, s.set_start_v),
            (~set_kind, self.reset_v, s.reset_step_v, s.reset_stop_v, s.reset_start_v),
        ):
            chosen = devices[kind]
            if not chosen.size:
                continue
            if s.strategy == "alibart":
                growth = np.full(chosen.size, step_v)
            else:
                change, distance = np.abs(change_s[kind]), np.abs(distance_s[kind])
                overshoot = change >= distance
                ratio = distance / np.maximum(change, 1e-15)
                growth = np.minimum(s.log_gain_v * np.log10(np.where(overshoot, 1.0, ratio)), s.log_gain_v)
                amplitudes[chosen[overshoot]] = start_v
                chosen, growth = chosen[~overshoot], growth[~overshoot]
            amplitudes[chosen] = math.copysign(1.0, stop_v) * np.minimum(
                np.abs(amplitudes[chosen]) + growth, abs(stop_v)
            )


def tune_parallel(
    bench: Bench,
    targets_s: Mapping[DeviceAddress, float],
    settings: AlibartSettings,
) -> TuningColumns:
    """Tune every device to its target at once (see the module's docstring); the run as columns."""
    devices = tuple(targets_s)
    targets = np.array([targets_s[d] for d in devices], dtype=float)
    bad = np.flatnonzero(~(targets > 0) | ~np.isfinite(targets))
    if bad.size:
        device = devices[bad[0]]
        require_positive(f"targets_s[{device.array}:{device.row}:{device.col}]", float(targets[bad[0]]))
    block = DeviceBlock.of(devices)
    count = len(devices)
    half = settings.tolerance_s if settings.tolerance_s is not None else settings.tolerance * targets
    low, high = targets - half, targets + half
    band_s = high - low
    reads: list[tuple[np.ndarray, float, np.ndarray]] = []
    pulses_taken: list[tuple[np.ndarray, float, np.ndarray, np.ndarray]] = []
    compliance: list[float | None] = [None]

    def read(which: np.ndarray) -> np.ndarray:
        t_s, current_a = bench.read_devices(block.subset(which), settings.read_voltage_v)
        reads.append((which, t_s, current_a))
        return current_a / settings.read_voltage_v

    def pulse(which: np.ndarray, amplitudes_v: np.ndarray) -> None:
        if which.size:
            t_s, currents_a, compliance[0] = bench.pulse_devices(
                block.subset(which), amplitudes_v, settings.width_s
            )
            pulses_taken.append((which, t_s, amplitudes_v, currents_a))

    if settings.reset_first:
        waiting = np.arange(count)
        for _ in range(settings.reset_first_pulses):
            waiting = waiting[read(waiting) > settings.off_conductance_s]
            if not waiting.size:
                break
            pulse(waiting, np.full(waiting.size, settings.reset_stop_v))

    ramps = _Ramps(count, settings)
    pulses = np.zeros(count, dtype=int)
    good = np.zeros(count, dtype=int)
    success = np.zeros(count, dtype=bool)
    unresponsive = np.zeros(count, dtype=bool)
    achieved = np.full(count, math.nan)
    seen_low = np.full(count, math.nan)
    seen_high = np.full(count, math.nan)
    previous = np.full(count, math.nan)
    last_set = np.ones(count, dtype=bool)
    at_end = np.zeros(count, dtype=int)
    end_low = np.full(count, math.nan)
    end_high = np.full(count, math.nan)
    active = np.arange(count)
    while active.size:
        g = read(active)
        achieved[active] = g
        watched = at_end[active] > 0
        end_low[active] = np.where(watched, np.fmin(end_low[active], g), math.nan)
        end_high[active] = np.where(watched, np.fmax(end_high[active], g), math.nan)
        stuck = (
            watched
            & bool(settings.unresponsive_pulses)
            & (at_end[active] >= settings.unresponsive_pulses)
            & (end_high[active] - end_low[active] <= band_s[active])
        )
        unresponsive[active[stuck]] = True
        first = pulses[active] == 0
        seeing = active[~stuck]  # a device found unresponsive stops before this read counts
        seen_low[seeing] = np.where(first[~stuck], g[~stuck], np.fmin(seen_low[seeing], g[~stuck]))
        seen_high[seeing] = np.where(first[~stuck], g[~stuck], np.fmax(seen_high[seeing], g[~stuck]))
        pulsed_before = ~first & ~np.isnan(previous[active])
        ramps.advance(
            active[pulsed_before],
            last_set[active[pulsed_before]],
            (g - previous[active])[pulsed_before],
            (targets[active] - g)[pulsed_before],
        )
        previous[active] = math.nan
        inside = (low[active] <= g) & (g <= high[active])
        good[active] = np.where(inside, good[active] + 1, 0)
        finished = good[active] >= settings.successive_reads
        success[active[finished]] = True
        out_of_budget = ~inside & (pulses[active] >= settings.max_pulses)
        ending = stuck | finished | out_of_budget
        to_pulse = ~inside & ~ending
        chosen = active[to_pulse]
        set_kind = g[to_pulse] < low[chosen]
        amplitudes = np.where(set_kind, ramps.set_v[chosen], ramps.reset_v[chosen])
        pulse(chosen, amplitudes)
        stops = np.where(set_kind, settings.set_stop_v, settings.reset_stop_v)
        at_end[chosen] = np.where(amplitudes == stops, at_end[chosen] + 1, 0)
        ramps.reset_v[chosen[set_kind]] = settings.reset_start_v  # the other ramp restarts
        ramps.set_v[chosen[~set_kind]] = settings.set_start_v
        last_set[chosen] = set_kind
        previous[chosen] = g[to_pulse]
        pulses[chosen] += 1
        active = active[~ending]
    return TuningColumns(
        devices,
        targets,
        *_columns(reads, 3),
        *_columns(pulses_taken, 4),
        achieved,
        pulses,
        success,
        unresponsive & ~success,
        seen_low,
        seen_high,
        compliance[0],
    )


def _columns(steps: Sequence[tuple], width: int) -> list[np.ndarray]:
    """Per-step (devices, time, values...) concatenated into one array per field, times repeated."""
    if not steps:
        return [np.zeros(0, dtype=int)] + [np.zeros(0) for _ in range(width - 1)]
    which = np.concatenate([step[0] for step in steps])
    times = np.concatenate([np.full(step[0].size, step[1]) for step in steps])
    values = [np.concatenate([step[k] for step in steps]) for k in range(2, width)]
    return [which, times, *values]


def parallel_tuning_run(
    bench: Bench,
    targets_s: Mapping[DeviceAddress, float],
    settings: AlibartSettings,
    done: Collection[DeviceAddress] = frozenset(),
    seed: int | None = None,
) -> Iterator[Record]:
    """A "tuning" run of ``tune_parallel`` as records for the Recorder: RunStarted, every read and pulse
    in the order taken, then each device's "tuning" Result (devices in ``done`` are skipped)."""
    parameters = {
        "targets_s": {f"{d.array}:{d.row}:{d.col}": t for d, t in targets_s.items()},
        "settings": asdict(settings),
        "parallel": True,
    }
    yield RunStarted("tuning", parameters, tuple(targets_s), seed)
    remaining = {d: t for d, t in targets_s.items() if d not in done}
    columns = tune_parallel(bench, remaining, settings)
    yield from _measurements(columns, settings)
    for k, device in enumerate(columns.devices):
        yield Result(
            device,
            "tuning",
            {
                "target_s": float(columns.targets_s[k]),
                "achieved_s": float(columns.achieved_s[k]),
                "pulses": int(columns.pulses[k]),
                "success": bool(columns.success[k]),
                "unresponsive": bool(columns.unresponsive[k]),
                "range_seen_s": [float(columns.seen_low_s[k]), float(columns.seen_high_s[k])],
                "settings": asdict(settings),
            },
        )
    yield Progress(len(targets_s), len(targets_s), None, 0.0)


def _measurements(columns: TuningColumns, settings: AlibartSettings) -> Iterator[Read | Pulse]:
    """Reads and pulses interleaved in time order (a step's reads come before its pulses)."""
    read_order = np.argsort(columns.read_t_s, kind="stable")
    pulse_order = np.argsort(columns.pulse_t_s, kind="stable")
    r = p = 0
    voltage_v = settings.read_voltage_v
    while r < read_order.size or p < pulse_order.size:
        take_read = p >= pulse_order.size or (
            r < read_order.size and columns.read_t_s[read_order[r]] <= columns.pulse_t_s[pulse_order[p]]
        )
        if take_read:
            k = read_order[r]
            current_a = float(columns.read_current_a[k])
            device = columns.devices[columns.read_device[k]]
            yield Read(device, float(columns.read_t_s[k]), voltage_v, current_a, current_a / voltage_v)
            r += 1
        else:
            k = pulse_order[p]
            amplitude_v = float(columns.pulse_amplitude_v[k])
            kind = PulseKind.SET if amplitude_v > 0 else PulseKind.RESET
            device = columns.devices[columns.pulse_device[k]]
            t_s, current_a = float(columns.pulse_t_s[k]), float(columns.pulse_current_a[k])
            yield Pulse(device, t_s, amplitude_v, settings.width_s, kind, columns.compliance_a, current_a)
            p += 1
