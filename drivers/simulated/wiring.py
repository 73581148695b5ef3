"""The simulated wiring: SMU channels behind the matrix rows, array lines behind the matrix columns.

A line takes the potential of the SMU whose matrix row is connected to it by a closed crosspoint, when
that SMU's output is on; otherwise it floats and puts no voltage on its cells (a cell sees a voltage only
when both its word line and its bit line are driven). Closing two lines onto one SMU drives both; two
driven SMUs on one line are a short, refused as the instrument's run-time error.

Matrix columns are named ``"<slot>-<column>"`` (``"1-01"`` ... ``"6-12"``), each wired to one line of one
array: ``("A1", "row", 3)`` is word line 3 of array A1, ``("A1", "col", 0)`` bit line 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from labrram.drivers.simulated.emulator import CommandError
from labrram.drivers.simulated.keithley707b import Simulated707B
from labrram.drivers.simulated.keithley2600b import SMUState
from labrram.drivers.simulated.tsp import TSP_RUNTIME_ERROR
from labrram.physics.chip import SimulatedChip


@dataclass(frozen=True)
class ArrayLine:
    """One word line ("row") or bit line ("col") of an array."""

    array: str
    axis: str
    index: int


class SimulatedWiring:
    """Connects SMU channels, through the 707B's crosspoints, to the lines of a simulated chip."""

    def __init__(self, chip: SimulatedChip, matrix: Simulated707B, columns: Mapping[str, ArrayLine]) -> None:
        for column, line in columns.items():
            array = chip.arrays.get(line.array)
            size = None if array is None else (array.rows if line.axis == "row" else array.cols)
            if size is None or line.axis not in ("row", "col") or not 0 <= line.index < size:
                raise ValueError(f"matrix column {column} is wired to {line}, which the chip does not have")
        self.chip = chip
        self.matrix = matrix
        self.columns = dict(columns)
        self._sources: dict[str, SMUState] = {}

    def attach(self, matrix_row: str, smu: SMUState) -> None:
        """Wire an SMU channel to a matrix row (A-H)."""
        self._sources[matrix_row] = smu

    def load(self, matrix_row: str) -> WiredLoad:
        """The Load an SMU on ``matrix_row`` sees."""
        return WiredLoad(self, matrix_row)

    def line_potentials(
        self, array: str, pulsing: str | None = None, level_v: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Row and column potentials of one array (NaN: floating), and which matrix row drives each line.

        ``pulsing`` names the matrix row whose SMU is at ``level_v`` (a pulse or a measurement) rather
        than at its programmed level.
        """
        crossbar = self.chip.arrays[array]
        rows_v, cols_v = np.full(crossbar.rows, np.nan), np.full(crossbar.cols, np.nan)
        rows_by, cols_by = np.full(crossbar.rows, "", dtype=object), np.full(crossbar.cols, "", dtype=object)
        for crosspoint in sorted(self.matrix.closed):
            matrix_row, column = crosspoint[1], f"{crosspoint[0]}-{crosspoint[2:]}"
            line = self.columns.get(column)
            smu = self._sources.get(matrix_row)
            if line is None or smu is None or line.array != array:
                continue
            if matrix_row != pulsing and not smu.output:
                continue
            potential = level_v if matrix_row == pulsing else smu.level_v
            values, owners = (rows_v, rows_by) if line.axis == "row" else (cols_v, cols_by)
            if owners[line.index] and owners[line.index] != matrix_row:
                raise CommandError(
                    TSP_RUNTIME_ERROR,
                    f"TSP Runtime error at line 1: {line.axis} {line.index} of {array} is driven by two "
                    f"sources (matrix rows {owners[line.index]} and {matrix_row})",
                )
            values[line.index], owners[line.index] = potential, matrix_row
        return rows_v, cols_v, rows_by, cols_by

    def arrays_reached(self, matrix_row: str) -> list[str]:
        """Arrays with a line connected to the matrix row."""
        reached = {
            self.columns[f"{c[0]}-{c[2:]}"].array
            for c in self.matrix.closed
            if c[1] == matrix_row and f"{c[0]}-{c[2:]}" in self.columns
        }
        return sorted(reached)


class WiredLoad:
    """What one SMU sees through the wiring: the cells between the lines it and the others drive."""

    def __init__(self, wiring: SimulatedWiring, matrix_row: str) -> None:
        self.wiring = wiring
        self.matrix_row = matrix_row

    def _cells(self, array: str, level_v: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cell voltages (flat), and the signs with which each cell's current reaches this SMU."""
        rows_v, cols_v, rows_by, cols_by = self.wiring.line_potentials(array, self.matrix_row, level_v)
        voltages = np.subtract.outer(rows_v, cols_v).ravel()
        voltages[np.isnan(voltages)] = 0.0  # a floating line puts no voltage on its cells
        mine_rows = (rows_by == self.matrix_row).astype(float)
        mine_cols = (cols_by == self.matrix_row).astype(float)
        signs = np.subtract.outer(mine_rows, mine_cols).ravel()
        return voltages, signs, np.flatnonzero(voltages)

    def pulse(self, level_v: float, width_s: float, limit_a: float) -> float:
        """Every cell under voltage switches for ``width_s``; this SMU's current limit binds its own cells."""
        current = 0.0
        for array in self.wiring.arrays_reached(self.matrix_row):
            voltages, signs, _ = self._cells(array, level_v)
            compliance = np.where(signs != 0, limit_a, np.inf)
            currents = self.wiring.chip.arrays[array].apply_voltage(
                slice(None), voltages, width_s, compliance
            )
            current += float(np.dot(signs, currents))
        self.wiring.chip.advance(width_s)
        return current

    def measure(self, level_v: float, duration_s: float) -> float:
        current = 0.0
        for array in self.wiring.arrays_reached(self.matrix_row):
            voltages, signs, driven = self._cells(array, level_v)
            mine = driven[signs[driven] != 0]
            if mine.size:
                sense = self.wiring.chip.arrays[array].measure_line_current(
                    mine, voltages[mine] * signs[mine]
                )
                current += sense
        self.wiring.chip.advance(duration_s)
        return current

    def rest(self, level_v: float, duration_s: float) -> None:
        self.wiring.chip.advance(duration_s)
