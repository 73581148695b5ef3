"""A device of a passive array tuned inside the simulated chip: the whole read-decide-pulse loop in one
compiled call.

Every pulse on a passive array reaches every cell, so its devices are tuned one at a time, and stepping
the loop from Python costs tens of microseconds per read and pulse around a few of physics. The
simulated bench runs the loop here instead, as an SMU runs a tuning script on the instrument: the rules
of `labrram.procedures.tuning.tune_device` (ramps, their growth and restarts, successive good reads,
pulse budget, unresponsive stop), the bench's timing (off time around each pulse, read duration) and
the chip's physics (`CrossbarArray.pulse_lines`, its switching events, reads with their relaxation and
noise), drawing from the array's generators in the same order, so that a seed gives the same records
and states either way (`tests/physics/test_tuning_loop.py`).

What it covers (`TuningLoop.supports`): passive arrays read with grounded unselected lines (a read above
the smallest onset disturbs the selected row, as a stepped read does), without 1/f or telegraph noise,
with normal relaxation increments; elsewhere the procedure steps the loop itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numba import njit

from labrram.physics import switching_kernel
from labrram.physics.bias import unselected_levels
from labrram.physics.chip import SimulatedChip
from labrram.physics.parameters import ArrayKind, BiasScheme
from labrram.physics.retention import log_time_steps, walk_relaxation

READ, SET, RESET = 0, 1, -1  # what each entry of a trace is


class TuningRules(Protocol):
    """The tuning settings the loop follows (`labrram.procedures.tuning.AlibartSettings` has them)."""

    set_start_v: float
    set_stop_v: float
    set_step_v: float
    reset_start_v: float
    reset_stop_v: float
    reset_step_v: float
    width_s: float
    read_voltage_v: float
    successive_reads: int
    max_pulses: int
    strategy: str
    log_gain_v: float
    unresponsive_pulses: int


@dataclass(frozen=True, eq=False)
class TuningTrace:
    """One device's tuning loop as columns: each read and pulse in the order taken (``kind``: READ, SET or
    RESET; ``voltage_v``: the read voltage or the pulse amplitude), and how the loop ended."""

    kind: np.ndarray
    t_s: np.ndarray
    voltage_v: np.ndarray
    current_a: np.ndarray
    compliance_a: float | None
    pulses: int
    good_reads: int
    unresponsive: bool
    range_seen_s: tuple[float, float]

    @property
    def achieved_s(self) -> float:
        """The conductance of the last read."""
        return float(self.current_a[-1] / self.voltage_v[-1])


@dataclass(frozen=True)
class TuningLoop:
    """How the simulated bench around the chip reads and pulses: its timing and its source's limit."""

    pulse_off_s: float
    read_duration_s: float
    compliance_a: float | None

    @staticmethod
    def supports(chip: SimulatedChip, array: str, read_scheme: BiasScheme) -> bool:
        """Whether the loop can run inside the chip for a device of ``array`` (else it is stepped)."""
        crossbar = chip.arrays[array]
        return (
            crossbar.kind is ArrayKind.PASSIVE
            and BiasScheme(read_scheme) is BiasScheme.GROUNDED
            and not crossbar.fluctuates
            and not crossbar.parameters.relaxation_tail_dof
        )

    def run(
        self,
        chip: SimulatedChip,
        array: str,
        row: int,
        col: int,
        scheme: BiasScheme,
        rules: TuningRules,
        band_s: tuple[float, float],
        target_s: float,
    ) -> TuningTrace:
        """Tune the device at (row, col) of ``array`` to ``target_s`` (on target within ``band_s``)."""
        crossbar = chip.arrays[array]
        row_fraction, col_fraction = unselected_levels(scheme, 1.0)
        # In the order `_tune` unpacks them.
        plan = np.array(
            [
                rules.set_start_v, rules.set_stop_v, rules.set_step_v, rules.reset_start_v,
                rules.reset_stop_v, rules.reset_step_v, rules.width_s, rules.read_voltage_v, band_s[0],
                band_s[1], target_s, rules.log_gain_v, self.pulse_off_s, self.read_duration_s,
                math.inf if self.compliance_a is None else self.compliance_a,
                crossbar.noise_floor_sd_a(self.read_duration_s), crossbar.parameters.read_noise_rel,
                row_fraction, col_fraction, crossbar.min_switching_voltage_v,
            ],
            dtype=float,
        )  # fmt: skip
        log_step = rules.strategy == "log-step"
        counts = np.array(
            [rules.successive_reads, rules.max_pulses, rules.unresponsive_pulses, log_step], dtype=np.int64
        )
        clocks, factors = chip.clocks()
        state = crossbar.loop_state()
        kind, t_s, voltage_v, current_a, outcome = _tune(
            crossbar.rows, crossbar.cols, row, col, plan, counts, clocks, factors,
            list(chip.arrays).index(array), state.rng, state.compliance_rng, state.onset, state.arrays,
        )  # fmt: skip
        chip.set_clocks(clocks)
        crossbar.loop_finished()
        return TuningTrace(
            kind, t_s, voltage_v, current_a, self.compliance_a, int(outcome[0]), int(outcome[1]),
            bool(outcome[2]), (float(outcome[3]), float(outcome[4])),
        )  # fmt: skip


