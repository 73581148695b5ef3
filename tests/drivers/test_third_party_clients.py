"""Clients labrram did not write drive the emulators: PyMeasure's Keithley2600 and AgilentB1500 and the
keithley2600 package, each over loopback TCP to the instrument server, and a corpus of TSP scripts as
application notes write them."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import pyvisa
from keithley2600 import Keithley2600 as SchottKeithley2600
from pymeasure.instruments.agilent import AgilentB1500
from pymeasure.instruments.keithley import Keithley2600 as PyMeasureKeithley2600
from pymeasure.instruments.keithley import Keithley4200 as PyMeasureKeithley4200

from labrram.bench.factory import simulated_lab
from labrram.config import load_config
from labrram.drivers.simulated import Resistor, Simulated2600B, SimulatedB1500A
from labrram.drivers.simulated.server import InstrumentServer
from tests.drivers.test_wiring import laplacian_current


@pytest.fixture
def served_smu():
    smu = Simulated2600B(Resistor(1e-3), Resistor(2e-3))
    with InstrumentServer({"smu": smu}) as server:
        yield smu, server.resources["smu"]


def test_pymeasure_sources_measures_and_shuts_down(served_smu):
    emulator, resource = served_smu
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        smu = PyMeasureKeithley2600(resource, visa_library="@py", read_termination="\n", timeout=3000)
    channel = smu.ChA
    channel.apply_voltage(compliance_current=0.1)
    channel.source_voltage = 0.5
    channel.source_output = "ON"
    assert channel.current == pytest.approx(0.5e-3)
    assert channel.voltage == pytest.approx(0.5)
    channel.apply_current(compliance_voltage=5)
    channel.source_current = 1e-4
    assert channel.voltage == pytest.approx(0.1)
    channel.ramp_to_current = lambda target, steps=30, pause=0.1: setattr(channel, "source_current", target)
    channel.shutdown()
    assert channel.check_errors() == []
    assert not emulator.smu["a"].output and emulator.smu["a"].level_i == 0.0  # shutdown leaves it off
    smu.adapter.close()


def test_the_keithley2600_package_connects_and_sweeps_with_the_trigger_model(served_smu):
    emulator, resource = served_smu
    smu = SchottKeithley2600(resource, visa_library="@py", raise_keithley_errors=True, timeout=3000)
    assert smu.connected
    smu.apply_voltage(smu.smua, 0.3)
    assert smu.smua.measure.i() == pytest.approx(0.3e-3)
    smu.smua.source.levelv = 0.1
    assert smu.smua.source.levelv == pytest.approx(0.1)
    voltages, currents = smu.voltage_sweep_single_smu(
        smu.smua, [0.0, 0.1, 0.2, 0.3], t_int=0.001, delay=-1, pulsed=False
    )
    assert voltages == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert currents == pytest.approx([0.0, 1e-4, 2e-4, 3e-4])
    assert smu.read_error_queue() == []
    smu.smua.source.output = smu.smua.OUTPUT_OFF
    smu.disconnect()
    assert not emulator.smu["a"].output and not emulator.errors


def run(smu: Simulated2600B, script: str) -> list[str]:
    smu.write(script)
    replies = []
    while smu.has_reply():
        replies.append(smu.read())
    assert not smu.errors, list(smu.errors)
    return replies


def test_an_app_note_linear_sweep_with_the_factory_script():
    smu = Simulated2600B(Resistor(1e-3), Resistor(1e-3))
    printed = run(
        smu,
        "reset()\nsmua.measure.nplc = 0.1\nSweepVLinMeasureI(smua, -1, 1, 1e-3, 5)\n"
        "printbuffer(1, smua.nvbuffer1.n, smua.nvbuffer1.readings, smua.nvbuffer1.sourcevalues)",
    )
    values = [float(v) for v in printed[0].split(", ")]
    assert values[1::2] == pytest.approx([-1, -0.5, 0, 0.5, 1])
    assert values[0::2] == pytest.approx([-1e-3, -0.5e-3, 0, 0.5e-3, 1e-3])


def test_an_app_note_script_with_functions_loops_and_a_trigger_model_sweep():
    smu = Simulated2600B(Resistor(2e-3), Resistor(1e-3))
    script = """loadscript IVSweep
function sweep(smu, start, stop, points)
  smu.reset()
  smu.source.func = smu.OUTPUT_DCVOLTS
  smu.source.limiti = 10e-3
  smu.measure.nplc = 1
  smu.nvbuffer1.clear()
  smu.nvbuffer1.collectsourcevalues = 1
  smu.trigger.source.linearv(start, stop, points)
  smu.trigger.source.action = smu.ENABLE
  smu.trigger.measure.action = smu.ENABLE
  smu.trigger.measure.i(smu.nvbuffer1)
  smu.trigger.count = points
  smu.trigger.endpulse.action = smu.SOURCE_HOLD
  smu.source.output = smu.OUTPUT_ON
  smu.trigger.initiate()
  waitcomplete()
  smu.source.output = smu.OUTPUT_OFF
