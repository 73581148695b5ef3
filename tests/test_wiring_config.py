"""The [wiring] table: which SMU channel plays each role on which matrix row, and each line's column."""

from __future__ import annotations

import pytest

from labrram.bench.factory import matrix_wiring
from labrram.bench.matrix import DEFAULT_ROLES, RoleWiring
from labrram.cli import example_config
from labrram.config import load_config, parse_config
from labrram.errors import ConfigError

ROWS = ["2-01", "1-03", "1-02", "1-01"]
COLS = ["3-12", "3-11", "1-04", "2-05"]


def config(wiring: dict | None = None, arrays: list | None = None):
    document = {
        "bench": {"name": "w", "seed": 1},
        "sample": {"chip": "c", "preset": "tio2-passive-8x8", "arrays": arrays or [{"rows": 4, "cols": 4}]},
    }
    if wiring is not None:
        document["wiring"] = wiring
    return parse_config(document)


def test_without_a_table_the_default_cabling_puts_lines_in_order():
    cabling = matrix_wiring(config())
    assert cabling.roles == DEFAULT_ROLES
    assert cabling.lines["A1"].rows == ("1-01", "1-02", "1-03", "1-04")
    assert cabling.lines["A1"].cols == ("1-05", "1-06", "1-07", "1-08")


def test_the_shipped_instruments_bench_spells_out_the_default_cabling():
    shipped = load_config(example_config("tio2-instruments-bench.toml"))
    default = matrix_wiring(type(shipped)(**{**shipped.__dict__, "wiring": None}))
    assert shipped.wiring == default


def test_roles_and_lines_come_from_the_table():
    cabling = matrix_wiring(
        config(
            {
                "selected_row": {"smu": "smu2.b", "matrix_row": "H"},
                "selected_col": {"smu": "smu1.a", "matrix_row": "E"},
                "lines": {"A1": {"rows": ROWS, "cols": COLS}},
            }
        )
    )
    assert cabling.roles == {
        "selected_row": RoleWiring("smu2", "b", "H"),
        "selected_col": RoleWiring("smu1", "a", "E"),
    }
    assert (cabling.lines["A1"].rows, cabling.lines["A1"].cols) == (tuple(ROWS), tuple(COLS))


def test_a_matrix_bench_with_too_many_lines_for_six_cards_is_refused_when_built():
    big = config(arrays=[{"rows": 64, "cols": 64}])  # a direct bench may still use it
    with pytest.raises(ConfigError) as error:
        matrix_wiring(big)
    assert error.value.key == "sample.arrays" and "72" in error.value.problem


SELECTED = {
    "selected_row": {"smu": "smu1.a", "matrix_row": "A"},
    "selected_col": {"smu": "smu1.b", "matrix_row": "B"},
}


@pytest.mark.parametrize(
    ("wiring", "key"),
    [
        ({"probe_card": {}}, "wiring.probe_card"),
        ({"selected_row": SELECTED["selected_row"]}, "wiring.selected_col"),
        ({**SELECTED, "selected_col": "smu1.b"}, "wiring.selected_col"),
        ({**SELECTED, "selected_col": {"smu": "smu3.a", "matrix_row": "B"}}, "wiring.selected_col.smu"),
        ({**SELECTED, "selected_col": {"smu": "smu1.a", "matrix_row": "B"}}, "wiring.selected_col.smu"),
        (
            {**SELECTED, "selected_col": {"smu": "smu1.b", "matrix_row": "A"}},
            "wiring.selected_col.matrix_row",
        ),
        (
            {**SELECTED, "selected_col": {"smu": "smu1.b", "matrix_row": "J"}},
            "wiring.selected_col.matrix_row",
        ),
        ({**SELECTED, "selected_col": {"smu": "smu1.b", "matrix_row": "B", "x": 1}}, "wiring.selected_col.x"),
        ({"lines": {"A2": {"rows": ROWS, "cols": COLS}}}, "wiring.lines.A2"),
        ({"lines": {}}, "wiring.lines.A1"),
        ({"lines": {"A1": {"rows": ROWS[:3], "cols": COLS}}}, "wiring.lines.A1.rows"),
        ({"lines": {"A1": {"rows": ROWS, "cols": [*COLS[:3], "7-01"]}}}, "wiring.lines.A1.cols"),
        ({"lines": {"A1": {"rows": ROWS, "cols": [*COLS[:3], "1-13"]}}}, "wiring.lines.A1.cols"),
        ({"lines": {"A1": {"rows": ROWS, "cols": [*COLS[:3], ROWS[0]]}}}, "wiring.lines.A1.cols"),
        ({"lines": {"A1": {"rows": ROWS, "cols": [*COLS[:3], 5]}}}, "wiring.lines.A1.cols"),
    ],
)
def test_wiring_errors_name_the_key(wiring, key):
    with pytest.raises(ConfigError) as error:
        config(wiring)
    assert error.value.key == key