@njit(cache=True)
def _advance(clocks: np.ndarray, factors: np.ndarray, seconds: float) -> None:
    """`SimulatedChip.advance`: the chip's clock, then each array's age (at its acceleration) and clock."""
    clocks[0] += seconds
    for k in range(factors.size):
        clocks[1 + 2 * k] += seconds * factors[k]
        clocks[2 + 2 * k] += seconds


@njit(cache=True)
def _settle(
    devices: np.ndarray,
    rng: np.random.Generator,
    g: np.ndarray,
    evaluated: np.ndarray,
    programmed: np.ndarray,
    age: float,
    relaxing: np.ndarray,
    g_min: np.ndarray,
    window: np.ndarray,
    relax: np.ndarray,
) -> None:
    """`CrossbarArray._relaxed` with normal increments (``relax``: flatness, peak, sharpness, t0, drift,
    tilt, spread)."""
    d_tau, steps = log_time_steps(devices, evaluated, programmed, age, relax[3])
    noise = rng.standard_normal((steps, devices.size))
    shape = (relax[0], relax[1], relax[2])
    walk_relaxation(devices, g, d_tau, noise, relaxing, g_min, window, shape, relax[4], relax[5], relax[6])
    for j in range(devices.size):
        evaluated[devices[j]] = age


@njit(cache=True)
def _grown(
    amplitude_v: float,
    change_s: float,
    distance_s: float,
    start_v: float,
    stop_v: float,
    step_v: float,
    log_step: bool,
    log_gain_v: float,
) -> float:
    """A ramp's amplitude after a pulse that changed G by ``change_s`` with ``distance_s`` to go
    (`labrram.procedures.tuning._Ramp.advance`)."""
    if not log_step:
        growth = step_v
    elif abs(change_s) >= abs(distance_s):
        return start_v
    else:
        ratio = abs(distance_s) / max(abs(change_s), 1e-15)
        growth = min(log_gain_v * math.log10(ratio), log_gain_v)
    sign = 1.0 if stop_v > 0 else -1.0
    return sign * min(abs(amplitude_v) + growth, abs(stop_v))


@njit(cache=True)
def _grow(column: np.ndarray) -> np.ndarray:
    """A trace column with twice the room, its entries kept."""
    grown = np.empty(2 * column.size, dtype=column.dtype)
    grown[: column.size] = column
    return grown


@njit(cache=True)
def _pulse(
    rows: int,
    cols: int,
    row: int,
    col: int,
    levels: np.ndarray,
    width_s: float,
    compliance_a: float,
    onset: float,
    rng: np.random.Generator,
    compliance_rng: np.random.Generator,
    state: tuple,
    age: float,
) -> float:
    """`CrossbarArray.pulse_lines`, its switching draws and the bookkeeping of its switching events;
    the current through the device at (row, col)."""
    (g, g_min, g_max, window, constants, polarity_constants, relaxing, virgin, forming_v, pulse_polarity,
     polarity_run, settings, flags, onset_order, sorted_onset, evaluated, programmed, reversals,
     last_polarity, endurance, stuck, stuck_conductance, relax) = state  # fmt: skip
    devices, v, selected_position = switching_kernel.acting_on_lines(
        rows,
        cols,
        row,
        col,
        levels,
        constants,
        onset,
        onset_order,
        sorted_onset,
        virgin,
        forming_v,
        flags[1],
    )
    if devices.size:
        limit, limited = np.empty(0), 0
        if math.isfinite(compliance_a) and selected_position >= 0:
            limit = np.full(devices.size, math.inf)
            limit[selected_position] = compliance_a
            limited = 1
        switching_normal = rng.standard_normal(devices.size)
        compliance_normal = compliance_rng.standard_normal(limited) if limited else np.empty(0)
        events, signs, formed = switching_kernel.switch(
            devices, v, np.arange(devices.size), width_s, limit, switching_normal, compliance_normal, g,
            g_min, g_max, window, constants, polarity_constants, relaxing, virgin, forming_v,
            pulse_polarity, polarity_run, settings, flags,
        )  # fmt: skip
        if formed:
            flags[1] = virgin.any()
        if events.size:
            switching_kernel.count_reversals(events, signs, reversals, last_polarity)
            _settle(events, rng, g, evaluated, programmed, age, relaxing, g_min, window, relax)
            switching_kernel.restart_and_wear(
                events, age, programmed, reversals, endurance, stuck, stuck_conductance, g, g_min, window,
                relaxing,
            )  # fmt: skip
    current = g[row * cols + col] * (levels[0] - levels[2])
    return min(max(current, -compliance_a), compliance_a)


