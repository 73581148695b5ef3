"""Clients labrram did not write drive the emulators: PyMeasure's Keithley2600 and the keithley2600
package, each over loopback TCP to the instrument server, and a corpus of TSP scripts as application
notes write them."""

from __future__ import annotations

import warnings

import pytest
from keithley2600 import Keithley2600 as SchottKeithley2600
from pymeasure.instruments.keithley import Keithley2600 as PyMeasureKeithley2600

from labrram.drivers.simulated import Resistor, Simulated2600B
from labrram.drivers.simulated.server import InstrumentServer


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
