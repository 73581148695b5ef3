"""How a switching-matrix bench is cabled: SMU channels on matrix rows, array lines on matrix columns.

A 707B holds up to six cards of 8 rows (A-H) by 12 columns; a column is named "<slot>-<column>" such
as "1-07", and the crosspoint joining it to row B is "1B07". Each SMU channel of the bench plays one
role (the selected word line, the selected bit line, the unselected word lines, the unselected bit
lines) from the matrix row it is cabled to; each word and bit line of an array is cabled to a column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
