"""The simulated wiring: SMUs reach array lines only through closed crosspoints, and drive the chip."""

from __future__ import annotations

import numpy as np
import pytest

from labrram.drivers.keithley707b import Keithley707B
from labrram.drivers.keithley2600b import Keithley2600B
from labrram.drivers.simulated.keithley707b import Simulated707B
from labrram.drivers.simulated.keithley2600b import Resistor, Simulated2600B
from labrram.drivers.simulated.visa import EmulatorVisaLibrary, visa_adapter
from labrram.drivers.simulated.wiring import ArrayLine, SimulatedWiring
from labrram.physics import TIO2_PASSIVE_8X8, ArrayKind, CrossbarArray, SimulatedChip
from tests.helpers import quiet


def bench_parts():
    parameters = quiet(
        TIO2_PASSIVE_8X8.parameters,
        read_noise_rel=0.0,
        read_noise_floor_a=0.0,
        relaxation_spread_s=0.0,
        relaxation_drift_s=0.0,
    )
    chip = SimulatedChip({"A1": CrossbarArray(parameters, 4, 4, ArrayKind.PASSIVE, np.random.default_rng(3))})
    matrix_emulator = Simulated707B()
    columns = {f"1-{r + 1:02d}": ArrayLine("A1", "row", r) for r in range(4)}
    columns |= {f"1-{c + 5:02d}": ArrayLine("A1", "col", c) for c in range(4)}
    wiring = SimulatedWiring(chip, matrix_emulator, columns)
    smu_emulator = Simulated2600B(Resistor(0.0), Resistor(0.0))
    smu_emulator.smu["a"].load = wiring.load("A")
    smu_emulator.smu["b"].load = wiring.load("B")
    wiring.attach("A", smu_emulator.smu["a"])
    wiring.attach("B", smu_emulator.smu["b"])
    library = EmulatorVisaLibrary.serving(
        {"GPIB0::16::INSTR": matrix_emulator, "GPIB0::26::INSTR": smu_emulator}
    )
    matrix = Keithley707B(visa_adapter(library, "GPIB0::16::INSTR"))
    smu = Keithley2600B(visa_adapter(library, "GPIB0::26::INSTR"))
    smu.smub.source_voltage = 0.0
    smu.smub.output_enabled = True
    return chip, matrix, smu


def test_a_pulse_reaches_only_the_devices_between_connected_lines():
    chip, matrix, smu = bench_parts()
    before = chip.arrays["A1"].conductance_s()
    matrix.exclusive_close(["1A01", "1B05"])  # word line 0 to SMU A, bit line 0 to SMU B
    for _ in range(5):
        smu.smua.pulse_voltage_measure_current(1.8, 1e-4)
    after = chip.arrays["A1"].conductance_s()
    changed = np.argwhere(np.abs(after - before) > 1e-9)
    assert changed.tolist() == [[0, 0]]
    assert after[0, 0] > before[0, 0]
    assert chip.now_s == pytest.approx(5 * 2e-4)  # widths and off times on the simulated clock


def test_closing_two_word_lines_onto_one_smu_programs_both():
    chip, matrix, smu = bench_parts()
    before = chip.arrays["A1"].conductance_s()
    matrix.exclusive_close(["1A01", "1A02", "1B05"])
    smu.smua.pulse_voltage_measure_current(1.8, 1e-4)
    changed = {tuple(rc) for rc in np.argwhere(np.abs(chip.arrays["A1"].conductance_s() - before) > 1e-9)}
    assert changed == {(0, 0), (1, 0)}


def test_the_measured_current_is_the_current_through_the_connected_device():
    chip, matrix, smu = bench_parts()
    matrix.exclusive_close(["1A03", "1B07"])
    smu.smua.source_voltage = 0.2
    smu.smua.output_enabled = True
    current = smu.smua.measure_current()
    assert current == pytest.approx(0.2 * chip.arrays["A1"].conductance_s()[2, 2], rel=1e-4)
    assert smu.smub.measure_current() == pytest.approx(-current, rel=1e-4)  # it flows into the bit line


def test_open_lines_get_nothing():
    chip, matrix, smu = bench_parts()
    before = chip.arrays["A1"].conductance_s()
    matrix.exclusive_close(["1A01"])  # the bit-line side is open
    assert smu.smua.pulse_voltage_measure_current(1.8, 1e-4).current_a == 0.0
    np.testing.assert_array_equal(chip.arrays["A1"].conductance_s(), before)


def test_two_sources_on_one_line_are_refused():
    _, matrix, smu = bench_parts()
    matrix.exclusive_close(["1A01", "1B01", "1B05"])
    smu.write("smua.nvbuffer1.clear()")
    smu.write("PulseVMeasureI(smua, 0, 1, 0.0001, 0.0001, 1)")
    errors = smu.check_errors()
    assert errors and errors[0][0] == -286 and "two sources" in errors[0][1]


def test_wiring_to_lines_the_chip_lacks_is_refused():
    chip, _, _ = bench_parts()
    with pytest.raises(ValueError, match="does not have"):
        SimulatedWiring(chip, Simulated707B(), {"1-01": ArrayLine("A1", "row", 9)})