@njit(cache=True)
def _tune(
    rows: int,
    cols: int,
    row: int,
    col: int,
    plan: np.ndarray,
    counts: np.ndarray,
    clocks: np.ndarray,
    factors: np.ndarray,
    array: int,
    rng: np.random.Generator,
    compliance_rng: np.random.Generator,
    onset: float,
    state: tuple,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The tuning loop of `labrram.procedures.tuning.tune_device` on the simulated bench, every read and
    pulse as it would step them; returns the trace columns and (pulses, good reads, unresponsive,
    lowest and highest conductance seen)."""
    (set_start, set_stop, set_step, reset_start, reset_stop, reset_step, width_s, read_v, low, high,
     target, log_gain, off_s, read_s, compliance_a, floor_a, read_rel, row_fraction,
     col_fraction, min_switching_v) = plan  # fmt: skip
    successive, max_pulses, unresponsive_limit, log_step = counts[0], counts[1], counts[2], counts[3] != 0
    g, g_min, window, relaxing = state[0], state[1], state[3], state[6]
    evaluated, programmed, relax = state[15], state[16], state[22]
    age_at = 1 + 2 * array
    flat = np.array([row * cols + col])
    capacity = 2 * max_pulses + successive + 2
    kind = np.empty(capacity, dtype=np.int8)
    t_s = np.empty(capacity)
    voltage_v = np.empty(capacity)
    current_a = np.empty(capacity)
    n = 0
    set_v, reset_v = set_start, reset_start
    pulses = good = 0
    seen_low = seen_high = previous = math.nan
    last_set = True
    end_count = 0
    end_low = end_high = math.nan
    found = False
    band = high - low
    read_levels = np.array([read_v, 0.0 * read_v, 0.0, 0.0 * read_v])
    levels, off_levels = np.zeros(4), np.zeros(4)  # a pulse's line potentials, and the off time's
    while True:
        if n + 2 > capacity:
            kind, t_s, voltage_v, current_a = _grow(kind), _grow(t_s), _grow(voltage_v), _grow(current_a)
            capacity = kind.size
        # A read on grounded lines: the relaxation owed, read noise, the floor; then the read's duration.
        started = clocks[0]
        _settle(flat, rng, g, evaluated, programmed, clocks[age_at], relaxing, g_min, window, relax)
        noisy = g[flat[0]] * read_v * (1.0 + read_rel * rng.standard_normal())
        current = noisy + floor_a * rng.standard_normal()
        if abs(read_v) > min_switching_v:
            # The read acts as a pulse too: the selected row at the read voltage, every other line at 0 V.
            _pulse(
                rows, cols, row, col, read_levels, read_s, math.inf, onset, rng, compliance_rng, state,
                clocks[age_at],
            )  # fmt: skip
        _advance(clocks, factors, read_s)
        kind[n], t_s[n], voltage_v[n], current_a[n] = READ, started, read_v, current
        n += 1
        conductance = current / read_v
        if end_count:
            end_low = conductance if math.isnan(end_low) else min(end_low, conductance)
            end_high = conductance if math.isnan(end_high) else max(end_high, conductance)
            found = unresponsive_limit > 0 and end_count >= unresponsive_limit and end_high - end_low <= band
            if found:
                break
        seen_low = min(seen_low, conductance) if pulses else conductance
        seen_high = max(seen_high, conductance) if pulses else conductance
        if pulses and not math.isnan(previous):
            change, distance = conductance - previous, target - conductance
            if last_set:
                set_v = _grown(set_v, change, distance, set_start, set_stop, set_step, log_step, log_gain)
            else:
                reset_v = _grown(
                    reset_v, change, distance, reset_start, reset_stop, reset_step, log_step, log_gain
                )
        previous = math.nan
        if low <= conductance <= high:
            good += 1
            if good >= successive:
                break
            continue
        good = 0
        if pulses >= max_pulses:
            break
        last_set = conductance < low
        amplitude = set_v if last_set else reset_v
        at_end = amplitude == (set_stop if last_set else reset_stop)
        # A pulse: the off time at the bias before and after it, its width at the scheme's levels.
        started = clocks[0]
        levels[0], levels[1], levels[3] = amplitude, row_fraction * amplitude, col_fraction * amplitude
        off_levels[0], off_levels[1], off_levels[3] = levels[1], levels[1], levels[3]
        for phase in range(3):
            if phase != 1 and off_s == 0:
                continue
            seconds = width_s if phase == 1 else off_s
            this = _pulse(
                rows, cols, row, col, levels if phase == 1 else off_levels, seconds, compliance_a, onset,
                rng, compliance_rng, state, clocks[age_at],
            )  # fmt: skip
            _advance(clocks, factors, seconds)
            if phase == 1:
                current = this
        kind[n], t_s[n], voltage_v[n], current_a[n] = SET if last_set else RESET, started, amplitude, current
        n += 1
        if at_end:
            end_count += 1
        else:
            end_count, end_low, end_high = 0, math.nan, math.nan
        if last_set:
            reset_v = reset_start
        else:
            set_v = set_start
        previous = conductance
        pulses += 1
    outcome = np.array([pulses, good, found, seen_low, seen_high], dtype=np.float64)
    return kind[:n], t_s[:n], voltage_v[:n], current_a[:n], outcome
