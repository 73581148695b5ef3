"""Keithley 2600B: driver commands (protocol tests), the emulator, and the two together."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymeasure.test import expected_protocol

from labrram.drivers.keithley2600b import Keithley2600B
from labrram.drivers.simulated.keithley2600b import Resistor, Simulated2600B
from labrram.drivers.simulated.server import InstrumentServer
from labrram.drivers.simulated.visa import EmulatorVisaLibrary, visa_adapter
from labrram.errors import InstrumentError


def test_source_settings_are_tsp_assignments_and_read_backs():
    with expected_protocol(
        Keithley2600B,
        [
            ("smua.source.func = smua.OUTPUT_DCVOLTS", None),
            ("smua.source.levelv = 0.2", None),
            ("smub.source.limiti = 0.001", None),
            ("smua.measure.nplc = 0.01", None),
            ("smua.source.output = 1", None),
            ("print(smua.source.levelv)", "2.00000e-01"),
            ("print(smub.source.output)", "0.00000e+00"),
        ],
    ) as smu:
        smu.smua.source_voltage_mode()
        smu.smua.source_voltage = 0.2
        smu.smub.compliance_current = 1e-3
        smu.smua.nplc = 0.01
        smu.smua.output_enabled = True
        assert smu.smua.source_voltage == 0.2
        assert smu.smub.output_enabled is False


def test_measure_and_pulse_measure_are_one_message_each_with_the_error_count():
    with expected_protocol(
        Keithley2600B,
        [
            ("print(smub.measure.i(), errorqueue.count)", "-1.25000e-05\t0.00000e+00"),
            (
                "smua.nvbuffer1.clear(); labrram_start_s = timer.measure.t(); "
                "PulseVMeasureI(smua, 0, 1.5, 0.0002, 0.0001, 1); smua.source.levelv = 0; "
                "print(smua.nvbuffer1.readings[1], labrram_start_s, errorqueue.count)",
                "3.00000e-04\t1.25000e+00\t0.00000e+00",
            ),
            (
                "smua.source.limiti = 0.0005; smua.nvbuffer1.clear(); labrram_start_s = timer.measure.t(); "
                "PulseVMeasureI(smua, 0, -1, 0.0001, 0.0001, 1); smua.source.levelv = 0; "
                "print(smua.nvbuffer1.readings[1], labrram_start_s, errorqueue.count)",
                "-5.00000e-04\t2.00000e+00\t0.00000e+00",
            ),
        ],
    ) as smu:
        assert smu.smub.measure_current() == -1.25e-5
        assert smu.smua.pulse_voltage_measure_current(1.5, 2e-4) == (3e-4, 1.25)
        assert smu.smua.pulse_voltage_measure_current(-1.0, 1e-4, compliance_a=5e-4) == (-5e-4, 2.0)


def test_levels_reads_and_source_setup_go_as_checked_chunks():
    with expected_protocol(
        Keithley2600B,
        [
            ("smua.source.levelv = 0.5; smub.source.levelv = -1; print(errorqueue.count)", "0.00000e+00"),
            (
                "smub.nvbuffer1.clear(); labrram_start_s = timer.measure.t(); smua.source.levelv = 0.2; "
                "smub.measure.i(smub.nvbuffer1); smua.source.levelv = 0; "
                "print(smub.nvbuffer1.readings[1], labrram_start_s, errorqueue.count)",
                "-4.00000e-06\t3.50000e+00\t0.00000e+00",
            ),
            (
                "smub.source.func = smub.OUTPUT_DCVOLTS; smub.source.levelv = 0; smub.measure.nplc = 0.005; "
                "smub.measure.autorangei = 1; smub.source.output = 1; print(errorqueue.count)",
                "0.00000e+00",
            ),
            (
                "smua.source.func = smua.OUTPUT_DCVOLTS; smua.source.levelv = 0; smua.measure.nplc = 1; "
                "smua.measure.rangei = 0.0001; smua.source.output = 1; print(errorqueue.count)",
                "0.00000e+00",
            ),
        ],
    ) as smu:
        smu.source_voltages({"smua": 0.5, "smub": -1.0})
        assert smu.measure_current_while_sourcing("smua", 0.2, "smub") == (-4e-6, 3.5)
        smu.smub.start_voltage_source(0.005)
        smu.smua.start_voltage_source(1, current_range_a=100e-6)


def test_the_current_measure_range_and_autorange_are_tsp_attributes():
    with expected_protocol(
        Keithley2600B,
        [
            ("smua.measure.rangei = 1e-05", None),
            ("print(smua.measure.rangei)", "1.00000e-05"),
            ("smub.measure.autorangei = 1", None),
            ("print(smub.measure.autorangei)", "1.00000e+00"),
        ],
    ) as smu:
        smu.smua.measure_range_i = 1e-5
        assert smu.smua.measure_range_i == 1e-5
        smu.smub.measure_autorange_i = True
        assert smu.smub.measure_autorange_i is True


def test_a_current_beyond_a_fixed_range_reads_over_range_and_is_refused():
    smu, _ = driven(1e-4)  # 1e-4 S: 30 uA at 0.3 V
    smu.smua.start_voltage_source(0.01, current_range_a=10e-6)
    assert smu.smua.measure_range_i == 10e-6
    smu.smua.source_voltage = 0.05
    assert smu.smua.measure_current() == pytest.approx(5e-6)  # within the 10 uA range
    smu.smua.source_voltage = 0.3
    with pytest.raises(ValueError, match="over range"):
        smu.smua.measure_current()
    assert smu.ask("print(smua.measure.i())") == "9.91000e+37"
    smu.write("smua.measure.autorangei = smua.AUTORANGE_ON")
    assert smu.smua.measure_current() == pytest.approx(3e-5)
    assert smu.smua.measure_range_i == 100e-6  # autorange picked the range holding 30 uA
    smu.write("smua.measure.autorangei = smua.AUTORANGE_OFF")  # stays on that range
    assert smu.smua.measure_range_i == 100e-6 and smu.smua.measure_autorange_i is False
    smu.write("smua.measure.rangei = 2")
    assert [code for code, _ in smu.check_errors()] == [-222]


def test_a_tsp_link_node_is_commanded_through_the_master_in_the_same_message():
    with expected_protocol(
        Keithley2600B,
        [
            (
                "node[2].smua.source.levelv = 0.5; node[2].smub.source.levelv = 1; smua.nvbuffer1.clear(); "
                "labrram_start_s = timer.measure.t(); PulseVMeasureI(smua, 0, 1.5, 0.0001, 0.0001, 1); "
                "smua.source.levelv = 0; node[2].smua.source.levelv = 0; node[2].smub.source.levelv = 0; "
                "print(smua.nvbuffer1.readings[1], labrram_start_s, errorqueue.count)",
                "2.00000e-04\t1.00000e+00\t0.00000e+00",
            ),
            ("node[2].smub.source.levelv = 0", None),
            ("node[2].smub.source.output = 0", None),
        ],
    ) as smu:
        remote_a, remote_b = smu.linked_channel(2, "a"), smu.linked_channel(2, "b")
        others = {remote_a.id: 0.5, remote_b.id: 1.0}
        assert smu.smua.pulse_voltage_measure_current(1.5, 1e-4, others_v=others) == (2e-4, 1.0)
        remote_b.shutdown()


def test_the_emulated_master_forwards_node_commands_and_queues_the_nodes_errors():
    master = Simulated2600B(Resistor(1e-4), Resistor(1e-4))
    node = Simulated2600B(Resistor(2e-4), Resistor(1e-4))
    master.link(2, node)
    library = EmulatorVisaLibrary.serving({"GPIB0::5::INSTR": master})
    smu = Keithley2600B(visa_adapter(library, "GPIB0::5::INSTR"))
    remote = smu.linked_channel(2, "a")
    remote.start_voltage_source(0.01)
    remote.source_voltage = 0.25
    assert node.smu["a"].output and node.smu["a"].level_v == 0.25 and not master.smu["a"].output
    assert remote.source_voltage == 0.25 and remote.measure_current() == pytest.approx(5e-5)
    smu.write("node[2].smua.source.levelv = 300; node[3].smua.source.levelv = 1")
    smu.write("node[3].smua.source.levelv = 1")
    assert [code for code, _ in smu.check_errors()] == [-222, -286]
    assert not node.errors


def test_a_reply_with_errors_counted_raises_them():
    with (
        expected_protocol(
            Keithley2600B,
            [
                ("smua.source.levelv = 1; print(errorqueue.count)", "1.00000e+00"),
                ("print(errorqueue.count)", "1.00000e+00"),
                ("print(errorqueue.next())", "-2.22000e+02\tData out of range\t2.00000e+01\t0.00000e+00"),
            ],
        ) as smu,
        pytest.raises(InstrumentError, match="-222: Data out of range"),
    ):
        smu.source_voltages({"smua": 1.0})


def test_shutdown_returns_both_outputs_to_zero_and_off():
    with expected_protocol(
        Keithley2600B,
        [
            ("smua.source.levelv = 0", None),
            ("smua.source.output = 0", None),
            ("smub.source.levelv = 0", None),
            ("smub.source.output = 0", None),
        ],
    ) as smu:
        smu.shutdown()


@pytest.mark.parametrize(
    ("action", "match"),
    [
        (lambda smu: setattr(smu.smua, "source_voltage", 250), "not in range"),
        (lambda smu: setattr(smu.smua, "compliance_current", 2.0), "not in range"),
        (lambda smu: smu.smua.pulse_voltage_measure_current(1.0, 200e-9), "at least"),
        (lambda smu: smu.smua.pulse_voltage_measure_current(1.0, 1e-4, compliance_a=3.0), "not in range"),
        (lambda smu: smu.source_voltages({"smua": 0.1, "smub": 201.0}), "not in range"),
        (lambda smu: smu.source_voltages({"smuc": 0.1}), "not a 2600B SMU channel"),
        (lambda smu: smu.linked_channel(33, "a"), "not a 2600B SMU channel"),
        (lambda smu: smu.measure_current_while_sourcing("smua", -250.0, "smub"), "not in range"),
    ],
)
def test_out_of_range_requests_never_reach_the_instrument(action, match):
    with expected_protocol(Keithley2600B, []) as smu, pytest.raises(ValueError, match=match):
        action(smu)


def driven(conductance_s: float = 1e-4) -> tuple[Keithley2600B, Simulated2600B]:
    emulator = Simulated2600B(Resistor(conductance_s), Resistor(2 * conductance_s))
    library = EmulatorVisaLibrary.serving({"GPIB0::5::INSTR": emulator})
    return Keithley2600B(visa_adapter(library, "GPIB0::5::INSTR")), emulator


def test_the_emulator_sources_measures_and_limits_current_like_the_instrument():
    smu, emulator = driven()
    smu.smua.source_voltage_mode()
    smu.smua.source_voltage = 0.3
    assert smu.smua.measure_current() == 0.0  # output off: nothing flows
    smu.smua.output_enabled = True
    assert smu.smua.measure_current() == pytest.approx(3e-5)
    smu.smua.compliance_current = 1e-5
    assert smu.smua.measure_current() == pytest.approx(1e-5)  # compliance
    assert smu.smua.pulse_voltage_measure_current(-2.0, 1e-4).current_a == pytest.approx(-1e-5)
    smu.smub.output_enabled = True
    smu.smub.source_voltage = 0.1
    assert smu.smub.measure_current() == pytest.approx(2e-5)
    smu.reset()
    assert emulator.smu["a"].level_v == 0.0 and not emulator.smu["a"].output
    assert smu.check_errors() == []


def test_a_chunk_runs_its_statements_in_order_and_stops_at_the_first_error():
    smu, emulator = driven()
    smu.write("smua.source.levelv = 0.4; smub.source.levelv = 500; smua.source.levelv = 0.7; print(1)")
    assert emulator.smu["a"].level_v == 0.4 and emulator.smu["b"].level_v == 0.0
    assert not emulator.has_reply()  # nothing after the failing statement ran
    assert [code for code, _ in smu.check_errors()] == [-222]


def test_the_emulator_measures_into_the_buffer_and_prints_several_values_with_tabs():
    smu, emulator = driven(1e-4)
    smu.smub.start_voltage_source(0.01)
    smu.smua.start_voltage_source(0.01)
    emulator.timebase.advance(2.5)
    reading = smu.measure_current_while_sourcing("smua", 0.3, "smua")
    assert reading.current_a == pytest.approx(3e-5) and reading.timer_s == 2.5
    assert emulator.smu["a"].level_v == 0.0  # back at after_v
    assert smu.ask("print(smua.nvbuffer1.readings[1], smua.nvbuffer1.readings[2])") == "3.00000e-05\tnil"


def test_timer_delay_and_precision_follow_the_timebase():
    smu, emulator = driven()
    smu.set_precision(14)
    smu.delay(12.5)
    assert smu.timer_s() == pytest.approx(12.5, abs=1e-12)
    smu.write("timer.reset()")
    smu.delay(0.25)
    assert smu.timer_s() == pytest.approx(0.25, abs=1e-12)
    assert emulator.timebase.now_s == pytest.approx(12.75)


def test_the_emulator_queues_errors_for_out_of_range_and_unknown_commands():
    smu, _ = driven()
    smu.write("smua.source.levelv = 300")
    smu.write("smua.measure.nplc = 100")
    smu.write("PulseVMeasureI(smua, 0, 1, 1e-7, 1e-3, 1)")
    smu.write("smua.source.levelv = lots")
    smu.write("printbuffer(1, 1, smub.nvbuffer1.readings)")
    smu.write("format.data = 3")
    assert [code for code, _ in smu.check_errors()] == [-222, -222, -286, -286, -286, -222]
    assert smu.smua.source_voltage == 0.0


@given(st.text(alphabet=st.characters(blacklist_characters="\r\n"), max_size=60))
@settings(max_examples=400, deadline=None)
def test_any_line_is_run_or_leaves_an_error_and_the_instrument_answers_after(command):
    emulator = Simulated2600B(Resistor(1e-4), Resistor(1e-4))
    emulator.write(command)
    while emulator.has_reply():
        assert isinstance(emulator.read(), str)
    emulator.write("endscript")  # ends a script the line may have started loading
    emulator.write("*CLS")
    emulator.write("print(1, errorqueue.count)")
    assert emulator.read() == "1.00000e+00\t0.00000e+00"


def test_a_runaway_script_is_stopped_with_an_error():
    emulator = Simulated2600B(Resistor(1e-4), Resistor(1e-4))
    emulator.write("while true do end")
    ((code, message),) = emulator.errors
    assert code == -286 and "too long" in message


def test_a_delay_longer_than_the_timeout_is_awaited_in_full():
    emulator = Simulated2600B(Resistor(1e-4), Resistor(1e-4))
    emulator.timebase.advance = time.sleep  # a real instrument really waits
    with InstrumentServer({"smu": emulator}) as server:
        smu = Keithley2600B(visa_adapter("@py", server.resources["smu"]))
        smu.adapter.connection.timeout = 100  # ms
        started = time.monotonic()
        smu.delay(0.3)
        assert time.monotonic() - started >= 0.3
        assert smu.adapter.connection.timeout == 100  # back as it was
        assert smu.error_count() == 0
        smu.adapter.close()
