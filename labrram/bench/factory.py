"""Build the bench a configuration describes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from labrram.bench.base import Bench
from labrram.bench.instrumented import InstrumentBench, Role
from labrram.bench.matrix import DEFAULT_ROLES, MatrixWiring
from labrram.bench.pulsed import DEFAULT_PULSE_ROLES, PulseMeasureBench
from labrram.bench.simulated import SimulatedBench
from labrram.config import BenchConfig, default_lines
from labrram.drivers.keithley707b import Keithley707B
from labrram.drivers.keithley2600b import Keithley2600B
from labrram.drivers.keithley4200a import Keithley4200A
from labrram.drivers.simulated.emulator import SimulatedInstrument
from labrram.drivers.simulated.keithley707b import Simulated707B
from labrram.drivers.simulated.keithley2600b import Resistor, Simulated2600B
from labrram.drivers.simulated.keithley4200a import Simulated4200A
from labrram.drivers.simulated.keysight_b1500 import SimulatedB1500A
from labrram.drivers.simulated.keysight_b2900 import SimulatedB2900
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


def direct_simulated_bench(
    config: BenchConfig, pulse_off_s: float = 0.0, runs_loops: bool = False
) -> SimulatedBench:
    """A bench that drives the simulated chip directly (no instrument drivers).

    ``pulse_off_s`` holds 0 V after each pulse, as an SMU's pulse function does for its off time.
    ``runs_loops``: tuning loops run inside the chip, one compiled call per device (`run_tuning_loop`).
    """
    return SimulatedBench(
        simulated_chip(config),
        {geometry.name: geometry for geometry in config.sample.arrays},
        config.safety,
        read_duration_s=config.read_duration_s,
        default_compliance_a=config.sample.preset.default_compliance_a,
        pulse_off_s=pulse_off_s,
        read_current_range_a=config.read_current_range_a,
        runs_loops=runs_loops,
    )


SIMULATED_RESOURCES = {"matrix": "GPIB0::16::INSTR", "smu1": "GPIB0::26::INSTR", "smu2": "GPIB0::27::INSTR"}
SIMULATED_RESOURCES["pulser"] = "TCPIP0::localhost::1225::SOCKET"
ANALYZER_SMUS = 4  # SMU1-4 of the simulated 4200A-SCS, not cabled to the matrix


def uses_pulser(config: BenchConfig) -> bool:
    """Whether the configuration's bench pulses with a 4200A-SCS's PMU channels (else with 2600B SMUs)."""
    return config.instruments is not None and "pulser" in config.instruments.resources


def _simulated_resource(config: BenchConfig, name: str) -> str:
    """The VISA resource the in-process simulated library serves an instrument on."""
    if name in SIMULATED_RESOURCES:
        return SIMULATED_RESOURCES[name]
    assert config.instruments is not None  # extra instruments come from [instruments]
    return config.instruments.extra[name].resource


def matrix_wiring(config: BenchConfig) -> MatrixWiring:
    """The configuration's cabling: its [wiring], or the default roles with lines in order."""
    if config.wiring is not None:
        return config.wiring
    return MatrixWiring(dict(DEFAULT_ROLES), default_lines(config.sample.arrays))


@dataclass(frozen=True)
class SimulatedLab:
    """The simulated chip and the emulators wired to it."""

    chip: SimulatedChip
    matrix: Simulated707B
    smus: dict[str, Simulated2600B]
    extra: dict[str, SimulatedInstrument] = field(default_factory=dict)
    pulser: Simulated4200A | None = None

    def emulators(self) -> dict[str, SimulatedInstrument]:
        """Every emulator by instrument name (matrix, smu1 and smu2 or the pulser, the extra instruments)."""
        pulser: dict[str, SimulatedInstrument] = {"pulser": self.pulser} if self.pulser else {}
        return {"matrix": self.matrix, **self.smus, **pulser, **self.extra}