end
endscript
IVSweep()
sweep(smua, 0, 1, 3)
for i = 1, smua.nvbuffer1.n do print(smua.nvbuffer1.sourcevalues[i], smua.nvbuffer1[i]) end"""
    lines = run(smu, script)
    values = [float(value) for line in lines for value in line.split("\t")]
    assert values == pytest.approx([0.0, 0.0, 0.5, 1e-3, 1.0, 2e-3])
    assert not smu.smu["a"].output


def test_current_sourcing_respects_the_voltage_limit():
    smu = Simulated2600B(Resistor(1e-6), Resistor(1e-3))
    printed = run(
        smu,
        "smua.source.func = smua.OUTPUT_DCAMPS smua.source.limitv = 2 smua.source.leveli = 1e-3 "
        "smua.source.output = 1 print(smua.measure.v(), smua.source.compliance)",
    )
    voltage, in_compliance = printed[0].split("\t")
    assert float(voltage) == pytest.approx(2.0) and in_compliance == "true"


def test_pymeasure_agilent_b1500_finds_its_smus_and_runs_a_spot_measurement():
    emulator = SimulatedB1500A({1: Resistor(1e-3), 2: Resistor(2e-3)})
    with InstrumentServer({"b1500": emulator}) as server, warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        analyzer = AgilentB1500(server.resources["b1500"], visa_library="@py", timeout=3000)
        assert "B1500A" in analyzer.id
        analyzer.initialize_all_smus()  # UNT?
        assert analyzer.smu_names == {1: "SMU1", 2: "SMU2"}
        analyzer.data_format(21, mode=1)
        analyzer.smu1.enable()
        analyzer.smu2.enable()
        analyzer.meas_mode("SPOT", analyzer.smu1, analyzer.smu2)
        analyzer.smu1.force("Voltage", "Auto Ranging", 0.5, 0.1)
        analyzer.smu2.force("Voltage", "Auto Ranging", 0.2, 0.1)
        analyzer.send_trigger()
        (first, second) = analyzer.read_channels(2)
        assert first[1:] == ("SMU1", "Current Measurement (A)", pytest.approx(0.5e-3))
        assert second[1:] == ("SMU2", "Current Measurement (A)", pytest.approx(0.4e-3))
        analyzer.read_bytes(1)  # read_channels leaves the LF of the CR LF terminator FMT 21 ends data with
        analyzer.check_errors()
        analyzer.adapter.close()
    assert not emulator.errors


EXTRA_BENCH = """\
[bench]
name = "extra"
seed = 3
read_duration_s = 1e-4

[sample]
chip = "extra-chip"
preset = "tio2-passive-8x8"
arrays = [{ name = "A1", rows = 4, cols = 4 }]

[instruments]
visa_library = "@sim"
matrix = { driver = "keithley707b", resource = "GPIB0::16::INSTR" }
smu1 = { driver = "keithley2600b", resource = "GPIB0::26::INSTR" }
smu2 = { driver = "keithley2600b", resource = "GPIB0::27::INSTR" }

