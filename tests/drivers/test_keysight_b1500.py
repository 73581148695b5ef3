"""Keysight B1500A: FLEX commands of DC and pulsed spot (protocol tests), the emulator, both together."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymeasure.test import expected_protocol

from labrram.drivers.keysight_b1500 import KeysightB1500A, auto_period_s, data_value
from labrram.drivers.simulated.keithley2600b import Resistor
from labrram.drivers.simulated.keysight_b1500 import COMMANDS, SimulatedB1500A
from labrram.drivers.simulated.visa import EmulatorVisaLibrary
from labrram.errors import InstrumentError


def test_pulsed_spot_uses_mm3_pt_pv_and_xe():
    with expected_protocol(
        KeysightB1500A,
        [
            ("CN 1,2", None),
            ("MM 3,2", None),
            ("PT 0,0.001,0.005", None),
            ("PV 2,0,0,-1.8,0.001", None),
            ("XE", None),
            (None, "NBI-1.20000E-04"),
            ("CL", None),
        ],
    ) as analyzer:
        analyzer.enable_channels([1, 2])
        assert analyzer.pulsed_spot_current(2, 0.0, -1.8, 1e-3, 1e-3) == pytest.approx(-1.2e-4)
        analyzer.disable_channels()


def test_dc_spot_uses_dv_and_ti():
    with expected_protocol(
        KeysightB1500A, [("DV 1,0,0.2,0.0001", None), ("TI 1,0", "NAI+2.00000E-05")]
    ) as analyzer:
        assert analyzer.spot_current(1, 0.2, 1e-4) == pytest.approx(2e-5)


def test_errx_errors_are_raised_with_the_command():
    reply = [("ERRX?", '150,"Channel not connected."')]
    with (
        expected_protocol(KeysightB1500A, reply) as analyzer,
        pytest.raises(InstrumentError, match="150: Channel not connected"),
    ):
        analyzer.raise_errors("pulse")


@pytest.mark.parametrize(
    ("width_s", "period_s"), [(1e-3, 5e-3), (3e-3, 5e-3), (50e-3, 52e-3), (0.2, 0.21), (2.0, 2.01)]
)
def test_without_a_period_the_driver_asks_for_the_instruments_auto_period(width_s, period_s):
    assert auto_period_s(width_s) == pytest.approx(period_s)


@pytest.mark.parametrize(("width_s", "period_s"), [(100e-6, None), (3.0, None), (1e-3, 2e-3)])
def test_timings_the_smu_cannot_make_are_refused_before_sending(width_s, period_s):
    with expected_protocol(KeysightB1500A, []) as analyzer, pytest.raises(ValueError, match="pulse"):
        analyzer.pulsed_spot_current(1, 0.0, 1.0, width_s, 1e-3, period_s=period_s)


def test_data_elements_parse_with_or_without_header():
    assert data_value("NAI+1.23456E-04") == pytest.approx(1.23456e-4)
    assert data_value("-4.5E-07") == pytest.approx(-4.5e-7)
    with pytest.raises(ValueError):
        data_value("NAI")


def driven() -> tuple[KeysightB1500A, SimulatedB1500A]:
    emulator = SimulatedB1500A({1: Resistor(1e-4), 2: Resistor(2e-4)})
    library = EmulatorVisaLibrary.serving({"GPIB0::17::INSTR": emulator})
    return KeysightB1500A("GPIB0::17::INSTR", visa_library=library), emulator


def test_the_emulator_pulses_and_measures_through_the_driver():
    analyzer, _ = driven()
    analyzer.enable_channels([1, 2])
    assert analyzer.pulsed_spot_current(2, 0.0, 1.0, 1e-3, 1e-3) == pytest.approx(2e-4)
    assert analyzer.pulsed_spot_current(2, 0.0, 1.0, 1e-3, 1e-4) == pytest.approx(1e-4)  # compliance
    assert analyzer.spot_current(1, 0.3, 1e-3) == pytest.approx(3e-5)
    analyzer.raise_errors("measurement")


def test_the_emulator_queues_the_b1500_errors():
    analyzer, _ = driven()
    analyzer.write("DV 1,0,0.2,1e-4")  # not connected yet
    analyzer.write("PT 0,1e-5,5e-3")  # too short a pulse
    analyzer.write("FOO 1")
    analyzer.write("MM 7,1")
    codes = []
    while True:
        code = int(analyzer.ask("ERRX?").split(",")[0])
        if code == 0:
            break
        codes.append(code)
    assert codes == [150, 120, 100, 120]


@given(st.text(alphabet=st.characters(blacklist_characters="\r\n;"), max_size=40))
@settings(max_examples=400, deadline=None)
def test_any_command_is_executed_or_leaves_an_error_never_a_crash(command):
    emulator = SimulatedB1500A({1: Resistor(1e-4)})
    emulator.write(command)
    replies = []
    while emulator.has_reply():
        replies.append(emulator.read())
    assert all(isinstance(reply, str) for reply in replies)
    if command.strip() and not command.strip().upper().startswith(COMMANDS):
        assert emulator.errors and not replies


def test_the_emulator_takes_common_commands_and_lists_its_modules():
    emulator = SimulatedB1500A({1: Resistor(1e-3), 3: Resistor(1e-3)})

    def ask(command: str) -> str:
        emulator.write(command)
        return emulator.read()

    assert "B1500A" in ask("*IDN?") and ask("*OPC?") == "1"
    assert ask("UNT?").split(";")[:4] == ["B1517A,0", "0,0", "B1517A,0", "0,0"]
    emulator.write("XYZ 1")
    assert int(ask("*STB?")) & 4 and int(ask("*ESR?")) & 32
    emulator.write("*CLS")
    assert ask("ERRX?") == '0,"No Error."'


@pytest.mark.parametrize(
    ("fmt", "element"),
    [(1, "NAI+2.00000E-04"), (2, "+2.00000E-04"), (11, "NAI+2.000000E-04"), (21, "000AI+2.000000E-04")],
)
def test_spot_data_come_in_the_format_fmt_chose(fmt, element):
    emulator = SimulatedB1500A({1: Resistor(1e-3)})
    emulator.write(f"FMT {fmt};CN 1;DV 1,0,0.2,1E-3;MM 1,1;XE")
    assert emulator.read() == element


def test_a_current_force_measures_the_voltage_up_to_its_compliance():
    emulator = SimulatedB1500A({1: Resistor(1e-3)})
    emulator.write("FMT 21;CN 1;DI 1,0,1E-4,2;TV 1,0")
    assert emulator.read() == "000AV+1.000000E-01"
    emulator.write("DI 1,0,1E-2,2;TV 1,0")
    assert emulator.read() == "008AV+2.000000E+00"  # at the compliance: status 8