def simulated_lab(config: BenchConfig, tsp_link_node: int | None = None) -> SimulatedLab:
    """The configuration's chip with a 707B and two 2636B emulators (or a 4200A-SCS) wired to its lines.

    ``tsp_link_node``: smu2 is that node on smu1's TSP-Link (smu1 takes ``node[N].`` commands for it).
    """
    chip = simulated_chip(config)
    matrix = Simulated707B(chip)
    cabling = matrix_wiring(config)
    columns = {}
    for name, lines in cabling.lines.items():
        columns |= {column: ArrayLine(name, "row", i) for i, column in enumerate(lines.rows)}
        columns |= {column: ArrayLine(name, "col", i) for i, column in enumerate(lines.cols)}
    wiring_model = SimulatedWiring(chip, matrix, columns)
    matrix.held = wiring_model.stress
    if uses_pulser(config):
        pmu_rows = {role.channel: role.matrix_row for role in DEFAULT_PULSE_ROLES.values()}
        pulser = Simulated4200A(
            dict.fromkeys(range(1, ANALYZER_SMUS + 1), Resistor(0.0)),
            {channel: wiring_model.load(row) for channel, row in sorted(pmu_rows.items())},
            chip,
        )
        for channel, row in pmu_rows.items():
            wiring_model.attach(row, pulser.pmu[channel].state)
        extra = _extra_emulators(config, wiring_model, chip, set(pmu_rows.values()))
        return SimulatedLab(chip, matrix, {}, extra, pulser)
    smus = {name: Simulated2600B(Resistor(0.0), Resistor(0.0), chip) for name in ("smu1", "smu2")}
    for role in cabling.roles.values():
        state = smus[role.instrument].smu[role.channel]
        state.load = wiring_model.load(role.matrix_row)
        wiring_model.attach(role.matrix_row, state)
    if tsp_link_node is not None:
        smus["smu1"].link(tsp_link_node, smus["smu2"])
    extra = _extra_emulators(config, wiring_model, chip, {role.matrix_row for role in cabling.roles.values()})
    return SimulatedLab(chip, matrix, smus, extra)


def _extra_emulators(
    config: BenchConfig, wiring: SimulatedWiring, chip: SimulatedChip, taken_rows: set[str]
) -> dict[str, SimulatedInstrument]:
    """The B1500A and B2900 emulators of [instruments.extra], their channels on their matrix rows."""
    extra: dict[str, SimulatedInstrument] = {}
    for name, spec in (config.instruments.extra if config.instruments else {}).items():
        clash = sorted(taken_rows & set(spec.channels.values()))
        if clash:
            raise ConfigError(
                f"instruments.extra.{name}.channels", f"matrix rows {clash} are the bench's roles'"
            )
        if spec.driver == "keysight_b1500a":
            analyzer = SimulatedB1500A({slot: wiring.load(row) for slot, row in spec.channels.items()}, chip)
            states = analyzer.channels
        else:
            loads = [wiring.load(spec.channels[c]) if c in spec.channels else Resistor(0.0) for c in (1, 2)]
            analyzer = SimulatedB2900(loads[0], loads[1], chip)
            states = analyzer.channel
        for channel, row in spec.channels.items():
            wiring.attach(row, states[channel])
        extra[name] = analyzer
    return extra


def connect_bench(
    config: BenchConfig,
    resources: Mapping[str, str],
    visa_library: object,
    instrument_clock: bool,
    tsp_link_node: int | None = None,
) -> InstrumentBench | PulseMeasureBench:
    """Drivers on the matrix and SMU resources, assembled into the matrix bench.

    ``visa_library`` is what PyVISA should use ("@py" for pyvisa-py sockets, a simulated library...).
    With ``instrument_clock`` the bench keeps time with smu1's timer and waits with its ``delay`` (what
    a simulated lab needs); otherwise with the host's clock. With ``tsp_link_node`` smu2 needs no
    resource: it is that node on smu1's TSP-Link and is commanded through smu1. A configuration with a
    pulser: the 4200A-SCS's PMU channels instead of the SMUs (`connect_pulse_bench`).
    """
    if uses_pulser(config):
        return connect_pulse_bench(config, resources, visa_library, instrument_clock)
    matrix = Keithley707B(visa_adapter(visa_library, resources["matrix"]), name="matrix")
    connected = ("smu1",) if tsp_link_node is not None else ("smu1", "smu2")
    smus = {name: Keithley2600B(visa_adapter(visa_library, resources[name]), name=name) for name in connected}
    matrix.clear_errors()  # an earlier client's errors are not this session's
    for smu in smus.values():
        smu.clear_errors()
        smu.set_precision(14)  # full double precision in every printed reading and timer value
    cabling = matrix_wiring(config)
    roles = {}
    for role, wiring in cabling.roles.items():
        if wiring.instrument in smus:
            smu_channel = getattr(smus[wiring.instrument], f"smu{wiring.channel}")
        else:
            smu_channel = smus["smu1"].linked_channel(tsp_link_node, wiring.channel)
        roles[role] = Role(smu_channel, wiring.matrix_row, wiring.instrument)
    bench = InstrumentBench(
        {geometry.name: geometry for geometry in config.sample.arrays},
        config.safety,
        matrix,
        roles,
        cabling.lines,
        read_duration_s=config.read_duration_s,
        default_compliance_a=config.sample.preset.default_compliance_a,
        clock=smus["smu1"] if instrument_clock else None,
        read_current_range_a=config.read_current_range_a,
    )
    bench.safe_state()  # whatever an earlier session left on (a killed process cannot clean up)
    return bench