[instruments.extra.analyzer]
driver = "keysight_b1500a"
resource = "GPIB0::17::INSTR"
channels = { "1" = "E", "2" = "F" }
"""


def test_the_sim_server_serves_a_b1500a_the_bench_file_lists_and_it_reads_a_device(tmp_path):
    bench_file = tmp_path / "extra.toml"
    bench_file.write_text(EXTRA_BENCH)
    lab = simulated_lab(load_config(bench_file))
    with InstrumentServer(lab.emulators()) as server:
        manager = pyvisa.ResourceManager("@py")
        matrix = manager.open_resource(
            server.resources["matrix"], read_termination="\n", write_termination="\n"
        )
        closed = matrix.query(
            'channel.exclusiveclose("1E02,1F06") print(errorqueue.count)'
        )  # done when answered
        assert float(closed) == 0  # word line 1 to slot 1, bit line 1 to slot 2
        analyzer = manager.open_resource(
            server.resources["analyzer"], read_termination="\r\n", write_termination="\r\n"
        )
        analyzer.write("FMT 2;CN 1,2;DV 2,0,0,1E-3;DV 1,0,0.2,1E-3;TI 1,0")
        current = float(analyzer.read())
        g = lab.chip.arrays["A1"].conductance_s()  # the other lines float: the read holds the sneak paths
        assert current == pytest.approx(laplacian_current(g, 1, 1, 0.2), rel=0.02)
        assert analyzer.query("ERRX?") == '0,"No Error."'
        matrix.close()
        analyzer.close()


PULSER_BENCH = """
[bench]
name = "seed-002-bench"
seed = 3
[sample]
chip = "c"
preset = "tio2-passive-8x8"
[sample.overrides]
stuck_hrs_fraction = 0.0
stuck_lrs_fraction = 0.0
[[sample.arrays]]
name = "A1"
rows = 4
cols = 4
[instruments]
visa_library = "@py"
matrix = { driver = "keithley707b", resource = "TCPIP0::127.0.0.1::5025::SOCKET" }
pulser = { driver = "keithley4200a", resource = "TCPIP0::127.0.0.1::1225::SOCKET" }
"""


@pytest.fixture
def served_pulser(tmp_path):
    bench_file = tmp_path / "pulser.toml"
    bench_file.write_text(PULSER_BENCH)
    lab = simulated_lab(load_config(bench_file))
    with InstrumentServer(lab.emulators()) as server:
        yield lab, server


def test_pymeasure_keithley4200_drives_the_smus_in_user_mode(served_pulser):
    lab, server = served_pulser
    analyzer = PyMeasureKeithley4200(server.resources["pulser"])
    assert sorted(analyzer.smu) == [1, 2, 3, 4]  # found from *OPT?
    analyzer.smu2.voltage_setpoint = (1, 3.3, 1e-2)
    assert analyzer.smu2.voltage == pytest.approx(3.3)
    assert analyzer.smu2.current == 0.0  # SMU2 reaches no device on this bench
    assert lab.pulser.smus[2].output
    analyzer.smu2.disable()
    assert not lab.pulser.smus[2].output
    analyzer.clear()
    analyzer.adapter.close()


def test_a_kxci_pulse_script_programs_and_reads_a_crossbar_device(served_pulser):
    """As a lab's own script would: close the crosspoints, then PMU tests over a raw NUL-ended socket
    (V/3-biased SET pulses; reads with the other lines grounded, sensed on the bit line channel)."""
    lab, server = served_pulser
    manager = pyvisa.ResourceManager("@py")
    matrix = manager.open_resource(server.resources["matrix"], read_termination="\n", write_termination="\n")
    # word line 2 on row A (channel 1), bit line 1 on row B (channel 2); the others on rows C and D
    crosspoints = "1A03,1C01,1C02,1C04,1B06,1D05,1D07,1D08"
    assert float(matrix.query(f'channel.exclusiveclose("{crosspoints}") print(errorqueue.count)')) == 0
    pmu = manager.open_resource(server.resources["pulser"], read_termination="\0", write_termination="\0")
    setup = [":PMU:INIT 0", ":PMU:RPM:CONFIGURE PMU1-1, 0", ":PMU:RPM:CONFIGURE PMU1-2, 0"]
    setup += [f":PMU:PULSE:TIMES {ch}, 2e-6, 200e-9, 20e-9, 20e-9" for ch in (1, 2, 3, 4)]
    setup += [f":PMU:OUTPUT:STATE {ch}, 1" for ch in (1, 2, 3, 4)] + [":PMU:MEASURE:MODE 1"]
    for command in setup:
        assert pmu.query(command) == "ACK", command

    def pmu_test(top_v: float, third: float) -> float:
        for channel, level in ((1, top_v), (2, 0.0), (3, third * top_v), (4, 2 * third * top_v)):
            assert pmu.query(f":PMU:PULSE:TRAIN {channel}, 0, {level}") == "ACK"
        assert pmu.query(":PMU:EXECUTE") == "ACK"
        while int(pmu.query(":PMU:TEST:STATUS?")):
            pass
        (point,) = [p.split(",") for p in pmu.query(":PMU:DATA:GET 2").split(";")]
        return -float(point[1])  # the device's current flows into the bit line channel

    g = lab.chip.arrays["A1"].conductance_s
    start = g().copy()
    before_s = start[2, 1]
    assert pmu_test(0.2, 0.0) / 0.2 == pytest.approx(before_s, rel=0.02)
    biased_read = pmu_test(0.2, 1 / 3)  # V/3 on the other word lines: their cells feed the bit line too
    sneak = (g()[:, 1].sum() - before_s) * 0.2 / 3
    assert biased_read == pytest.approx(0.2 * before_s + sneak, rel=0.02)
    for _ in range(30):
        pmu_test(1.7, 1 / 3)
    assert g()[2, 1] > 1.3 * before_s
    assert pmu_test(0.2, 0.0) / 0.2 == pytest.approx(g()[2, 1], rel=0.02)
    assert pmu.query(":ERROR:LAST:GET") == "No error. (0)"
    changes = np.abs(g() - start).ravel()
    # every other device sees V/3 at most: far less change than the selected one
    assert np.delete(changes, 2 * 4 + 1).max() < 0.2 * changes[2 * 4 + 1]
    matrix.close()
    pmu.close()
