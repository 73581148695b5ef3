"""A simulated chip: named arrays sharing one simulated clock and one temperature."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from labrram.physics.array import CrossbarArray, Index
from labrram.physics.parameters import ArrayKind, DeviceParameters
from labrram.physics.retention import acceleration_factor


class SimulatedChip:
    """Arrays of RRAM devices on a simulated clock: time moves only by pulses, reads and waits."""

    def __init__(self, arrays: Mapping[str, CrossbarArray], temperature_c: float = 25.0) -> None:
        if not arrays:
            raise ValueError("a chip needs at least one array")
        self.arrays = dict(arrays)
        self.temperature_c = temperature_c
        self.now_s = 0.0

    @property
    def temperature_c(self) -> float:
        """The chip's temperature (C): every array ages and switches at it."""
        return self._temperature_c

    @temperature_c.setter
    def temperature_c(self, value: float) -> None:
        self._temperature_c = value
        for array in self.arrays.values():
            array.temperature_c = value

    @classmethod
    def build(
        cls,
        parameters: DeviceParameters,
        geometry: Mapping[str, tuple[int, int]],
        kind: ArrayKind,
        rng: np.random.Generator,
    ) -> SimulatedChip:
        """A chip whose arrays (name -> rows, cols) all use one technology."""
        arrays = {
            name: CrossbarArray(parameters, rows, cols, kind, rng) for name, (rows, cols) in geometry.items()
        }
        return cls(arrays)

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass at the present temperature."""
        if seconds < 0:
            raise ValueError(f"time cannot run backwards ({seconds} s)")
        for array in self.arrays.values():
            array.advance(seconds, self.temperature_c)
        self.now_s += seconds

    def clocks(self) -> tuple[np.ndarray, np.ndarray]:
        """The chip's clock then each array's age and clock (s), as a compiled loop advances them, and
        each array's ageing acceleration at the present temperature; `set_clocks` takes them back."""
        values = [self.now_s]
        for array in self.arrays.values():
            values += [array._effective_age_s, array._clock_s]
        factors = [
            acceleration_factor(
                self.temperature_c, a.parameters.reference_temperature_c, a.parameters.activation_energy_ev
            )
            for a in self.arrays.values()
        ]
        return np.array(values), np.array(factors)

    def set_clocks(self, clocks: np.ndarray) -> None:
        """Take back clocks a compiled loop advanced (the layout of `clocks`)."""
        self.now_s = float(clocks[0])
        for k, array in enumerate(self.arrays.values()):
            array._effective_age_s, array._clock_s = float(clocks[1 + 2 * k]), float(clocks[2 + 2 * k])

    def apply(
        self,
        array: str,
        index: Index,
        voltage_v: np.ndarray,
        width_s: float,
        compliance_a: np.ndarray | float | None = None,
    ) -> np.ndarray:
        """Pulse the indexed cells of one array, then let the pulse width pass; currents (A)."""
        currents = self.arrays[array].apply_voltage(index, voltage_v, width_s, compliance_a)
        self.advance(width_s)
        return currents

    def pulse_lines(
        self,
        array: str,
        row: int,
        col: int,
        line_levels_v: tuple[float, float, float, float],
        width_s: float,
        compliance_a: float | None = None,
    ) -> float:
        """Pulse a passive array through its lines (`CrossbarArray.pulse_lines`), then let the pulse
        width pass; the current through the device at (row, col) (A)."""
        current_a = self.arrays[array].pulse_lines(row, col, line_levels_v, width_s, compliance_a)
        self.advance(width_s)
        return current_a

    def measure(
        self,
        array: str,
        index: np.ndarray,
        voltage_v: np.ndarray,
        duration_s: float,
        disturb: tuple[Index, np.ndarray] | None = None,
    ) -> float:
        """Sense the summed current of the indexed cells over ``duration_s`` (A).

        ``disturb`` gives every cell under voltage during the read (indices, voltages) when the read
        voltage can switch devices (above the array's smallest threshold): it acts as a pulse too.
        """
        crossbar = self.arrays[array]
        current = crossbar.measure_line_current(index, voltage_v, duration_s)
        if disturb is not None:
            crossbar.apply_voltage(disturb[0], disturb[1], duration_s)
        self.advance(duration_s)
        return current
