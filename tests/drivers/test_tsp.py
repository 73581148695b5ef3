"""What the TSP drivers and emulators share: numbers sent in full, chunks split like Lua's parser."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from labrram.drivers.simulated.tsp import split_top_level
from labrram.drivers.tsp import tsp_value

FINITE = st.floats(allow_nan=False, allow_infinity=False)
# Statements without a separator outside brackets: names, calls whose arguments may hold ';' in strings.
ATOM = st.from_regex(r"[a-z][a-z0-9.]{0,8}", fullmatch=True)
STATEMENT = st.one_of(
    ATOM,
    st.builds(lambda name, inner: f"{name}({inner})", ATOM, st.from_regex(r'"[a-z;,]{0,6}"', fullmatch=True)),
    st.builds(lambda name, index: f"{name}[{index}]", ATOM, st.integers(0, 99)),
)


@given(FINITE)
def test_a_number_sent_reads_back_as_the_same_float(value):
    text = tsp_value(value)
    assert float(text) == value
    assert " " not in text and "inf" not in text and "nan" not in text


def test_whole_numbers_go_without_a_decimal_point():
    assert [tsp_value(v) for v in (0.0, -0.0, 1.0, -2.0, 0.5, 1e-4)] == ["0", "0", "1", "-2", "0.5", "0.0001"]


@given(st.lists(STATEMENT, min_size=1, max_size=6))
def test_statements_joined_by_separators_split_back_into_the_same_statements(statements):
    assert split_top_level("; ".join(statements), ";") == statements
    assert split_top_level(", ".join(statements), ",") == statements


def test_separators_inside_strings_and_calls_do_not_split():
    assert split_top_level('channel.close("1A01;1B02"); print(f(a, b), c)', ";") == [
        'channel.close("1A01;1B02")',
        "print(f(a, b), c)",
    ]
    assert split_top_level("f(a, b), t[1], c", ",") == ["f(a, b)", "t[1]", "c"]
