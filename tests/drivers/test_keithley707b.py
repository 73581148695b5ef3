"""Keithley 707B: the driver's commands (protocol tests), the emulator, and the two together."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymeasure.test import expected_protocol
from pyvisa.errors import VisaIOError

from labrram.drivers.keithley707b import Keithley707B, crosspoint_list, parse_closed
from labrram.drivers.simulated import Simulated707B
from labrram.drivers.simulated.visa import EmulatorVisaLibrary, visa_adapter
from labrram.errors import InstrumentError

EMPTY_QUEUE = "0.00000e+00\tQueue Is Empty\t0.00000e+00\t0.00000e+00"


def test_close_open_and_exclusive_close_send_tsp_channel_calls():
    with expected_protocol(
        Keithley707B,
        [
            ('channel.close("1A01,1B12"); print(errorqueue.count)', "0.00000e+00"),
            ('channel.exclusiveclose("2H03"); print(errorqueue.count)', "0.00000e+00"),
            ('channel.open("1A01"); print(errorqueue.count)', "0.00000e+00"),
            ('channel.open("allslots")', None),
            ("reset()", None),
        ],
    ) as matrix:
        matrix.close_crosspoints(["1a01", "1B12"])
        matrix.exclusive_close(["2H03"])
        matrix.open_crosspoints(["1A01"])
        matrix.open_all()
        matrix.reset()


def test_closed_crosspoints_query_parses_lists_and_nil():
    with expected_protocol(
        Keithley707B,
        [
            ('print(channel.getclose("allslots"))', "1A01;1B02"),
            ('print(channel.getclose("allslots"))', "nil"),
            ("*IDN?", "Keithley Instruments Inc., Model 707B, 04089762, 1.2.1"),
        ],
    ) as matrix:
        assert matrix.closed_crosspoints == {"1A01", "1B02"}
        assert matrix.closed_crosspoints == set()
        assert matrix.id.startswith("Keithley Instruments Inc., Model 707B")


def test_error_queue_is_read_and_raised_with_the_command():
    with expected_protocol(
        Keithley707B,
        [
            ("print(errorqueue.count)", "1.00000e+00"),
            ("print(errorqueue.next())", "-2.86000e+02\tTSP Runtime error\t2.00000e+01\t0.00000e+00"),
            ("print(errorqueue.count)", "0.00000e+00"),
            ("errorqueue.clear()", None),
        ],
    ) as matrix:
        with pytest.raises(InstrumentError, match=r"close 1A01.*-286: TSP Runtime error"):
            matrix.raise_errors("close 1A01")
        matrix.raise_errors("nothing")
        matrix.clear_errors()


@pytest.mark.parametrize("bad", ["7A01", "1I01", "1A13", "1A00", "A01", ""])
def test_crosspoint_names_are_checked_before_sending(bad):
    with pytest.raises(ValueError, match="crosspoint"):
        crosspoint_list([bad])


def test_parse_closed_handles_trailing_separators():
    assert parse_closed("1A01;\n") == {"1A01"}
    assert parse_closed(" nil ") == set()


def driven() -> tuple[Keithley707B, Simulated707B]:
    emulator = Simulated707B()
    library = EmulatorVisaLibrary.serving({"GPIB0::5::INSTR": emulator})
    return Keithley707B(visa_adapter(library, "GPIB0::5::INSTR")), emulator


def test_driver_and_emulator_agree_on_the_crosspoint_state():
    matrix, emulator = driven()
    matrix.close_crosspoints(["1A01", "1B02"])
    matrix.close_crosspoints(["1C03"])
    assert emulator.closed == {"1A01", "1B02", "1C03"} == matrix.closed_crosspoints
    matrix.open_crosspoints(["1B02"])
    assert matrix.closed_crosspoints == {"1A01", "1C03"}
    matrix.exclusive_close(["3D04"])
    assert matrix.closed_crosspoints == {"3D04"}
    matrix.reset()
    assert matrix.closed_crosspoints == set()
    assert matrix.check_errors() == []


def test_emulator_queues_the_instruments_errors_for_bad_commands():
    matrix, emulator = driven()
    matrix.write('channel.close("1A99")')
    matrix.write("channel.close(1A01)")
    matrix.write("launch.rockets()")
    codes = [code for code, _ in matrix.check_errors()]
    assert codes == [-286, -285, -286]  # an unknown object is a run-time error in Lua
    assert emulator.closed == set()
    assert matrix.next_error == (0, "Queue Is Empty")


def test_a_read_without_a_reply_times_out():
    matrix, _ = driven()
    with pytest.raises(VisaIOError, match="VI_ERROR_TMO"):
        matrix.read()


@given(st.text(alphabet=st.characters(blacklist_characters="\r\n"), max_size=60))
@settings(max_examples=400, deadline=None)
def test_any_line_is_run_or_leaves_an_error_and_the_matrix_answers_after(command):
    emulator = Simulated707B()
    emulator.write(command)  # never raises
    while emulator.has_reply():
        assert isinstance(emulator.read(), str)
    emulator.write("endscript")  # ends a script the line may have started loading
    emulator.write("*CLS")
    emulator.write('channel.open("allslots") print(channel.getclose("allslots"), errorqueue.count)')
    assert emulator.read() == "nil\t0.00000e+00"


@given(st.lists(st.sampled_from(["1A01", "1B02", "2C12", "6H01"]), min_size=1, max_size=4), st.booleans())
@settings(max_examples=100, deadline=None)
def test_closing_then_opening_returns_to_the_start(crosspoints, exclusive):
    matrix, _ = driven()
    matrix.close_crosspoints(["5E05"])
    (matrix.exclusive_close if exclusive else matrix.close_crosspoints)(crosspoints)
    expected = set(crosspoints) if exclusive else set(crosspoints) | {"5E05"}
    assert matrix.closed_crosspoints == expected
    matrix.open_crosspoints(crosspoints)
    assert matrix.closed_crosspoints == expected - set(crosspoints)
