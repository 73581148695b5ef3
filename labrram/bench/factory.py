"""Build the bench a configuration describes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labrram.bench.instrumented import InstrumentBench, LineWiring, Role
from labrram.bench.simulated import SimulatedBench
from labrram.config import BenchConfig
from labrram.drivers.keithley707b import Keithley707B
from labrram.drivers.keithley2600b import Keithley2600B
from labrram.drivers.simulated.keithley707b import Simulated707B
from labrram.drivers.simulated.keithley2600b import Resistor, Simulated2600B
from labrram.drivers.simulated.visa import EmulatorVisaLibrary, visa_adapter
from labrram.drivers.simulated.wiring import ArrayLine, SimulatedWiring
from labrram.errors import ConfigError
from labrram.physics.array import CrossbarArray
from labrram.physics.chip import SimulatedChip


def simulated_chip(config: BenchConfig) -> SimulatedChip:
    """The simulated chip of a configuration's sample, seeded by ``bench.seed``."""
    sample = config.sample
    rng = np.random.default_rng(config.seed)
    arrays = {
        geometry.name: CrossbarArray(sample.parameters, geometry.rows, geometry.cols, geometry.kind, rng)
        for geometry in sample.arrays
    }
    return SimulatedChip(arrays, temperature_c=sample.temperature_c)


def direct_simulated_bench(config: BenchConfig) -> SimulatedBench:
    """A bench that drives the simulated chip directly (no instrument drivers)."""
    return SimulatedBench(
        simulated_chip(config),
        {geometry.name: geometry for geometry in config.sample.arrays},
        config.safety,
        read_duration_s=config.read_duration_s,
        default_compliance_a=config.sample.preset.default_compliance_a,
    )


MATRIX_ROLES = {"selected_row": "A", "selected_col": "B", "unselected_rows": "C", "unselected_cols": "D"}
MATRIX_COLUMNS = 72  # six 8x12 cards
SIMULATED_RESOURCES = {"matrix": "GPIB0::16::INSTR", "smu1": "GPIB0::26::INSTR", "smu2": "GPIB0::27::INSTR"}


def matrix_columns(config: BenchConfig) -> dict[str, LineWiring]:
    """Word lines then bit lines of each array on consecutive matrix columns: 1-01 ... 6-12."""
    lines: dict[str, LineWiring] = {}
    used = 0
    for geometry in config.sample.arrays:
        names = [
            f"{(used + k) // 12 + 1}-{(used + k) % 12 + 1:02d}" for k in range(geometry.rows + geometry.cols)
        ]
        used += len(names)
        lines[geometry.name] = LineWiring(tuple(names[: geometry.rows]), tuple(names[geometry.rows :]))
    if used > MATRIX_COLUMNS:
        raise ConfigError(
            "sample.arrays", f"{used} array lines; a 707B with six cards reaches {MATRIX_COLUMNS}"
        )
    return lines


def simulated_instrument_bench(config: BenchConfig) -> tuple[InstrumentBench, SimulatedLab]:
    """A matrix + two-2636B bench whose instruments are emulators wired to the simulated chip.

    The drivers reach the emulators through PyVISA and the in-process simulated VISA library, as GPIB
    resources; the four SMU channels sit on matrix rows A-D in the roles of `InstrumentBench`. Time is
    read from the first SMU's timer and waits are its ``delay``, which the emulators run on the chip's
    simulated clock.
    """
    chip = simulated_chip(config)
    lines = matrix_columns(config)
    matrix_emulator = Simulated707B()
    columns = {}
    for name, wiring in lines.items():
        columns |= {column: ArrayLine(name, "row", i) for i, column in enumerate(wiring.rows)}
        columns |= {column: ArrayLine(name, "col", i) for i, column in enumerate(wiring.cols)}
    wiring_model = SimulatedWiring(chip, matrix_emulator, columns)
    smu_emulators = {name: Simulated2600B(Resistor(0.0), Resistor(0.0), chip) for name in ("smu1", "smu2")}
    channels = {"A": ("smu1", "a"), "B": ("smu1", "b"), "C": ("smu2", "a"), "D": ("smu2", "b")}
    for matrix_row, (instrument, channel) in channels.items():
        state = smu_emulators[instrument].smu[channel]
        state.load = wiring_model.load(matrix_row)
        wiring_model.attach(matrix_row, state)
    library = EmulatorVisaLibrary.serving(
        {SIMULATED_RESOURCES["matrix"]: matrix_emulator}
        | {SIMULATED_RESOURCES[name]: emulator for name, emulator in smu_emulators.items()}
    )
    matrix = Keithley707B(visa_adapter(library, SIMULATED_RESOURCES["matrix"]), name="matrix")
    smus = {
        name: Keithley2600B(visa_adapter(library, SIMULATED_RESOURCES[name]), name=name)
        for name in smu_emulators
    }
    for smu in smus.values():
        smu.set_precision(14)  # full double precision in every printed reading and timer value
    roles = {}
    for role, matrix_row in MATRIX_ROLES.items():
        instrument, channel = channels[matrix_row]
        roles[role] = Role(getattr(smus[instrument], f"smu{channel}"), matrix_row, instrument)
    bench = InstrumentBench(
        {geometry.name: geometry for geometry in config.sample.arrays},
        config.safety,
        matrix,
        roles,
        lines,
        read_duration_s=config.read_duration_s,
        default_compliance_a=config.sample.preset.default_compliance_a,
        clock=smus["smu1"].timer_s,
        sleep=smus["smu1"].delay,
    )
    return bench, SimulatedLab(chip, matrix_emulator, smu_emulators)


@dataclass(frozen=True)
class SimulatedLab:
    """What stands behind a simulated instrument bench: the chip and the emulators."""

    chip: SimulatedChip
    matrix: Simulated707B
    smus: dict[str, Simulated2600B]
