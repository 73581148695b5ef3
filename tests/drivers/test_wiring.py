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
    smu_emulator = Simulated2600B(Resistor(0.0), Resistor(0.0), chip)
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


def test_a_pulse_with_the_other_lines_floating_disturbs_only_the_cells_sharing_a_line():
    chip, matrix, smu = bench_parts()
    before = chip.arrays["A1"].conductance_s()
    matrix.exclusive_close(["1A01", "1B05"])  # word line 0 to SMU A, bit line 0 to SMU B
    for _ in range(5):
        smu.smua.pulse_voltage_measure_current(1.8, 1e-4)
    change = np.abs(chip.arrays["A1"].conductance_s() - before)
    changed = {tuple(rc) for rc in np.argwhere(change > 1e-9)}
    assert (0, 0) in changed and changed <= {(r, c) for r in range(4) for c in range(4) if r == 0 or c == 0}
    assert change[0, 0] == change.max()  # the sneak paths through floating lines half-select the others
    assert chip.now_s == pytest.approx(5 * 3e-4)  # widths and the off times before and after each pulse


def laplacian_current(g: np.ndarray, row: int, col: int, voltage_v: float) -> float:
    """The current into word line ``row`` at ``voltage_v`` with bit line ``col`` at 0 and every other line
    floating: nodal analysis of the whole crossbar (rows and columns as nodes, cells as conductances)."""
    rows, cols = g.shape
    size = rows + cols
    laplacian = np.zeros((size, size))
    laplacian[:rows, rows:] = -g
    laplacian[rows:, :rows] = -g.T
    laplacian[np.diag_indices(size)] = -laplacian.sum(axis=1)
    fixed = {row: voltage_v, rows + col: 0.0}
    free = [n for n in range(size) if n not in fixed]
    potentials = np.zeros(size)
    for node, value in fixed.items():
        potentials[node] = value
    known = laplacian[np.ix_(free, list(fixed))] @ np.array(list(fixed.values()))
    potentials[free] = np.linalg.solve(laplacian[np.ix_(free, free)], -known)
    return float(laplacian[row] @ potentials)


def test_a_read_with_the_other_lines_floating_adds_the_sneak_currents():
    chip, matrix, smu = bench_parts()
    matrix.exclusive_close(["1A03", "1B07"])  # word line 2, bit line 2; the others float
    smu.smua.source_voltage = 0.2
    smu.smua.output_enabled = True
    g = chip.arrays["A1"].conductance_s()
    current = smu.smua.measure_current()
    assert current > 0.2 * g[2, 2] * 1.05  # more than the selected device carries
    assert current == pytest.approx(laplacian_current(g, 2, 2, 0.2), rel=1e-6)
    assert smu.smub.measure_current() == pytest.approx(-current, rel=1e-6)  # all of it reaches the bit line


def test_a_source_at_its_limit_holds_the_circuit_so_a_series_smu_reads_the_limit():
    _, matrix, smu = bench_parts()
    matrix.exclusive_close(["1A01", "1B02", "1B03", "1B04", "1B05", "1B06", "1B07", "1B08"])  # all else on B
    smu.write("smua.source.limiti = 1e-5")
    smu.smua.source_voltage = 0.2
    smu.smua.output_enabled = True
    assert smu.smua.measure_current() == pytest.approx(1e-5)
    assert smu.smub.measure_current() == pytest.approx(-1e-5, rel=1e-6)


def test_closing_two_word_lines_onto_one_smu_programs_both():
    chip, matrix, smu = bench_parts()
    before = chip.arrays["A1"].conductance_s()
    matrix.exclusive_close(["1A01", "1A02", "1B05"])
    smu.smua.pulse_voltage_measure_current(1.8, 1e-4)
    change = np.abs(chip.arrays["A1"].conductance_s() - before)
    selected = [change[0, 0], change[1, 0]]
    assert min(selected) > np.delete(change.ravel(), [0, 4]).max()  # both selected, the rest half-selected


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
