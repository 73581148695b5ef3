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

CELL_CACHE_SIZE = 256  # cell voltages kept for as many combinations of source levels


@dataclass(frozen=True)
class ArrayLine:
    """One word line ("row") or bit line ("col") of an array."""

    array: str
    axis: str
    index: int


@dataclass(frozen=True)
class ArrayRouting:
    """Which source (index into the wiring's matrix rows; -1: none) each line of one array is on.

    ``shared`` lists the lines closed onto two or more sources: which one drives them depends on which
    outputs are on, so they are settled with the levels.
    """

    rows: np.ndarray
    cols: np.ndarray
    shared: tuple[tuple[str, int, tuple[int, ...]], ...]


class SimulatedWiring:
    """Connects SMU channels, through the 707B's crosspoints, to the lines of a simulated chip.

    The routing is worked out once per set of closed crosspoints; each pulse or measurement then only
    looks up the sources' present levels.
    """

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
        self._routed_for: frozenset[str] | None = None
        self._routing: dict[str, ArrayRouting] = {}
        self._reached: dict[str, list[str]] = {}
        self._cells: dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def attach(self, matrix_row: str, smu: SMUState) -> None:
        """Wire an SMU channel to a matrix row (A-H)."""
        self._sources[matrix_row] = smu
        self._routed_for = None

    def load(self, matrix_row: str) -> WiredLoad:
        """The Load an SMU on ``matrix_row`` sees."""
        return WiredLoad(self, matrix_row)

    def source_index(self, matrix_row: str) -> int:
        """The index of a matrix row's source in the routing (and in the levels)."""
        return list(self._sources).index(matrix_row)

    def routing(self) -> dict[str, ArrayRouting]:
        """The routing of every array reached by a source, for the crosspoints closed now."""
        closed = frozenset(self.matrix.closed)
        if closed != self._routed_for:
            self._routing = self._route(closed)
            self._reached = {
                matrix_row: [
                    name
                    for name, routing in self._routing.items()
                    if (routing.rows == source).any()
                    or (routing.cols == source).any()
                    or any(source in sources for _, _, sources in routing.shared)
                ]
                for source, matrix_row in enumerate(self._sources)
            }
            self._routed_for = closed
            self._cells.clear()
        return self._routing

    def _route(self, closed: frozenset[str]) -> dict[str, ArrayRouting]:
        order = list(self._sources)
        on_line: dict[ArrayLine, list[int]] = {}
        for crosspoint in sorted(closed):
            matrix_row, column = crosspoint[1], f"{crosspoint[0]}-{crosspoint[2:]}"
            line = self.columns.get(column)
            if line is not None and matrix_row in self._sources:
                on_line.setdefault(line, []).append(order.index(matrix_row))
        routing = {}
        for name in sorted({line.array for line in on_line}):
            crossbar = self.chip.arrays[name]
            owners = {"row": np.full(crossbar.rows, -1), "col": np.full(crossbar.cols, -1)}
            shared = []
            for line, sources in on_line.items():
                if line.array == name:
                    owners[line.axis][line.index] = sources[0]
                    if len(sources) > 1:
                        shared.append((line.axis, line.index, tuple(sources)))
            routing[name] = ArrayRouting(owners["row"], owners["col"], tuple(shared))
        return routing

    def line_potentials(
        self, array: str, pulsing: str | None = None, level_v: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Row and column potentials of one array (NaN: floating), and the source driving each (-1: none).

        ``pulsing`` names the matrix row whose SMU is at ``level_v`` (a pulse or a measurement) rather
        than at its programmed level; a source whose output is off drives nothing.
        """
        routing = self.routing()[array]
        levels = [
            level_v if row == pulsing else (smu.level_v if smu.output else np.nan)
            for row, smu in self._sources.items()
        ]
        levels_v = np.array([*levels, np.nan])  # index -1: floating
        rows_by, cols_by = routing.rows.copy(), routing.cols.copy()
        for axis, index, sources in routing.shared:
            driving = [source for source in sources if not np.isnan(levels_v[source])]
            if len(driving) > 1:
                names = " and ".join(list(self._sources)[source] for source in driving)
                raise CommandError(
                    TSP_RUNTIME_ERROR,
                    f"TSP Runtime error at line 1: {axis} {index} of {array} is driven by two "
                    f"sources (matrix rows {names})",
                )
            (rows_by if axis == "row" else cols_by)[index] = driving[0] if driving else -1
        rows_v, cols_v = levels_v[rows_by], levels_v[cols_by]
        rows_by[np.isnan(rows_v)] = -1
        cols_by[np.isnan(cols_v)] = -1
        return rows_v, cols_v, rows_by, cols_by

    def cells(self, array: str, matrix_row: str, level_v: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cell voltages (flat), the signs with which each cell's current reaches the SMU on ``matrix_row``
        while it is at ``level_v``, and the cells under voltage; read-only, kept while nothing changes.
        """
        self.routing()
        key = (array, matrix_row, level_v, *((smu.level_v, smu.output) for smu in self._sources.values()))
        found = self._cells.get(key)
        if found is not None:
            return found
        rows_v, cols_v, rows_by, cols_by = self.line_potentials(array, matrix_row, level_v)
        voltages = np.subtract.outer(rows_v, cols_v).ravel()
        voltages[np.isnan(voltages)] = 0.0  # a floating line puts no voltage on its cells
        source = self.source_index(matrix_row)
        signs = np.subtract.outer(
            (rows_by == source).astype(float), (cols_by == source).astype(float)
        ).ravel()
        found = (voltages, signs, np.flatnonzero(voltages))
        for part in found:
            part.setflags(write=False)
        if len(self._cells) >= CELL_CACHE_SIZE:
            self._cells.clear()
        self._cells[key] = found
        return found

    def arrays_reached(self, matrix_row: str) -> list[str]:
        """Arrays with a line connected to the matrix row."""
        self.routing()
        return self._reached.get(matrix_row, [])


class WiredLoad:
    """What one SMU sees through the wiring: the cells between the lines it and the others drive."""

    def __init__(self, wiring: SimulatedWiring, matrix_row: str) -> None:
        self.wiring = wiring
        self.matrix_row = matrix_row

    def pulse(self, level_v: float, width_s: float, limit_a: float) -> float:
        """Every cell under voltage switches for ``width_s``; this SMU's current limit binds its own cells."""
        current = 0.0
        for array in self.wiring.arrays_reached(self.matrix_row):
            voltages, signs, _ = self.wiring.cells(array, self.matrix_row, level_v)
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
            voltages, signs, driven = self.wiring.cells(array, self.matrix_row, level_v)
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
