"""The simulated wiring: SMU channels behind the matrix rows, array lines behind the matrix columns.

A line takes the potential of the SMU whose matrix row is connected to it by a closed crosspoint, when
that SMU's output is on; otherwise it floats, at the potential Kirchhoff's current law gives it through
the array's cells (sneak paths: a floating line passes current from driven lines to others). Closing two
lines onto one SMU drives both; two driven SMUs on one line are a short, refused as the instrument's
run-time error. Under DC levels an SMU at its current limit holds the circuit there (its level drops
until its current is the limit), so an SMU in series with it reads the same current; a pulse's limit
caps each cell it drives. A level held for a time is a stimulus
like a pulse: DC measurements and delays with outputs on switch the devices above their thresholds.

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


class _Cells:
    """Line potentials of one array and what follows from them for one source: the cell voltages, the
    signs of their currents at the source, the cells under voltage."""

    def __init__(
        self, rows_v: np.ndarray, cols_v: np.ndarray, rows_by: np.ndarray, cols_by: np.ndarray, source: int
    ) -> None:
        self.rows_v, self.cols_v, self.rows_by, self.cols_by, self.source = (
            rows_v,
            cols_v,
            rows_by,
            cols_by,
            source,
        )
        self.floating = bool(np.isnan(rows_v).any() or np.isnan(cols_v).any())
        voltages = np.subtract.outer(rows_v, cols_v).ravel()
        voltages[np.isnan(voltages)] = 0.0  # floating lines, until settled
        signs = np.subtract.outer(
            (rows_by == source).astype(float), (cols_by == source).astype(float)
        ).ravel()
        self.parts = (voltages, signs, np.flatnonzero(voltages))
        for part in self.parts:
            part.setflags(write=False)
        levels = np.concatenate([rows_v, cols_v])
        self.largest_drop_v = float(np.ptp(levels[~np.isnan(levels)])) if (~np.isnan(levels)).any() else 0.0

    def cells_per_source(self, sources: int) -> np.ndarray:
        """How many cells each source's lines touch."""
        rows, cols = self.rows_by.size, self.cols_by.size
        driven_rows = np.bincount(self.rows_by[self.rows_by >= 0], minlength=sources)
        driven_cols = np.bincount(self.cols_by[self.cols_by >= 0], minlength=sources)
        return driven_rows * cols + driven_cols * rows


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

    def cells(
        self, array: str, matrix_row: str, level_v: float, limited: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cell voltages (flat), the signs with which each cell's current reaches the SMU on ``matrix_row``
        while it is at ``level_v``, and the cells under voltage; read-only.

        Floating lines take the potentials the cells give them; with ``limited`` every source beyond its
        current limit is held at it. Kept while nothing changes when no line floats and no source can
        reach its limit.
        """
        self.routing()
        key = (array, matrix_row, level_v, *((smu.level_v, smu.output) for smu in self._sources.values()))
        found = self._cells.get(key)
        if found is None:
            rows_v, cols_v, rows_by, cols_by = self.line_potentials(array, matrix_row, level_v)
            found = _Cells(rows_v, cols_v, rows_by, cols_by, self.source_index(matrix_row))
            if not found.floating:
                if len(self._cells) >= CELL_CACHE_SIZE:
                    self._cells.clear()
                self._cells[key] = found
        if not found.floating and not (limited and self._may_limit(array, found)):
            return found.parts
        rows_v, cols_v = found.rows_v, found.cols_v
        if limited:
            rows_v, cols_v = self._limited(array, rows_v, cols_v, (found.rows_by, found.cols_by))
        if found.floating:
            rows_v, cols_v = self._settled(array, rows_v, cols_v)
        return _Cells(rows_v, cols_v, found.rows_by, found.cols_by, found.source).parts

    def _may_limit(self, array: str, cells: _Cells) -> bool:
        """Whether any source could pass its current limit: its cells, at the array's largest conductance
        and the largest drop across them, bound its current."""
        bound = self.chip.arrays[array].max_conductance_s() * cells.largest_drop_v
        return any(
            count * bound > smu.limit_a
            for count, smu in zip(
                cells.cells_per_source(len(self._sources)), self._sources.values(), strict=True
            )
        )

    def _settled(self, array: str, rows_v: np.ndarray, cols_v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Line potentials with the floating lines (NaN) at what the cells' currents balance them to."""
        float_rows, float_cols = np.flatnonzero(np.isnan(rows_v)), np.flatnonzero(np.isnan(cols_v))
        driven_rows, driven_cols = np.flatnonzero(~np.isnan(rows_v)), np.flatnonzero(~np.isnan(cols_v))
        if driven_rows.size + driven_cols.size == 0:
            return rows_v, cols_v
        driven_v = np.concatenate([rows_v[driven_rows], cols_v[driven_cols]])
        if np.all(driven_v == driven_v[0]):  # one potential: every floating line sits at it, no current
            return np.where(np.isnan(rows_v), driven_v[0], rows_v), np.where(
                np.isnan(cols_v), driven_v[0], cols_v
            )
        g = self.chip.arrays[array].estimated_conductance_s()
        # Kirchhoff at every floating line: sum over its cells of G (V_line - V_other end) = 0.
        g_ff = g[np.ix_(float_rows, float_cols)]
        n_rows = float_rows.size
        matrix = np.zeros((n_rows + float_cols.size,) * 2)
        matrix[:n_rows, :n_rows] = np.diag(g[float_rows].sum(axis=1))
        matrix[n_rows:, n_rows:] = np.diag(g[:, float_cols].sum(axis=0))
        matrix[:n_rows, n_rows:] = -g_ff
        matrix[n_rows:, :n_rows] = -g_ff.T
        given = np.concatenate(
            [
                g[np.ix_(float_rows, driven_cols)] @ cols_v[driven_cols],
                g[np.ix_(driven_rows, float_cols)].T @ rows_v[driven_rows],
            ]
        )
        solved = np.linalg.lstsq(matrix, given, rcond=None)[0]
        rows_v, cols_v = rows_v.copy(), cols_v.copy()
        rows_v[float_rows], cols_v[float_cols] = solved[:n_rows], solved[n_rows:]
        return rows_v, cols_v

    def _limited(
        self, array: str, rows_v: np.ndarray, cols_v: np.ndarray, by: tuple[np.ndarray, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Line potentials with every source beyond its current limit brought down to the limit.

        The network is linear in each source's level, so two evaluations give the level that passes
        exactly the limit.
        """
        rows_by, cols_by = by
        currents = self._source_currents(array, rows_v, cols_v, by)
        for source, smu in enumerate(self._sources.values()):
            if abs(currents[source]) <= smu.limit_a:
                continue
            mine_rows, mine_cols = rows_by == source, cols_by == source
            level_v = np.concatenate([rows_v[mine_rows], cols_v[mine_cols]])[0]
            rows_0, cols_0 = np.where(mine_rows, 0.0, rows_v), np.where(mine_cols, 0.0, cols_v)
            at_zero = self._source_currents(array, rows_0, cols_0, by)[source]
            slope = (currents[source] - at_zero) / level_v
            if slope == 0.0:
                continue
            limited_v = (np.copysign(smu.limit_a, currents[source]) - at_zero) / slope
            rows_v, cols_v = np.where(mine_rows, limited_v, rows_v), np.where(mine_cols, limited_v, cols_v)
        return rows_v, cols_v

    def _source_currents(
        self, array: str, rows_v: np.ndarray, cols_v: np.ndarray, by: tuple[np.ndarray, np.ndarray]
    ) -> np.ndarray:
        """Current each source drives into the array (noise-free, from the last evaluated conductances),
        floating lines settled: a word line passes sum_j G_ij (V_i - V_j), a bit line the opposite."""
        if np.isnan(rows_v).any() or np.isnan(cols_v).any():
            rows_v, cols_v = self._settled(array, rows_v, cols_v)
            rows_v, cols_v = np.nan_to_num(rows_v), np.nan_to_num(cols_v)
        g = self.chip.arrays[array].estimated_conductance_s()
        into_rows = rows_v * g.sum(axis=1) - g @ cols_v
        out_of_cols = g.T @ rows_v - cols_v * g.sum(axis=0)
        rows_by, cols_by = by
        count = len(self._sources) + 1  # floating lines (-1) land in the last bin, dropped
        by_rows = np.bincount(np.where(rows_by < 0, count - 1, rows_by), into_rows, count)
        by_cols = np.bincount(np.where(cols_by < 0, count - 1, cols_by), out_of_cols, count)
        return (by_rows - by_cols)[:-1]

    def stress(self, duration_s: float, holding: tuple[str, float] | None = None) -> None:
        """Every source on holds its level for ``duration_s`` (``holding``: one source's matrix row at a
        level other than its programmed one, as a pulse's bias): cells above threshold switch."""
        for array in self.routing():
            reaching = [
                row for row, smu in self._sources.items() if smu.output and array in self.arrays_reached(row)
            ]
            if (
                holding is not None
                and holding[0] in self.arrays_reached(holding[0])
                and array in self.arrays_reached(holding[0])
            ):
                matrix_row, level_v = holding
            elif reaching:
                matrix_row = reaching[0]
                level_v = self._sources[matrix_row].level_v
            else:
                continue
            self.apply(
                array, matrix_row, level_v, duration_s, self._sources[matrix_row].limit_a, limited=True
            )

    def apply(
        self, array: str, matrix_row: str, level_v: float, duration_s: float, limit_a: float, limited: bool
    ) -> float:
        """The cells of one array under the sources for ``duration_s`` (the SMU on ``matrix_row`` at
        ``level_v``, its limit binding its own cells); the current it drives."""
        return self.act(array, self.cells(array, matrix_row, level_v, limited), duration_s, limit_a)

    def act(
        self,
        array: str,
        cells: tuple[np.ndarray, np.ndarray, np.ndarray],
        duration_s: float,
        limit_a: float,
    ) -> float:
        """Cells (voltages, signs, those under voltage) held for ``duration_s``; the current of the source
        the signs belong to. Below every threshold nothing switches and nothing is drawn at random."""
        voltages, signs, driven = cells
        crossbar = self.chip.arrays[array]
        if driven.size == 0 or np.abs(voltages[driven]).max() < crossbar.lowest_switching_v:
            g = crossbar.estimated_conductance_s().ravel()[driven]
            return float(np.dot(signs[driven], g * voltages[driven]))
        compliance = np.where(signs != 0, limit_a, np.inf)
        currents = crossbar.apply_voltage(slice(None), voltages, duration_s, compliance)
        return float(np.dot(signs, currents))

    def read_sources(self, array: str, matrix_rows: list[str], duration_s: float) -> list[float]:
        """The currents into several sources at their present levels, read at once over ``duration_s``:
        one noisy current per cell (the sources at both of its ends see the same), a noise floor each."""
        rows_v, cols_v, rows_by, cols_by = self.line_potentials(array)
        if np.isnan(rows_v).any() or np.isnan(cols_v).any():
            rows_v, cols_v = self._settled(array, rows_v, cols_v)
        voltages = np.subtract.outer(rows_v, cols_v)
        driven = np.flatnonzero(voltages)
        crossbar = self.chip.arrays[array]
        currents = np.zeros(voltages.size)
        if driven.size:
            currents[driven] = crossbar.noisy_cell_currents(driven, voltages.ravel()[driven], duration_s)
        grid = currents.reshape(voltages.shape)
        read = []
        for matrix_row in matrix_rows:
            source = self.source_index(matrix_row)
            into = grid[rows_by == source].sum() - grid[:, cols_by == source].sum()
            read.append(float(into + crossbar.noise_floor_sample_a(duration_s)))
        return read

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
            current += self.wiring.apply(array, self.matrix_row, level_v, width_s, limit_a, limited=False)
        self.wiring.chip.advance(width_s)
        return current

    def measure(self, level_v: float, duration_s: float, limit_a: float = np.inf) -> float:
        """The current into this SMU after ``duration_s`` at ``level_v``, the other sources held at their
        limits: the level acts on the cells for that time, then the cells are read with their noise."""
        current = 0.0
        for array in self.wiring.arrays_reached(self.matrix_row):
            cells = self.wiring.cells(array, self.matrix_row, level_v, limited=True)
            self.wiring.act(array, cells, duration_s, limit_a)
            current += self._read(array, cells, duration_s)
        self.wiring.chip.advance(duration_s)
        return current

    def current(self, level_v: float, duration_s: float) -> float:
        """The current into this SMU at ``level_v``, read over ``duration_s`` with the cells' noise, while
        another source's measurement makes the levels act (nothing switches, no time passes here)."""
        return sum(
            self._read(array, self.wiring.cells(array, self.matrix_row, level_v, limited=True), duration_s)
            for array in self.wiring.arrays_reached(self.matrix_row)
        )

    def _read(self, array: str, cells: tuple[np.ndarray, np.ndarray, np.ndarray], duration_s: float) -> float:
        voltages, signs, driven = cells
        mine = driven[signs[driven] != 0]
        if not mine.size:
            return 0.0
        return self.wiring.chip.arrays[array].measure_line_current(
            mine, voltages[mine] * signs[mine], duration_s
        )

    @staticmethod
    def read_together(loads: list[WiredLoad], duration_s: float) -> list[float]:
        """The currents into several sources of one wiring at their present levels, read at once."""
        if not loads:
            return []
        wiring = loads[0].wiring
        rows = [load.matrix_row for load in loads]
        totals = [0.0] * len(loads)
        for array in sorted({a for row in rows for a in wiring.arrays_reached(row)}):
            for k, current in enumerate(wiring.read_sources(array, rows, duration_s)):
                totals[k] += current
        return totals

    def rest(self, level_v: float, duration_s: float) -> None:
        """The pulse's off time at ``level_v`` (its bias): the levels act on the cells, then time passes."""
        self.wiring.stress(duration_s, (self.matrix_row, level_v))
        self.wiring.chip.advance(duration_s)

    def stress(self, duration_s: float) -> None:
        """Time at the present levels acts on the cells (the clock is the caller's to advance)."""
        self.wiring.stress(duration_s)
