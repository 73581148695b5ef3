"""Alibart tuning of many independent devices at once: one vectorized step for all of them.

Devices that do not disturb each other (a 1T1R array, whose transistors isolate every cell) can be
tuned in parallel, as a parallel write circuit would: each step reads every device still tuning and
pulses those outside their band, each at its own ramp amplitude, in one call to the bench
(`Bench.read_devices`, `Bench.pulse_devices`). Each device follows `tune_device`'s rules exactly: the
ramps and how they grow and restart, the successive good reads, the pulse budget and the unresponsive
stop. The run comes out as columns (`TuningColumns`: every read and pulse as arrays) and, for the
Recorder, as blocks of reads and pulses that it stores as the same rows `tune_devices` yields, each
step's as soon as it is taken (a run cut short keeps them; the devices without their concluding "tuning"
Result are tuned again on resume).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from labrram.bench.base import Bench, DeviceAddress, DeviceBlock
from labrram.procedures.common import require_positive
from labrram.procedures.tuning import AlibartSettings, tuning_parameters
from labrram.records import Progress, PulseBlock, ReadBlock, Record, Result, RunStarted


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
    outcome: TuningOutcome
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


@dataclass(frozen=True, eq=False)
class TuningStep:
    """One parallel read or pulse: the devices (positions in the run), when, and what each got."""

    kind: str  # "read" or "pulse"
    which: np.ndarray
    t_s: float
    currents_a: np.ndarray
    amplitudes_v: np.ndarray | None = None
    compliance_a: float | None = None


@dataclass(frozen=True, eq=False)
class TuningOutcome:
    """Each device's outcome, filled in as the steps are taken."""

    achieved_s: np.ndarray
    pulses: np.ndarray
    success: np.ndarray
    unresponsive: np.ndarray
    seen_low_s: np.ndarray
    seen_high_s: np.ndarray

    @classmethod
    def empty(cls, count: int) -> TuningOutcome:
        nan = np.full(count, math.nan)
        flags = np.zeros(count, dtype=bool)
        return cls(nan.copy(), np.zeros(count, dtype=int), flags.copy(), flags.copy(), nan.copy(), nan.copy())


def tune_parallel(
    bench: Bench,
    targets_s: Mapping[DeviceAddress, float],
    settings: AlibartSettings,
) -> TuningColumns:
    """Tune every device to its target at once (see the module's docstring); the run as columns."""
    devices = tuple(targets_s)
    outcome = TuningOutcome.empty(len(devices))
    steps = list(parallel_steps(bench, targets_s, settings, outcome))
    outcome.unresponsive[outcome.success] = False
    reads = [(s.which, s.t_s, s.currents_a) for s in steps if s.kind == "read"]
    pulses = [(s.which, s.t_s, s.amplitudes_v, s.currents_a) for s in steps if s.kind == "pulse"]
    return TuningColumns(
        devices,
        np.array([targets_s[d] for d in devices], dtype=float),
        *_columns(reads, 3),
        *_columns(pulses, 4),
        outcome,
        next((s.compliance_a for s in steps if s.kind == "pulse"), None),
    )


def parallel_steps(
    bench: Bench,
    targets_s: Mapping[DeviceAddress, float],
    settings: AlibartSettings,
    outcome: TuningOutcome,
) -> Iterator[TuningStep]:
    """Every read and pulse of a parallel tuning, each yielded as soon as it is taken (so a run cut short
    keeps what was measured); ``outcome`` holds each device's result when the steps end."""
    devices = tuple(targets_s)
    if not devices:  # a resumed run whose devices are all done
        return
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

    def read(which: np.ndarray) -> TuningStep:
        t_s, currents_a = bench.read_devices(block.subset(which), settings.read_voltage_v)
        return TuningStep("read", which, t_s, currents_a)

    def pulse(which: np.ndarray, amplitudes_v: np.ndarray) -> TuningStep:
        t_s, currents_a, compliance_a = bench.pulse_devices(
            block.subset(which), amplitudes_v, settings.width_s
        )
        return TuningStep("pulse", which, t_s, currents_a, amplitudes_v, compliance_a)

    if settings.reset_first:
        waiting = np.arange(count)
        for _ in range(settings.reset_first_pulses):
            step = read(waiting)
            yield step
            waiting = waiting[step.currents_a / settings.read_voltage_v > settings.off_conductance_s]
            if not waiting.size:
                break
            yield pulse(waiting, np.full(waiting.size, settings.reset_stop_v))

    ramps = _Ramps(count, settings)
    pulses, success, unresponsive = outcome.pulses, outcome.success, outcome.unresponsive
    seen_low, seen_high = outcome.seen_low_s, outcome.seen_high_s
    good = np.zeros(count, dtype=int)
    previous = np.full(count, math.nan)
    last_set = np.ones(count, dtype=bool)
    at_end = np.zeros(count, dtype=int)
    end_low = np.full(count, math.nan)
    end_high = np.full(count, math.nan)
    active = np.arange(count)
    while active.size:
        step = read(active)
        yield step
        g = step.currents_a / settings.read_voltage_v
        outcome.achieved_s[active] = g
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
        if chosen.size:
            yield pulse(chosen, amplitudes)
        stops = np.where(set_kind, settings.set_stop_v, settings.reset_stop_v)
        at_end[chosen] = np.where(amplitudes == stops, at_end[chosen] + 1, 0)
        ramps.reset_v[chosen[set_kind]] = settings.reset_start_v  # the other ramp restarts
        ramps.set_v[chosen[~set_kind]] = settings.set_start_v
        last_set[chosen] = set_kind
        previous[chosen] = g[to_pulse]
        pulses[chosen] += 1
        active = active[~ending]


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
    parameters = {**tuning_parameters(targets_s, settings), "parallel": True}
    yield RunStarted("tuning", parameters, tuple(targets_s), seed)
    remaining = {d: t for d, t in targets_s.items() if d not in done}
    devices = tuple(remaining)
    outcome = TuningOutcome.empty(len(devices))
    for step in parallel_steps(bench, remaining, settings, outcome):
        yield _block(step, devices, settings)
    for k, device in enumerate(devices):
        yield Result(
            device,
            "tuning",
            {
                "target_s": remaining[device],
                "achieved_s": float(outcome.achieved_s[k]),
                "pulses": int(outcome.pulses[k]),
                "success": bool(outcome.success[k]),
                "unresponsive": bool(outcome.unresponsive[k] and not outcome.success[k]),
                "range_seen_s": [float(outcome.seen_low_s[k]), float(outcome.seen_high_s[k])],
                "settings": asdict(settings),
            },
        )
    yield Progress(len(targets_s), len(targets_s), None, 0.0)


def _block(step: TuningStep, devices: tuple[DeviceAddress, ...], settings: AlibartSettings) -> Record:
    """One step as a block record: the Recorder stores it as a Read or Pulse per device."""
    chosen = tuple(devices[k] for k in step.which.tolist())
    if step.kind == "read":
        return ReadBlock(chosen, step.t_s, settings.read_voltage_v, step.currents_a)
    assert step.amplitudes_v is not None
    return PulseBlock(
        chosen, step.t_s, step.amplitudes_v, settings.width_s, step.compliance_a, step.currents_a
    )
