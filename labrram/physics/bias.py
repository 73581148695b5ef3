"""Biasing schemes: which voltage every cell of an array sees when one device is addressed.

Passive (0T1R) arrays: the selected word line (row) is driven to V and the selected bit line (column)
to 0; unselected lines follow the scheme:
- V/2: unselected rows and columns at V/2, so the cells sharing a line with the selected one see V/2;
- V/3: unselected rows at V/3 and unselected columns at 2V/3, so every unselected cell sees +-V/3;
- grounded: unselected lines at 0 (the sense potential), as for a read without sneak currents.
A cell's voltage is its row potential minus its column potential (positive = SET polarity).
1T1R arrays: the access transistor of every other row is off, and the unselected bit lines of the
selected row sit at the source-line potential, so only the selected device sees V.
"""

from __future__ import annotations

import numpy as np

from labrram.physics.parameters import ArrayKind, BiasScheme

_UNSELECTED_FRACTIONS = {
    BiasScheme.V_HALF: (0.5, 0.5),
    BiasScheme.V_THIRD: (1.0 / 3.0, 2.0 / 3.0),
    BiasScheme.GROUNDED: (0.0, 0.0),
}


def unselected_levels(scheme: BiasScheme, voltage_v: float) -> tuple[float, float]:
    """Potentials (V) of the unselected rows and of the unselected columns for ``voltage_v``."""
    row_fraction, col_fraction = _UNSELECTED_FRACTIONS[BiasScheme(scheme)]
    return row_fraction * voltage_v, col_fraction * voltage_v


def line_levels(scheme: BiasScheme, voltage_v: float) -> tuple[float, float, float, float]:
    """Potentials (V) of the selected row, the unselected rows, the selected column and the unselected
    columns when a device of a passive array is addressed with ``voltage_v``."""
    unselected_row_v, unselected_col_v = unselected_levels(scheme, voltage_v)
    return voltage_v, unselected_row_v, 0.0, unselected_col_v


def off_time_levels(scheme: BiasScheme, voltage_v: float) -> tuple[float, float, float, float]:
    """`line_levels` while the selected word line waits at the pulse's bias (`pulse_bias_v`) before and
    after the pulse: the unselected rows' level."""
    _, unselected_row_v, selected_col_v, unselected_col_v = line_levels(scheme, voltage_v)
    return unselected_row_v, unselected_row_v, selected_col_v, unselected_col_v


def line_voltages(
    scheme: BiasScheme, rows: int, cols: int, row: int, col: int, voltage_v: float
) -> tuple[np.ndarray, np.ndarray]:
    """Row and column potentials (V) that address (row, col) of a passive array with ``voltage_v``."""
    selected_row_v, unselected_row_v, selected_col_v, unselected_col_v = line_levels(scheme, voltage_v)
    row_v = np.full(rows, unselected_row_v)
    col_v = np.full(cols, unselected_col_v)
    row_v[row] = selected_row_v
    col_v[col] = selected_col_v
    return row_v, col_v


def cell_voltages(row_v: np.ndarray, col_v: np.ndarray) -> np.ndarray:
    """Flat (row-major) voltage across every cell of a passive array for given line potentials."""
    return np.subtract.outer(row_v, col_v).ravel()


def program_targets(
    kind: ArrayKind,
    scheme: BiasScheme,
    rows: int,
    cols: int,
    row: int,
    col: int,
    voltage_v: float,
) -> tuple[np.ndarray | slice, np.ndarray]:
    """Flat indices and voltages of every cell that a pulse on (row, col) reaches."""
    if ArrayKind(kind) is ArrayKind.ONE_T_ONE_R:
        return np.array([row * cols + col]), np.array([voltage_v])
    row_v, col_v = line_voltages(scheme, rows, cols, row, col, voltage_v)
    return slice(None), cell_voltages(row_v, col_v)


def pulse_bias_v(kind: ArrayKind, scheme: BiasScheme, voltage_v: float) -> float:
    """The selected line's level around a pulse of ``voltage_v`` (before and after it): the unselected
    rows' level in a passive array, so that no cell sees more than the scheme's fraction meanwhile."""
    if ArrayKind(kind) is ArrayKind.ONE_T_ONE_R:
        return 0.0
    return unselected_levels(scheme, voltage_v)[0]


def sense_targets(
    kind: ArrayKind,
    scheme: BiasScheme,
    rows: int,
    cols: int,
    row: int,
    col: int,
    voltage_v: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices and voltages of the cells whose currents the selected column collects on a read.

    Cells at 0 V carry no current and are left out (with grounded unselected lines, all but one).
    """
    if ArrayKind(kind) is ArrayKind.ONE_T_ONE_R or BiasScheme(scheme) is BiasScheme.GROUNDED:
        return np.array([row * cols + col]), np.array([voltage_v])
    row_v, _ = line_voltages(scheme, rows, cols, row, col, voltage_v)
    return np.arange(col, rows * cols, cols), row_v.copy()
