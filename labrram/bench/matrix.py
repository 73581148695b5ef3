"""How a switching-matrix bench is cabled: SMU channels on matrix rows, array lines on matrix columns.

A 707B holds up to six cards of 8 rows (A-H) by 12 columns; a column is named "<slot>-<column>" such
as "1-07", and the crosspoint joining it to row B is "1B07". Each SMU channel of the bench plays one
role (the selected word line, the selected bit line, the unselected word lines, the unselected bit
lines) from the matrix row it is cabled to; each word and bit line of an array is cabled to a column.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from labrram.bench.base import ArrayGeometry
from labrram.physics.parameters import ArrayKind

ROLES = ("selected_row", "selected_col", "unselected_rows", "unselected_cols")
MATRIX_ROWS = "ABCDEFGH"
MATRIX_COLUMN = re.compile(r"^([1-6])-(0[1-9]|1[0-2])$")
MATRIX_COLUMNS = 72  # six 8x12 cards
SMU_CHANNEL = re.compile(r"^(smu[12])\.([ab])$")


@dataclass(frozen=True)
class LineWiring:
    """The matrix column ("<slot>-<column>") of each word line (rows) and bit line (cols) of an array."""

    rows: tuple[str, ...]
    cols: tuple[str, ...]


@dataclass(frozen=True)
class RoleWiring:
    """The SMU channel that plays a role (instrument "smu1"/"smu2", channel "a"/"b") and its matrix row."""

    instrument: str
    channel: str
    matrix_row: str


# The layout when a bench file has no [wiring]: smu1 drives the selected lines, smu2 the others.
DEFAULT_ROLES = {
    "selected_row": RoleWiring("smu1", "a", "A"),
    "selected_col": RoleWiring("smu1", "b", "B"),
    "unselected_rows": RoleWiring("smu2", "a", "C"),
    "unselected_cols": RoleWiring("smu2", "b", "D"),
}


def crosspoint(column: str, matrix_row: str) -> str:
    """The 707B crosspoint joining a matrix row to a column: ("1-07", "B") -> "1B07"."""
    slot, number = column.split("-")
    return f"{slot}{matrix_row}{number}"


def device_crosspoints(wiring: LineWiring, row: int, col: int, role_rows: Mapping[str, str]) -> list[str]:
    """The crosspoints that put every line of an array on its role's matrix row for the device at
    (row, col); the lines of a role no source plays stay open (they float)."""
    closed = []
    for axis, lines, selected in (("row", wiring.rows, row), ("col", wiring.cols, col)):
        for index, column in enumerate(lines):
            role = f"selected_{axis}" if index == selected else f"unselected_{axis}s"
            if role in role_rows:
                closed.append(crosspoint(column, role_rows[role]))
    return closed


def check_cabling(
    arrays: Mapping[str, ArrayGeometry], roles: Collection[str], lines: Mapping[str, LineWiring], sources: str
) -> None:
    """Raise ValueError unless the selected lines' roles have sources (``sources``: what plays them, for
    the message), every array is passive and every one of its lines has a matrix column."""
    missing = [role for role in ROLES[:2] if role not in roles]
    if missing:
        raise ValueError(f"the bench needs {sources} for {', '.join(missing)}")
    for name, geometry in arrays.items():
        if geometry.kind is not ArrayKind.PASSIVE:
            raise ValueError(f"array {name!r}: the matrix bench drives passive (0T1R) arrays")
        wiring = lines.get(name)
        if wiring is None or len(wiring.rows) != geometry.rows or len(wiring.cols) != geometry.cols:
            raise ValueError(f"array {name!r}: every word and bit line needs a matrix column")


def consecutive_columns(sizes: list[tuple[str, int, int]]) -> dict[str, LineWiring]:
    """Word lines then bit lines of each (array, rows, cols) on consecutive columns from 1-01 on."""
    lines: dict[str, LineWiring] = {}
    used = 0
    for name, rows, cols in sizes:
        names = [f"{(used + k) // 12 + 1}-{(used + k) % 12 + 1:02d}" for k in range(rows + cols)]
        used += len(names)
        lines[name] = LineWiring(tuple(names[:rows]), tuple(names[rows:]))
    if used > MATRIX_COLUMNS:
        raise ValueError(f"{used} array lines; a 707B with six cards reaches {MATRIX_COLUMNS}")
    return lines


@dataclass(frozen=True)
class MatrixWiring:
    """The whole cabling of a matrix bench: each role's SMU channel and matrix row, each array's lines."""

    roles: dict[str, RoleWiring]
    lines: dict[str, LineWiring]
