"""Keysight B2900: driver commands (protocol tests), the emulator, and the two together."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymeasure.test import expected_protocol

from labrram.drivers.keysight_b2900 import KeysightB2900
from labrram.drivers.simulated.keithley2600b import Resistor
from labrram.drivers.simulated.keysight_b2900 import SimulatedB2900
from labrram.drivers.simulated.visa import EmulatorVisaLibrary, visa_adapter
from labrram.errors import InstrumentError


def test_pulse_mode_commands_follow_the_manual():
    with expected_protocol(
        KeysightB2900,
        [
            (":SOUR2:FUNC:MODE VOLT", None),
            (":SENS2:CURR:PROT 0.001", None),
            (":OUTP2 1", None),
            (":SOUR2:FUNC:SHAP PULS", None),
            (":SOUR2:VOLT 0", None),
            (":SOUR2:VOLT:TRIG -1.2", None),
            (":SOUR2:PULS:DEL 0", None),
            (":SOUR2:PULS:WIDT 0.0002", None),
            (":INIT (@2)", None),
            (":FETC:ARR:CURR? (@2)", "-3.000000E-04"),
            (":MEAS:CURR? (@1)", "+1.500000E-05"),
        ],
    ) as smu:
        smu.ch2.source_voltage_mode()
        smu.ch2.compliance_current = 1e-3
        smu.ch2.output_enabled = True
        assert smu.ch2.pulse_voltage_measure_current(-1.2, 2e-4) == -3e-4
        assert smu.ch1.measure_current() == 1.5e-5


def test_errors_are_read_with_syst_err_and_raised():
    with expected_protocol(
        KeysightB2900,
        [
            ("SYST:ERR?", '-222,"Data out of range"'),
            ("SYST:ERR?", '+0,"No error"'),
            ("*IDN?", "Keysight,B2902A,1,2"),
        ],
    ) as smu:
        with pytest.raises(InstrumentError, match="-222: Data out of range"):
            smu.raise_errors("pulse")
        assert smu.id.startswith("Keysight")


def test_pulse_width_below_the_instruments_minimum_is_refused_before_sending():
    sent = [(":SOUR1:FUNC:SHAP PULS", None), (":SOUR1:VOLT 0", None), (":SOUR1:VOLT:TRIG 1", None)]
    sent.append((":SOUR1:PULS:DEL 0", None))
    with expected_protocol(KeysightB2900, sent) as smu, pytest.raises(ValueError, match="not in range"):
        smu.ch1.pulse_voltage_measure_current(1.0, 1e-6)


def driven() -> tuple[KeysightB2900, SimulatedB2900]:
    emulator = SimulatedB2900(Resistor(1e-4), Resistor(2e-4))
    library = EmulatorVisaLibrary.serving({"GPIB0::23::INSTR": emulator})
    return KeysightB2900(visa_adapter(library, "GPIB0::23::INSTR")), emulator


def test_the_emulator_pulses_measures_and_limits_like_the_instrument():
    smu, emulator = driven()
    smu.ch1.source_voltage_mode()
    smu.ch1.output_enabled = True
    smu.ch1.compliance_current = 1e-3
    assert smu.ch1.pulse_voltage_measure_current(2.0, 1e-4) == pytest.approx(2e-4)
    smu.ch1.compliance_current = 5e-5
    assert smu.ch1.pulse_voltage_measure_current(2.0, 1e-4) == pytest.approx(5e-5)
    smu.ch1.shape = "DC"
    smu.ch1.source_voltage = 0.1
    assert smu.ch1.measure_current() == pytest.approx(1e-5)
    assert smu.ch2.measure_current() == 0.0  # output off
    smu.write(":SOURce1:VOLTage 0.2")  # long forms
    assert smu.ch1.source_voltage == pytest.approx(0.2)
    smu.shutdown()
    assert not emulator.channel[1].output and emulator.channel[1].level_v == 0.0
    assert smu.check_errors() == []


def test_the_emulator_queues_scpi_errors():
    smu, _ = driven()
    smu.write(":SOUR1:VOLT 500")
    smu.write(":SOUR1:PULS:WIDT 1e-6")
    smu.write(":SOUR1:VOLT volts")
    smu.write(":BOGUS:THING 1")
    smu.write(":FETC:ARR:CURR? (@1)")
    codes = [int(code) for code, _ in smu.check_errors()]
    assert codes == [-222, -222, -104, -113, -230]


@given(st.text(alphabet=st.characters(blacklist_characters="\r\n;"), max_size=50))
@settings(max_examples=400, deadline=None)
def test_any_command_is_executed_or_leaves_an_error_never_a_crash(command):
    emulator = SimulatedB2900(Resistor(1e-4), Resistor(1e-4))
    emulator.write(command)
    replies = []
    while emulator.has_reply():
        replies.append(emulator.read())
    assert all(isinstance(reply, str) for reply in replies)
    roots = ("SOUR", "SENS", "OUTP", "INIT", "FETC", "MEAS", "SYST")
    known = ("*", *roots, *(":" + root for root in roots))
    if command.strip() and not command.strip().upper().startswith(known):
        assert emulator.errors and not replies
