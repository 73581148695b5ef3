"""A simulated RRAM array: per-device conductance state driven by cell voltages, vectorized in numpy.

Every operation takes the flat indices of the devices under voltage (``index``: an integer array, or
``slice(None)`` for the whole array) and the voltage across each (positive = SET polarity). Which devices
see which voltage is decided outside, by the bias scheme (`labrram.physics.bias`) or by the simulated
wiring of an instrument emulator.
"""

from __future__ import annotations

import numpy as np

from labrram.physics.parameters import ArrayKind, DeviceParameters
from labrram.physics.population import (
    NOT_STUCK,
    STUCK_HRS,
    STUCK_LRS,
    DevicePopulation,
    lognormal_factor,
)
from labrram.physics.retention import acceleration_factor, relaxation_increment, state_shape

Index = np.ndarray | slice

# A pulse counts as a switching event (endurance, relaxation restart) above this share of the window.
SWITCHING_EVENT_FRACTION = 0.01


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
        self._effective_age_s = 0.0
        self._programmed_at_s = np.zeros(size)
        self._evaluated_at_s = np.zeros(size)
        self._reversals = np.zeros(size, dtype=np.int64)
        self._last_polarity = np.zeros(size, dtype=np.int8)
        self.min_switching_voltage_v = float(min(pop.set_threshold_v.min(), pop.reset_threshold_v.min()))

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

    def conductance_s(self) -> np.ndarray:
        """Present (relaxed) conductance of every device as a rows x cols array: the true state."""
        return self._relaxed(slice(None)).reshape(self.rows, self.cols).copy()

    def set_conductance_s(self, conductance_s: np.ndarray) -> None:
        """Put working devices at given conductances (rows x cols), as if just programmed.

        For starting a simulation from a known or measured state; stuck and virgin devices keep
        their own conductance.
        """
        values = np.asarray(conductance_s, dtype=float).reshape(-1)
        if values.size != self.size or not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ValueError(f"need {self.rows}x{self.cols} finite, non-negative conductances")
        pop = self.population
        working = (pop.stuck == NOT_STUCK) & ~pop.virgin
        self._g = np.where(working, values, self._g)
        self._programmed_at_s = np.where(working, self._effective_age_s, self._programmed_at_s)
        self._evaluated_at_s[:] = self._effective_age_s

    def stuck_map(self) -> np.ndarray:
        """Rows x cols codes: 0 working, 1 stuck in HRS, 2 stuck in LRS."""
        return self.population.stuck.reshape(self.rows, self.cols).copy()

    def _relaxed(self, index: Index) -> np.ndarray:
        """Bring the devices' conductance up to the present age and return it (a view or copy)."""
        p = self.parameters
        pop = self.population
        programmed = self._programmed_at_s[index]
        before = self._evaluated_at_s[index] - programmed
        after = self._effective_age_s - programmed
        g = self._g[index]
        shape = state_shape(g, pop.g_min_s[index], pop.g_max_s[index])
        shape = np.where((pop.stuck[index] == NOT_STUCK) & ~pop.virgin[index], shape, 0.0)
        step = relaxation_increment(
            shape,
            before,
            after,
            p.relaxation_t0_s,
            p.relaxation_drift_s,
            p.relaxation_spread_s,
            self._rng,
        )
        g = np.maximum(g + step, 0.0)
        self._g[index] = g
        self._evaluated_at_s[index] = self._effective_age_s
        return g

    def apply_voltage(
        self,
        index: Index,
        voltage_v: np.ndarray | float,
        width_s: float,
        compliance_a: np.ndarray | float | None = None,
    ) -> np.ndarray:
        """Apply a rectangular pulse to the indexed devices; return the current through each (A).

        ``compliance_a`` limits the current of each device (scalar, per-device array, or None); a
        SET under compliance stops near I_cc / compliance_hold_v.
        """
        p = self.parameters
        pop = self.population
        g = self._relaxed(index)
        v = np.broadcast_to(np.asarray(voltage_v, dtype=float), g.shape)
        positive = v > 0
        g_min = pop.g_min_s[index]
        g_max = pop.g_max_s[index]
        threshold = np.where(positive, pop.set_threshold_v[index], pop.reset_threshold_v[index])
        slope = np.where(positive, p.set_slope_v, p.reset_slope_v)
        rate = np.where(positive, pop.set_rate_per_s[index], pop.reset_rate_per_s[index])
        c2c = np.where(positive, p.set_c2c, p.reset_c2c)
        overdrive = np.maximum(np.abs(v) - threshold, 0.0)
        noise = np.exp(c2c * self._rng.standard_normal(g.size) - 0.5 * c2c * c2c)
        fraction = -np.expm1(-rate * np.expm1(overdrive / slope) * noise * width_s)
        if compliance_a is None:
            cap = g_max
        else:
            g_cc = np.asarray(compliance_a, dtype=float) / p.compliance_hold_v
            cap = np.minimum(g_max, g_cc * lognormal_factor(self._rng, p.compliance_c2c, g.size))
        bound = np.where(positive, pop.set_bound_s[index], pop.reset_bound_s[index])
        moved = g + (bound - g) * fraction
        moved = np.where(
            positive,
            np.minimum(moved, np.maximum(cap, g)),
            np.maximum(moved, np.minimum(g_min, g)),
        )
        virgin = pop.virgin[index]
        frozen = virgin | (pop.stuck[index] != NOT_STUCK)
        g_new = np.where(frozen, g, moved)
        if virgin.any():
            forming = virgin & positive & (v >= pop.forming_voltage_v[index])
            g_new = np.where(forming, cap, g_new)
            pop.virgin[index] = virgin & ~forming
        self._record_switching(index, g, g_new, g_min, g_max)
        self._g[index] = g_new
        current = g_new * v
        if compliance_a is not None:
            limit = np.asarray(compliance_a, dtype=float)
            current = np.clip(current, -limit, limit)
        return current

    def _record_switching(
        self,
        index: Index,
        g_before: np.ndarray,
        g_after: np.ndarray,
        g_min: np.ndarray,
        g_max: np.ndarray,
    ) -> None:
        """Count SET/RESET reversals for endurance, restart relaxation, and wear devices out."""
        change = g_after - g_before
        effective = np.abs(change) > SWITCHING_EVENT_FRACTION * (g_max - g_min)
        if not effective.any():
            return
        polarity = np.sign(change).astype(np.int8)
        last = self._last_polarity[index]
        reversed_ = effective & (last != 0) & (polarity != last)
        reversals = self._reversals[index] + reversed_
        self._reversals[index] = reversals
        self._last_polarity[index] = np.where(effective, polarity, last)
        self._programmed_at_s[index] = np.where(
            effective, self._effective_age_s, self._programmed_at_s[index]
        )
        pop = self.population
        worn = (reversals >= 2 * pop.endurance_cycles[index]) & (pop.stuck[index] == NOT_STUCK)
        if worn.any():
            high = g_after > 0.5 * (g_min + g_max)
            pop.stuck[index] = np.where(worn, np.where(high, STUCK_LRS, STUCK_HRS), pop.stuck[index])
            pop.stuck_conductance_s[index] = np.where(worn, g_after, pop.stuck_conductance_s[index])

    def cycles(self) -> np.ndarray:
        """Completed SET/RESET cycles of every device (rows x cols)."""
        return (self._reversals // 2).reshape(self.rows, self.cols)

    def cell_currents(self, index: Index, voltage_v: np.ndarray | float) -> np.ndarray:
        """Noise-free current through each indexed device at a read voltage (A)."""
        return self._relaxed(index) * np.asarray(voltage_v, dtype=float)

    def measure_line_current(self, index: Index, voltage_v: np.ndarray | float) -> float:
        """Current collected by a sense line from the indexed devices, with read noise (A).

        Each device contributes its current with proportional noise (read_noise_rel); the measurement
        adds a floor (read_noise_floor_a).
        """
        p = self.parameters
        currents = self.cell_currents(index, voltage_v)
        currents = np.atleast_1d(currents)
        noisy = currents * (1.0 + p.read_noise_rel * self._rng.standard_normal(currents.size))
        return float(noisy.sum() + p.read_noise_floor_a * self._rng.standard_normal())