def connect_pulse_bench(
    config: BenchConfig, resources: Mapping[str, str], visa_library: object, instrument_clock: bool
) -> PulseMeasureBench:
    """Drivers on the 707B and the 4200A-SCS (KXCI, NUL-terminated), assembled into the pulse bench.

    With ``instrument_clock`` the bench keeps time with the 707B's timer and waits with its ``delay``.
    """
    matrix = Keithley707B(visa_adapter(visa_library, resources["matrix"]), name="matrix")
    analyzer = Keithley4200A(visa_adapter(visa_library, resources["pulser"], "\0"), name="pulser")
    matrix.clear_errors()  # an earlier client's errors are not this session's
    matrix.set_precision(14)
    analyzer.clear_errors()
    bench = PulseMeasureBench(
        {geometry.name: geometry for geometry in config.sample.arrays},
        config.safety,
        matrix,
        analyzer,
        DEFAULT_PULSE_ROLES,
        matrix_wiring(config).lines,
        read_duration_s=config.read_duration_s,
        default_compliance_a=config.sample.preset.default_compliance_a,
        instrument_clock=instrument_clock,
        read_current_range_a=config.read_current_range_a,
    )
    bench.safe_state()  # whatever an earlier session left on
    return bench


def simulated_instrument_bench(
    config: BenchConfig, tsp_link_node: int | None = None
) -> tuple[InstrumentBench | PulseMeasureBench, SimulatedLab]:
    """The matrix bench on emulators reached through PyVISA and the in-process simulated VISA library.

    ``tsp_link_node``: smu2 is reached over smu1's TSP-Link as that node instead of on its own.
    """
    lab = simulated_lab(config, tsp_link_node)
    library = EmulatorVisaLibrary.serving(
        {_simulated_resource(config, name): emulator for name, emulator in lab.emulators().items()}
    )
    bench = connect_bench(
        config, SIMULATED_RESOURCES, library, instrument_clock=True, tsp_link_node=tsp_link_node
    )
    return bench, lab


def bench_from_config(config: BenchConfig) -> Bench:
    """The bench a configuration describes: through its instruments' drivers when it lists them
    ([instruments]), else the direct simulated bench."""
    return bench_and_chip(config)[0]


def bench_and_chip(config: BenchConfig, pulse_off_s: float = 0.0) -> tuple[Bench, SimulatedChip | None]:
    """The configured bench and, when its chip is simulated in this process, that chip (to save or restore
    its state); None for real instruments or instruments served elsewhere. ``pulse_off_s``: see
    `direct_simulated_bench`."""
    instruments = config.instruments
    if instruments is None:
        bench = direct_simulated_bench(config, pulse_off_s)
        return bench, bench.chip
    library: object = instruments.visa_library or None
    node = instruments.smu2_tsp_link_node
    chip = None
    if instruments.visa_library == "@sim":
        lab = simulated_lab(config, node)
        chip = lab.chip
        library = EmulatorVisaLibrary.serving(
            {
                instruments.resources[name]: emulator
                for name, emulator in lab.emulators().items()
                if name in instruments.resources
            }
        )
    bench = connect_bench(
        config,
        instruments.resources,
        library,
        instrument_clock=instruments.clock == "instrument",
        tsp_link_node=node,
    )
    return bench, chip
