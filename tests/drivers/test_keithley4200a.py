"""The simulated 4200A-SCS under KXCI and the driver that speaks to it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from labrram.drivers.keithley4200a import Keithley4200A, parse_points, parse_reading
from labrram.drivers.simulated.keithley2600b import Resistor
from labrram.drivers.simulated.keithley4200a import WAVEFORM_POINTS, Simulated4200A
from labrram.drivers.simulated.visa import EmulatorVisaLibrary, visa_adapter
from labrram.errors import InstrumentError

DEVICE_S = 1e-4  # a 10 kohm device on PMU channel 1
RESOURCE = "TCPIP0::localhost::1225::SOCKET"


def analyzer() -> Simulated4200A:
    return Simulated4200A({1: Resistor(1e-3), 2: Resistor(0.0)}, {1: Resistor(DEVICE_S), 2: Resistor(0.0)})


def ask(emulator: Simulated4200A, message: str) -> str:
    emulator.write(message + "\0")
    return emulator.read()


def pulse_setup(emulator: Simulated4200A, mode: int, amplitude_v: float = 2.0) -> None:
    for command in (
        ":PMU:INIT 0",
        ":PMU:RPM:CONFIGURE PMU1-1, 0",
        f":PMU:PULSE:TRAIN 1, 0, {amplitude_v}",
        ":PMU:PULSE:TIMES 1, 2e-6, 500e-9, 20e-9, 20e-9",
        f":PMU:MEASURE:MODE {mode}",
        ":PMU:OUTPUT:STATE 1, 1",
    ):
        assert ask(emulator, command) == "ACK", command


def test_every_command_is_answered_ack_or_its_data_once_per_message():
    emulator = analyzer()
    assert ask(emulator, "US;DV1, 1, 5, 1e-3") == "ACK"  # two commands, one answer
    assert ask(emulator, "US;TI1") == "CAI+1.000000E-03"  # 5 mA wanted: held at the 1 mA compliance
    assert ask(emulator, "DV1, 1, 2, 10e-3") == "ACK"
    assert ask(emulator, "TI1") == "NAI+2.000000E-03"
    assert ask(emulator, "TV1") == "NAV+2.000000E+00"
    assert ask(emulator, "DV1") == "ACK"  # the channel alone: 0 V, off
    assert ask(emulator, "TI1") == "NAI+0.000000E+00"
    assert not emulator.has_reply()


def test_a_current_source_reports_compliance_at_its_voltage_limit():
    emulator = analyzer()
    assert ask(emulator, "DI1, 0, 1e-3, 20") == "ACK"
    assert ask(emulator, "TV1") == "NAV+1.000000E+00"  # 1 mA through 1 mS
    assert ask(emulator, "DI1, 0, 1e-1, 20") == "ACK"
    assert ask(emulator, "TV1") == "CAV+2.000000E+01"


def test_identity_options_and_errors_as_kxci_reports_them():
    emulator = analyzer()
    assert "4200A-SCS" in ask(emulator, "*IDN?")
    assert ask(emulator, "*OPT?") == "SMU1,SMU2,PMU1"
    assert ask(emulator, ":ERROR:LAST:GET") == "No error. (0)"
    refused = ask(emulator, "DV9, 1, 1, 1e-3")
    assert refused != "ACK" and "SMU9" in refused
    assert "SMU9" in ask(emulator, ":ERROR:LAST:GET")
    assert ask(emulator, ":ERROR:LAST:CLEAR") == "ACK"
    assert ask(emulator, ":ERROR:LAST:GET") == "No error. (0)"
    assert ask(emulator, "XYZZY").endswith("(-100)")


@pytest.mark.parametrize(
    "times",
    [
        "1, 2e-6, 30e-9, 20e-9, 20e-9",  # narrower than 40 ns
        "1, 2e-6, 500e-9, 10e-9, 20e-9",  # a 10 ns edge
        "1, 2e-6, 1.99e-6, 20e-9, 20e-9",  # no off time left
        "1, 2, 500e-9, 20e-9, 20e-9",  # a period beyond 1 s
        "3, 2e-6, 500e-9, 20e-9, 20e-9",  # no channel 3
    ],
)
def test_pulse_timing_outside_the_pmus_limits_is_refused(times):
    emulator = analyzer()
    assert ask(emulator, f":PMU:PULSE:TIMES {times}") != "ACK"


def test_levels_beyond_the_10_volt_range_are_refused():
    emulator = analyzer()
    assert ask(emulator, ":PMU:PULSE:TRAIN 1, 0, 10.5") != "ACK"
    assert ask(emulator, ":PMU:PULSE:TRAIN 1, 0, -10") == "ACK"


def test_a_spot_mean_pulse_reports_the_top_and_the_base_and_takes_its_period():
    emulator = analyzer()
    pulse_setup(emulator, mode=1)
    before_s = emulator.timebase.now_s
    assert ask(emulator, ":PMU:EXECUTE") == "ACK"
    assert ask(emulator, ":PMU:TEST:STATUS?") == "0"
    assert ask(emulator, ":PMU:DATA:COUNT? 1") == "1"
    (point,) = parse_points(ask(emulator, ":PMU:DATA:GET 1"), 8)
    high_v, high_a, high_t, high_status, low_v, low_a, _, _ = point
    assert (high_v, low_v, low_a, high_status) == (2.0, 0.0, 0.0, 0.0)
    assert high_a == pytest.approx(2.0 * DEVICE_S)
    assert 0 < high_t < 2e-6
    assert emulator.timebase.now_s - before_s == pytest.approx(2e-6)  # the test took its period


def test_a_burst_is_kept_point_by_point_or_averaged():
    emulator = analyzer()
    pulse_setup(emulator, mode=1)
    assert ask(emulator, ":PMU:PULSE:BURST:COUNT 5") == "ACK"
    ask(emulator, ":PMU:EXECUTE")
    assert ask(emulator, ":PMU:DATA:COUNT? 1") == "5"
    times = [p[2] for p in parse_points(ask(emulator, ":PMU:DATA:GET 1"), 8)]
    assert np.diff(times) == pytest.approx([2e-6] * 4)  # one period apart
    assert ask(emulator, ":PMU:MEASURE:MODE 3") == "ACK"
    ask(emulator, ":PMU:EXECUTE")
    assert ask(emulator, ":PMU:DATA:COUNT? 1") == "1"


def test_an_amplitude_sweep_steps_the_top_dual_sweeps_come_back():
    emulator = analyzer()
    pulse_setup(emulator, mode=1)
    assert ask(emulator, ":PMU:SWEEP:PULSE:AMPLITUDE 1, 0.5, 2, 0.5, 0, 1") == "ACK"
    ask(emulator, ":PMU:EXECUTE")
    points = parse_points(ask(emulator, ":PMU:DATA:GET 1"), 8)
    assert [p[0] for p in points] == [0.5, 1.0, 1.5, 2.0, 1.5, 1.0, 0.5]
    assert [p[1] for p in points] == pytest.approx([v * DEVICE_S for v in (0.5, 1, 1.5, 2, 1.5, 1, 0.5)])


def test_waveform_capture_traces_the_trapezoid_and_reads_in_chunks():
    emulator = analyzer()
    pulse_setup(emulator, mode=2)
    ask(emulator, ":PMU:EXECUTE")
    assert int(ask(emulator, ":PMU:DATA:COUNT? 1")) == WAVEFORM_POINTS
    chunks = [ask(emulator, f":PMU:DATA:GET 1, {start}, 512") for start in range(0, WAVEFORM_POINTS, 512)]
    points = [p for chunk in chunks for p in parse_points(chunk, 4)]
    voltage = np.array([p[0] for p in points])
    current = np.array([p[1] for p in points])
    assert voltage.max() == pytest.approx(2.0) and voltage.min() == 0.0
    assert current == pytest.approx(voltage * DEVICE_S)
    above_half_s = (voltage >= 1.0).sum() * 2e-6 / WAVEFORM_POINTS
    assert above_half_s == pytest.approx(500e-9, abs=3e-9)  # the width is the full width at half maximum


def test_a_fixed_range_reports_overflow_with_its_status():
    emulator = analyzer()
    pulse_setup(emulator, mode=1)
    assert ask(emulator, ":PMU:MEASURE:RANGE 1, 2, 100e-6") == "ACK"
    ask(emulator, ":PMU:EXECUTE")
    (point,) = parse_points(ask(emulator, ":PMU:DATA:GET 1"), 8)
    assert point[1] == pytest.approx(100e-6) and point[3] == 1.0


def test_execute_with_every_output_off_is_refused():
    emulator = analyzer()
    assert ask(emulator, ":PMU:EXECUTE") != "ACK"


def test_the_driver_runs_a_pulse_and_raises_what_the_instrument_refuses():
    emulator = analyzer()
    library = EmulatorVisaLibrary.serving({RESOURCE: emulator})
    driver = Keithley4200A(visa_adapter(library, RESOURCE, "\0"))
    assert driver.options == ["SMU1", "SMU2", "PMU1"]
    driver.pmu_standard_pulse(2)
    driver.pulse_train(1, 0.0, 1.5)
    driver.pulse_times(1, 2e-6, 200e-9, 20e-9)
    driver.output(1, True)
    point = driver.run(sense=1)
    assert point.high_a == pytest.approx(1.5 * DEVICE_S) and point.low_a == 0.0
    driver.force_voltage(1, 1.0, 0.1)
    assert driver.measure_current(1) == pytest.approx(1e-3)
    with pytest.raises(InstrumentError, match="refused"):
        driver.command(":PMU:PULSE:TRAIN 7, 0, 1")
    assert driver.check_errors()[0][0] == -122
    assert driver.check_errors() == []
    with pytest.raises(ValueError, match="40 ns"):
        driver.pulse_times(1, 2e-6, 20e-9, 20e-9)


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@given(st.sampled_from("NLVXCT"), st.sampled_from("ABCD"), st.sampled_from("VI"), finite)
def test_readings_parse_back_to_the_value_printed(status, channel, kind, value):
    printed = f"{status}{channel}{kind}{value:+.6E}"
    assert parse_reading(printed) == (status, float(f"{value:.6E}"))


@given(st.lists(st.tuples(*[finite] * 4), min_size=1, max_size=20))
def test_data_points_parse_back_in_order(points):
    text = ";".join(",".join(f"{v:.6E}" for v in point) for point in points)
    parsed = parse_points(text, 4)
    assert len(parsed) == len(points)
    for got, sent in zip(parsed, points, strict=True):
        assert all(math.isclose(g, float(f"{s:.6E}")) or g == s for g, s in zip(got, sent, strict=True))
    with pytest.raises(ValueError, match="expected 8"):
        parse_points(text, 8)
