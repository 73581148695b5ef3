"""A simulated RRAM array: per-device conductance state driven by cell voltages, vectorized in numpy.

Every operation takes the flat indices of the devices under voltage (``index``: an integer array, or
``slice(None)`` for the whole array; no other slices) and the voltage across each (positive = SET
polarity). Which devices see which voltage is decided outside, by the bias scheme
(`labrram.physics.bias`) or by the simulated wiring of an instrument emulator.
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import NamedTuple

import numpy as np

from labrram.physics import switching_kernel
from labrram.physics.fluctuations import Fluctuations
from labrram.physics.parameters import ArrayKind, DeviceParameters
from labrram.physics.population import (
    NOT_STUCK,
    DevicePopulation,
)
from labrram.physics.retention import (
    acceleration_factor,
    log_time_steps,
    relaxation_noise,
    walk_relaxation,
)

Index = np.ndarray | slice

# A pulse counts as a switching event (endurance, relaxation restart) above this share of the window.
SWITCHING_EVENT_FRACTION = 0.01
# With a soft onset, devices creep down to this share of their threshold and not below: half-selected
# cells under V/2 or V/3 of a programming pulse do, a read at a small share of the threshold does not.
SUBTHRESHOLD_FLOOR = 0.5
# Per-polarity parameters (``set_``/``reset_`` + name) in the compiled loop's column order.
_POLARITY_CONSTANTS = ("slope_v", "c2c", "state_exponent", "state_growth", "c2c_growth")
# Where the compiled loop's settings and flags hold what changes between pulses.
_DRIVE_FACTOR, _HAS_VIRGIN = 3, 1
_NO_LIMIT = np.empty(0)
_NO_DRAWS = np.empty(0)


class LoopState(NamedTuple):
    """An array's state as a compiled loop takes it (`CrossbarArray.loop_state`): its arrays, updated in
    place, its two generators, and the share of the threshold down to which devices act."""

    arrays: tuple
    rng: np.random.Generator
    compliance_rng: np.random.Generator
    onset: float


class CrossbarArray:
    """State and physics of one rows x cols array of one technology."""

    def __init__(
        self,
        parameters: DeviceParameters,
        rows: int,
        cols: int,
        kind: ArrayKind,
        rng: np.random.Generator,
    ) -> None:
        if rows < 1 or cols < 1:
            raise ValueError(f"array geometry must be at least 1x1, got {rows}x{cols}")
        self.parameters = parameters.validated()
        self.rows = rows
        self.cols = cols
        self.kind = ArrayKind(kind)
        self._rng = rng
        size = rows * cols
        pop = DevicePopulation.draw(parameters, size, rng)
        self.population = pop
        # Fresh devices sit in the lower tenth of their window; virgin and stuck ones elsewhere.
        initial = pop.g_min_s + 0.1 * (pop.g_max_s - pop.g_min_s) * rng.random(size)
        initial = np.where(pop.virgin, parameters.virgin_conductance_s, initial)
        self._g = np.where(pop.stuck != NOT_STUCK, pop.stuck_conductance_s, initial)
        # Compliance overshoot draws from a stream of its own: whether a limit is set (an SMU always
        # has one) does not shift the switching, read and relaxation noise of a seeded run.
        (self._compliance_rng,) = rng.spawn(1)
        self._clock_s = 0.0  # time since the array was made (s), for the fluctuations reads see
        self._fluctuations = None
        if parameters.read_noise_flicker or (
            parameters.read_noise_rtn_fraction and parameters.read_noise_rtn_amplitude
        ):
            # A stream of its own too: enabling fluctuations does not shift the other draws.
            (self._fluctuation_rng,) = rng.spawn(1)
            self._fluctuations = Fluctuations(
                size,
                parameters.read_noise_flicker,
                parameters.read_noise_rtn_fraction,
                parameters.read_noise_rtn_amplitude,
                parameters.read_noise_rtn_rate_per_s,
                self._fluctuation_rng,
            )
        self._effective_age_s = 0.0
        self._programmed_at_s = np.zeros(size)
        self._evaluated_at_s = np.zeros(size)
        self._reversals = np.zeros(size, dtype=np.int64)
        self._last_polarity = np.zeros(size, dtype=np.int8)
        # Polarity memory: sign of each device's last pulse above threshold and the run of that sign.
        self._pulse_polarity = np.zeros(size, dtype=np.int8)
        self._polarity_run = np.full(size, switching_kernel.POLARITY_RUN_CAP, dtype=np.int64)
        self._has_virgin = bool(pop.virgin.any())
        self._relaxing = (pop.stuck == NOT_STUCK) & ~pop.virgin
        self._all_devices = np.arange(size, dtype=np.int64)
        self._shape_parameters = (
            float(parameters.relaxation_level_flatness),
            float(parameters.relaxation_level_peak),
            float(parameters.relaxation_level_sharpness),
        )
        # Per-polarity constants, row 0 for RESET and row 1 for SET, as the compiled loop reads them.
        self._device_constants = np.stack(
            [
                np.stack([pop.reset_threshold_v, pop.set_threshold_v]),
                np.stack([pop.reset_rate_per_s, pop.set_rate_per_s]),
                np.stack([pop.reset_bound_s, pop.set_bound_s]),
            ]
        )
        self._polarity_constants = np.array(
            [
                [getattr(parameters, f"{polarity}_{name}") for name in _POLARITY_CONSTANTS]
                for polarity in ("reset", "set")
            ]
        )
        # Steps with a state dependence beyond the exponential approach to the bound (then computed).
        shaped_steps = bool(
            np.any(self._polarity_constants[:, switching_kernel.STATE_EXPONENT] != 1.0)
            or np.any(self._polarity_constants[:, switching_kernel.STATE_GROWTH])
            or np.any(self._polarity_constants[:, switching_kernel.C2C_GROWTH])
        )
        # The share of its threshold down to which a device acts (1: a hard threshold).
        self._onset = SUBTHRESHOLD_FLOOR if parameters.subthreshold_fraction else 1.0
        self._settings = np.array(
            [
                self._onset,
                parameters.subthreshold_fraction,
                parameters.subthreshold_slope_v,
                1.0,  # drive factor of thermal activation, set at each pulse
                1.0 / parameters.min_switching_time_s if parameters.min_switching_time_s else math.inf,
                parameters.compliance_hold_v,
                parameters.compliance_c2c,
                parameters.polarity_memory_depth,
                parameters.polarity_memory_pulses,
                SWITCHING_EVENT_FRACTION,
            ]
        )
        self._flags = np.array([shaped_steps, self._has_virgin])
        # The smallest voltage magnitude at which a formed device may change (a read below it is harmless).
        thresholds_v = self._device_constants[switching_kernel.THRESHOLD]
        # Devices by onset voltage per polarity: those a line-driven pulse moves off its selected lines.
        onsets_v = thresholds_v * self._onset
        self._onset_order = np.argsort(onsets_v, axis=1, kind="stable")
        self._sorted_onset_v = np.take_along_axis(onsets_v, self._onset_order, axis=1)
        self.min_switching_voltage_v = self._onset * float(thresholds_v.min())
        self.temperature_c = parameters.reference_temperature_c  # the chip keeps it up to date

    @property
    def size(self) -> int:
        return self.rows * self.cols

    def flat_index(self, row: int, col: int) -> int:
        """Flat (row-major) index of a device."""
        return row * self.cols + col

    def advance(self, seconds: float, temperature_c: float) -> None:
        """Age every device by ``seconds`` at ``temperature_c``."""
        p = self.parameters
        factor = acceleration_factor(temperature_c, p.reference_temperature_c, p.activation_energy_ev)
        self._effective_age_s += seconds * factor
        self._clock_s += seconds

    def conductance_s(self) -> np.ndarray:
        """Present (relaxed) conductance of every device as a rows x cols array: the true state."""
        return self._relaxed(slice(None)).reshape(self.rows, self.cols).copy()

    def estimated_conductance_s(self) -> np.ndarray:
        """Conductance of every device as last evaluated (rows x cols), without settling the relaxation
        owed since: what a circuit estimate may use without drawing randomness or changing any state."""
        return self._g.reshape(self.rows, self.cols).copy()

    def max_conductance_s(self) -> float:
        """The largest conductance as last evaluated: a bound for circuit estimates, free of side effects."""
        return float(self._g.max())

    def set_conductance_s(self, conductance_s: np.ndarray) -> None:
        """Put working devices at given conductances (rows x cols), as if just programmed.

        For starting a simulation from a known or measured state; stuck and virgin devices keep
        their own conductance.
        """
        values = np.asarray(conductance_s, dtype=float).reshape(-1)
        if values.size != self.size or not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ValueError(f"need {self.rows}x{self.cols} finite, non-negative conductances")
        working = self._relaxing
        self._g = np.where(working, values, self._g)
        self._programmed_at_s = np.where(working, self._effective_age_s, self._programmed_at_s)
        self._evaluated_at_s[:] = self._effective_age_s

    def stuck_map(self) -> np.ndarray:
        """Rows x cols codes: 0 working, 1 stuck in HRS, 2 stuck in LRS."""
        return self.population.stuck.reshape(self.rows, self.cols).copy()

    def _devices(self, index: Index) -> np.ndarray:
        """The flat indices an Index names, as the compiled loops take them (contiguous int64; the loops
        check their range)."""
        if isinstance(index, slice):
            return self._all_devices
        if np.asarray(index).dtype.kind not in "iu":
            raise TypeError("device indices must be integers (flat indices, not a mask)")
        return np.ascontiguousarray(index, dtype=np.int64)

    def _relaxed(self, index: Index) -> np.ndarray:
        """Bring the devices' conductance up to the present age and return it (a view or copy)."""
        p = self.parameters
        devices = self._devices(index)
        d_tau, steps = log_time_steps(
            devices, self._evaluated_at_s, self._programmed_at_s, self._effective_age_s, p.relaxation_t0_s
        )
        noise = relaxation_noise(self._rng, p.relaxation_tail_dof, steps, devices.size)
        walk_relaxation(
            devices, self._g, d_tau, noise, self._relaxing, self.population.g_min_s,
            self.population.window_s, self._shape_parameters, p.relaxation_drift_s,
            p.relaxation_drift_tilt_s, p.relaxation_spread_s,
        )  # fmt: skip
        self._evaluated_at_s[devices] = self._effective_age_s
        return self._g[index]

    def apply_voltage(
        self,
        index: Index,
        voltage_v: np.ndarray | float,
        width_s: float,
        compliance_a: np.ndarray | float | None = None,
    ) -> np.ndarray:
        """Apply a rectangular pulse to the indexed devices; return the current through each (A).

        ``compliance_a`` limits the current of each device (scalar, per-device array, or None); a
        SET under compliance stops near I_cc / compliance_hold_v. Only devices above their onset (the
        switching threshold, or half of it with a soft onset) or forming voltage are updated: below it
        the rate is exactly zero, and their relaxation is brought up to date whenever they are next
        read or switched.
        """
        devices = self._devices(index)
        v = np.asarray(voltage_v, dtype=float)
        v = np.ascontiguousarray(v if v.shape == devices.shape else np.broadcast_to(v, devices.shape))
        pop = self.population
        limit = _NO_LIMIT if compliance_a is None else np.asarray(compliance_a, dtype=float).reshape(-1)
        if limit.size > 1 and limit.size != devices.size:
            raise ValueError(f"{limit.size} compliance limits for {devices.size} devices")
        positions, limited = switching_kernel.acting_positions(
            devices, v, self._device_constants, self._onset, pop.virgin, pop.forming_voltage_v,
            self._has_virgin, limit,
        )  # fmt: skip
        if positions.size:
            self._switch(devices, v, positions, width_s, limit, limited)
        current = self._g[index] * v
        if compliance_a is not None:
            current = np.minimum(np.maximum(current, -limit), limit)
        return current

    def pulse_lines(
        self,
        row: int,
        col: int,
        line_levels_v: tuple[float, float, float, float],
        width_s: float,
        compliance_a: float | None = None,
    ) -> float:
        """Apply a rectangular pulse to a passive array through its lines; return the current through
        the device at (row, col) (A).

        ``line_levels_v``: the potentials of row ``row``, of the other rows, of column ``col`` and of the
        other columns; every cell sees its row's minus its column's, so this is `apply_voltage` on the
        whole array with `bias.cell_voltages` (the same draws and states), without the per-cell arrays:
        only the cells that can act are visited. ``compliance_a`` limits the device at (row, col), the
        one the source's current flows through alone; the others are not limited.
        """
        if not (0 <= row < self.rows and 0 <= col < self.cols):
            raise IndexError(f"device ({row}, {col}) outside the {self.rows}x{self.cols} array")
        pop = self.population
        levels = np.array(line_levels_v, dtype=float)
        devices, v, selected_position = switching_kernel.acting_on_lines(
            self.rows, self.cols, row, col, levels, self._device_constants, self._onset,
            self._onset_order, self._sorted_onset_v, pop.virgin, pop.forming_voltage_v, self._has_virgin,
        )  # fmt: skip
        limit, limited = _NO_LIMIT, 0
        if compliance_a is not None and math.isfinite(compliance_a) and selected_position >= 0:
            limit = np.full(devices.size, math.inf)
            limit[selected_position] = compliance_a
            limited = 1
        if devices.size:
            self._switch(devices, v, np.arange(devices.size), width_s, limit, limited)
        current = self._g[row * self.cols + col] * (levels[0] - levels[2])
        if compliance_a is not None:
            current = min(max(current, -compliance_a), compliance_a)
        return float(current)

    def _switch(
        self,
        devices: np.ndarray,
        v: np.ndarray,
        positions: np.ndarray,
        width_s: float,
        limit: np.ndarray,
        limited: int,
    ) -> None:
        """SET/RESET step of the acting devices (``devices[positions]``) in the compiled loop, with this
        pulse's random draws, then the bookkeeping of their switching events."""
        pop = self.population
        # Relaxation is not settled here: it is owed since the last evaluation and settled when the
        # device is next read or makes a switching event (the two commute to first order).
        self._settings[_DRIVE_FACTOR] = self._drive_factor()
        self._flags[_HAS_VIRGIN] = self._has_virgin
        switching_normal = self._rng.standard_normal(positions.size)
        compliance_normal = self._compliance_rng.standard_normal(limited) if limited else _NO_DRAWS
        events, signs, formed = switching_kernel.switch(
            devices, v, positions, width_s, limit, switching_normal, compliance_normal,
            self._g, pop.g_min_s, pop.g_max_s, pop.window_s, self._device_constants,
            self._polarity_constants, self._relaxing, pop.virgin, pop.forming_voltage_v,
            self._pulse_polarity, self._polarity_run, self._settings, self._flags,
        )  # fmt: skip
        if formed:
            self._has_virgin = bool(pop.virgin.any())
        if events.size:
            self._record_switching(events, signs)

    def _drive_factor(self) -> float:
        """Thermal activation of switching at the array's temperature (1 without an activation energy)."""
        p = self.parameters
        if not p.switching_activation_energy_ev:
            return 1.0
        return acceleration_factor(
            self.temperature_c, p.reference_temperature_c, p.switching_activation_energy_ev
        )

    def loop_state(self) -> LoopState:
        """What a compiled loop of the whole chip (`labrram.physics.tuning_loop`) reads and updates in
        place, with the settings of this moment (temperature, virgin devices); `loop_finished` after."""
        p, pop = self.parameters, self.population
        self._settings[_DRIVE_FACTOR] = self._drive_factor()
        self._flags[_HAS_VIRGIN] = self._has_virgin
        relaxation = np.array(
            [
                *self._shape_parameters,
                p.relaxation_t0_s,
                p.relaxation_drift_s,
                p.relaxation_drift_tilt_s,
                p.relaxation_spread_s,
            ]
        )
        arrays = (
            self._g, pop.g_min_s, pop.g_max_s, pop.window_s, self._device_constants,
            self._polarity_constants, self._relaxing, pop.virgin, pop.forming_voltage_v,
            self._pulse_polarity, self._polarity_run, self._settings, self._flags, self._onset_order,
            self._sorted_onset_v, self._evaluated_at_s, self._programmed_at_s, self._reversals,
            self._last_polarity, pop.endurance_cycles, pop.stuck, pop.stuck_conductance_s, relaxation,
        )  # fmt: skip
        return LoopState(arrays, self._rng, self._compliance_rng, self._onset)

    def loop_finished(self) -> None:
        """Take up what a compiled loop changed beyond the arrays (devices it formed)."""
        self._has_virgin = bool(self.population.virgin.any())

    @property
    def fluctuates(self) -> bool:
        """Whether reads see 1/f or telegraph fluctuations (a stream of draws of their own)."""
        return self._fluctuations is not None

    def _record_switching(self, devices: np.ndarray, polarity: np.ndarray) -> None:
        """Count the SET/RESET reversals of devices that made a switching event (``polarity``: the sign
        of each one's change) for endurance, restart their relaxation, and wear devices out."""
        switching_kernel.count_reversals(devices, polarity, self._reversals, self._last_polarity)
        # Relaxation owed since the last evaluation is settled, then restarts from this event.
        self._relaxed(devices)
        pop = self.population
        switching_kernel.restart_and_wear(
            devices, self._effective_age_s, self._programmed_at_s, self._reversals, pop.endurance_cycles,
            pop.stuck, pop.stuck_conductance_s, self._g, pop.g_min_s, pop.window_s, self._relaxing,
        )  # fmt: skip

    @cached_property
    def lowest_switching_v(self) -> float:
        """The smallest voltage magnitude at which any device may change (below it nothing happens)."""
        if self._has_virgin:
            return min(self.min_switching_voltage_v, float(self.population.forming_voltage_v.min()))
        return self.min_switching_voltage_v

    def cycles(self) -> np.ndarray:
        """Completed SET/RESET cycles of every device (rows x cols)."""
        return (self._reversals // 2).reshape(self.rows, self.cols)

    def cell_currents(self, index: Index, voltage_v: np.ndarray | float) -> np.ndarray:
        """Noise-free current through each indexed device at a read voltage (A)."""
        return self._relaxed(index) * np.asarray(voltage_v, dtype=float)

    def measure_line_current(
        self, index: Index, voltage_v: np.ndarray | float, integration_s: float | None = None
    ) -> float:
        """Current collected by a sense line from the indexed devices, with read noise (A).

        Each device contributes its current with proportional noise (read_noise_rel); the measurement
        adds a floor (read_noise_floor_a), white: integrating ``integration_s`` scales it by
        sqrt(read_noise_floor_integration_s / integration_s) when both are known.
        """
        noisy = self.noisy_cell_currents(index, voltage_v, integration_s)
        return float(noisy.sum() + self.noise_floor_sample_a(integration_s))

    def noisy_cell_currents(
        self, index: Index, voltage_v: np.ndarray | float, integration_s: float | None = None
    ) -> np.ndarray:
        """Each indexed device's current at its voltage with its own read noise (A), one draw per device:
        the sense lines at both of its ends see the same draw. With fluctuations, each device's 1/f and
        telegraph deviation at the present time, averaged over ``integration_s``, multiplies it too; the
        1/f part at the level of its conductance (``read_noise_flicker_exponent``)."""
        currents = np.atleast_1d(self.cell_currents(index, voltage_v))
        noisy = currents * (1.0 + self.parameters.read_noise_rel * self._rng.standard_normal(currents.size))
        if self._fluctuations is None:
            return noisy
        p = self.parameters
        flicker_scale = None
        if p.read_noise_flicker_exponent:
            # A device near 0 S carries almost no current to fluctuate: the floor keeps the scale finite.
            level = np.maximum(self._g[index], 1e-3 * p.read_noise_flicker_reference_s)
            flicker_scale = (level / p.read_noise_flicker_reference_s) ** p.read_noise_flicker_exponent
        deviation = self._fluctuations.relative(
            index, self._clock_s, integration_s, self._fluctuation_rng, flicker_scale
        )
        return noisy * (1.0 + deviation)

    def noise_floor_sample_a(self, integration_s: float | None = None) -> float:
        """One draw of the measuring instrument's noise floor over ``integration_s`` (A)."""
        return self.noise_floor_sd_a(integration_s) * self._rng.standard_normal()

    def measure_cell_currents(
        self, index: Index, voltage_v: np.ndarray | float, integration_s: float | None = None
    ) -> np.ndarray:
        """Each indexed device's current on a sense line of its own (parallel reads of independent
        devices): its read noise, then a noise floor draw each (A)."""
        noisy = self.noisy_cell_currents(index, voltage_v, integration_s)
        return noisy + self.noise_floor_sd_a(integration_s) * self._rng.standard_normal(noisy.size)

    def noise_floor_sd_a(self, integration_s: float | None) -> float:
        """The noise floor's standard deviation (A), white: it averages down with integration time."""
        p = self.parameters
        floor_a = p.read_noise_floor_a
        if integration_s and p.read_noise_floor_integration_s > 0:
            floor_a *= math.sqrt(p.read_noise_floor_integration_s / integration_s)
        return floor_a
