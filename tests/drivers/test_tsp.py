"""TSP as the emulators run it: Lua 5.1 chunks, the instruments' number format, error codes, scripts,
common commands; and numbers the drivers send read back as the same floats."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labrram.drivers.simulated.keithley707b import Simulated707B
from labrram.drivers.simulated.keithley2600b import Resistor, Simulated2600B
from labrram.drivers.tsp import tsp_value

FINITE = st.floats(allow_nan=False, allow_infinity=False)


def replies(instrument, message: str) -> list[str]:
    instrument.write(message)
    out = []
    while instrument.has_reply():
        out.append(instrument.read())
    return out


def errors(instrument) -> list[tuple[int, str]]:
    found = list(instrument.errors)
    instrument.errors.clear()
    return found


@given(FINITE)
def test_a_number_sent_reads_back_as_the_same_float(value):
    text = tsp_value(value)
    assert float(text) == value
    assert " " not in text and "inf" not in text and "nan" not in text


def test_whole_numbers_go_without_a_decimal_point():
    assert [tsp_value(v) for v in (0.0, -0.0, 1.0, -2.0, 0.5, 1e-4)] == ["0", "0", "1", "-2", "0.5", "0.0001"]


@given(st.floats(-1e300, 1e300))  # 16 digits of the largest doubles round up past the largest
@settings(max_examples=200, deadline=None)
def test_a_number_sent_and_printed_at_full_precision_reads_back(value):
    smu = SMU
    smu.write("format.asciiprecision = 16")
    (printed,) = replies(smu, f"x = {tsp_value(value)} print(x)")
    assert float(printed) == pytest.approx(value, rel=1e-15, abs=0)
    smu.write("format.asciiprecision = 6")


SMU = Simulated2600B(Resistor(1e-3), Resistor(1e-3))


def test_print_uses_the_instruments_format_and_tabs():
    smu = Simulated2600B(Resistor(1e-3), Resistor(1e-3))
    assert replies(smu, 'print(1, "a", nil, true, 2.5e-7)') == ["1.00000e+00\ta\tnil\ttrue\t2.50000e-07"]
    smu.write("format.asciiprecision = 3")
    assert replies(smu, "print(1/3)") == ["3.33e-01"]
    assert replies(smu, "print()") == [""]


def test_lua_runs_whole_chunks_loops_locals_functions_and_string_format():
    smu = Simulated2600B(Resistor(1e-3), Resistor(1e-3))
    chunk = "local total = 0 for i = 1, 10 do total = total + i end function twice(x) return 2 * x end "
    printed = 'print(string.format("%d %s", twice(total), tostring(nil))) -- a comment'
    assert replies(smu, chunk + printed) == ["110 nil"]
    assert replies(smu, "print(total)") == ["nil"]  # a local lives as long as its line (one chunk)
    assert replies(smu, "print(twice(4), math.pow(2, 3), table.getn({1, 2}))") == [
        "8.00000e+00\t8.00000e+00\t2.00000e+00"
    ]


def test_errors_are_queued_with_the_instruments_codes_and_stop_the_chunk():
    smu = Simulated2600B(Resistor(1e-3), Resistor(1e-3))
    assert replies(smu, "print(1) x = = 2") == []  # a syntax error: nothing of the chunk runs
    assert errors(smu)[0][0] == -285
    assert replies(smu, "print(1) y = nil + 1 print(2)") == ["1.00000e+00"]
    ((code, message),) = errors(smu)
    assert code == -286 and message.startswith("TSP Runtime error at line 1: attempt to perform arithmetic")
    smu.write("smua.source.levelv = 500")
    assert errors(smu)[0][0] == -222
    smu.write("smua.source.nonsense = 1")
    assert "no attribute nonsense" in errors(smu)[0][1]


def test_the_error_queue_is_read_the_tsp_way():
    smu = Simulated2600B(Resistor(1e-3), Resistor(1e-3))
    smu.write("undefined_function()")
    assert replies(smu, "print(errorqueue.count)") == ["1.00000e+00"]
    code, message, _severity, node = replies(smu, "print(errorqueue.next())")[0].split("\t")
    assert float(code) == -286 and "undefined_function" in message and float(node) == 1
    assert replies(smu, "print(errorqueue.next())")[0].split("\t")[:2] == ["0.00000e+00", "Queue Is Empty"]


def test_the_sandbox_reaches_nothing_of_the_host():
    smu = Simulated2600B(Resistor(1e-3), Resistor(1e-3))
    assert replies(smu, "print(os, io, require, dofile, loadfile, debug, python)") == ["\t".join(["nil"] * 7)]


def test_scripts_load_between_loadscript_and_endscript_and_run_by_name():
    smu = Simulated2600B(Resistor(1e-3), Resistor(1e-3))
    smu.write("loadscript Ramp\nfor v = 1, 3 do\nprint(v)\nend\nendscript")
    assert replies(smu, "Ramp()") == ["1.00000e+00", "2.00000e+00", "3.00000e+00"]
    assert replies(smu, "Ramp.run() print(Ramp.name)") == [
        "1.00000e+00",
        "2.00000e+00",
        "3.00000e+00",
        "Ramp",
    ]
    assert replies(smu, "loadandrunscript\nprint('now')\nendscript") == ["now"]


def test_common_commands_are_answered_outside_lua():
    smu = Simulated2600B(Resistor(1e-3), Resistor(1e-3))
    assert "2636B" in replies(smu, "*IDN?")[0]
    assert replies(smu, "*OPC?") == ["1"]
    smu.write("bad(")
    assert int(replies(smu, "*STB?")[0]) & 4  # an error is waiting
    assert int(replies(smu, "*ESR?")[0]) & 32  # a command error happened
    smu.write("*CLS")
    assert replies(smu, "*ESR? ; print(errorqueue.count)") == ["0"]
    assert replies(smu, "print(errorqueue.count)") == ["0.00000e+00"]
    smu.write("*XYZ")
    assert errors(smu) == [(-113, "Undefined header")]


def test_the_matrix_takes_ranges_cards_and_patterns():
    matrix = Simulated707B()
    matrix.write('channel.close("1A01:1B03")')
    assert matrix.closed == {"1A01", "1A02", "1A03", "1B01", "1B02", "1B03"}
    assert replies(matrix, 'print(channel.getclose("slot1"))') == ["1A01;1A02;1A03;1B01;1B02;1B03"]
    matrix.write('channel.pattern.setimage("2C05,2D06", "Path1") channel.exclusiveclose("Path1")')
    assert matrix.closed == {"2C05", "2D06"}
    matrix.write('channel.open("allslots")')
    assert replies(matrix, 'print(channel.getclose("allslots"))') == ["nil"]
    matrix.write('channel.close("1B03:1A01")')
    assert errors(matrix)[0][0] == -286 and not matrix.closed
