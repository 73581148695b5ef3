"""The benches the shared Bench suite runs against, each with hooks to look behind the interface.

Every Bench implementation adds a factory here; the suite in test_bench_suite.py must pass for all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from labrram.bench import Bench, DeviceAddress
from labrram.bench.factory import (
    SimulatedLab,
    connect_bench,
    direct_simulated_bench,
    simulated_instrument_bench,
    simulated_lab,
)
from labrram.bench.pulsed import PulseMeasureBench
from labrram.config import BenchConfig, parse_config
from labrram.drivers.simulated.server import InstrumentServer


@dataclass
class BenchCase:
    """A bench plus what the suite needs to check it from outside the interface."""

    bench: Bench
    true_conductance_s: Callable[[DeviceAddress], float]
    outputs_safe: Callable[[], bool]
    fail_next_operation: Callable[[BaseException], None]
    close: Callable[[], None] = lambda: None


PULSER_INSTRUMENTS = {
    "visa_library": "@sim",
    "matrix": {"driver": "keithley707b", "resource": "GPIB0::16::INSTR"},
    "pulser": {"driver": "keithley4200a", "resource": "TCPIP0::localhost::1225::SOCKET"},
}


def suite_config(seed: int = 5, wiring: dict | None = None, instruments: dict | None = None) -> BenchConfig:
    """A small quiet TiO2 passive bench: no stuck devices, so every device responds.

    ``wiring``: a [wiring] table (else the default cabling); ``instruments``: an [instruments] table.
    """
    return parse_config(
        {
            **({"wiring": wiring} if wiring is not None else {}),
            **({"instruments": instruments} if instruments is not None else {}),
            "bench": {"name": "suite", "seed": seed, "read_duration_s": 1e-4},
            "sample": {
                "chip": "suite-chip",
                "preset": "tio2-passive-8x8",
                "overrides": {"stuck_hrs_fraction": 0.0, "stuck_lrs_fraction": 0.0},
                "arrays": [{"name": "A1", "rows": 4, "cols": 4}],
            },
            "safety": {
                "max_positive_v": 2.0,
                "max_negative_v": 2.4,
                "max_read_v": 0.4,
                "max_width_s": 1e-4,
                "max_compliance_a": 1e-3,
            },
        }
    )


def direct_simulated_case() -> BenchCase:
    bench = direct_simulated_bench(suite_config())
    chip = bench.chip

    def true_conductance_s(device: DeviceAddress) -> float:
        return float(chip.arrays[device.array].conductance_s()[device.row, device.col])

    def outputs_safe() -> bool:
        return bench.source_level_v == 0.0 and not bench.output_enabled

    def fail_next_operation(error: BaseException) -> None:
        originals = chip.apply, chip.pulse_lines, chip.measure

        def fail(*args: object, **kwargs: object) -> None:
            chip.apply, chip.pulse_lines, chip.measure = originals
            raise error

        chip.apply = chip.pulse_lines = chip.measure = fail

    return BenchCase(bench, true_conductance_s, outputs_safe, fail_next_operation)


def lab_case(bench: Bench, lab: SimulatedLab, close: Callable[[], None] = lambda: None) -> BenchCase:
    """A case for a driver-backed bench whose instruments are the emulators of ``lab``."""

    def true_conductance_s(device: DeviceAddress) -> float:
        return float(lab.chip.arrays[device.array].conductance_s()[device.row, device.col])

    def outputs_safe() -> bool:
        smus = [smu for emulator in lab.smus.values() for smu in emulator.smu.values()]
        if lab.pulser is not None:
            smus += [channel.state for channel in lab.pulser.pmu.values()]
        return all(smu.level_v == 0.0 and not smu.output for smu in smus) and not lab.matrix.closed

    def fail_next_operation(error: BaseException) -> None:
        # Fails in a driver's connection, as a dropped transport or a Ctrl-C there would.
        adapters = lab_bench_adapters(bench)
        originals = {id(adapter): adapter.write for adapter in adapters}

        def failing(adapter):
            def fail(command: str, **kwargs: object) -> None:
                if any(word in command for word in ("PulseVMeasureI", ".measure.i(", ":PMU:EXECUTE")):
                    for each in adapters:
                        each.write = originals[id(each)]
                    raise error
                originals[id(adapter)](command, **kwargs)

            return fail

        for adapter in adapters:
            adapter.write = failing(adapter)

    return BenchCase(bench, true_conductance_s, outputs_safe, fail_next_operation, close)


def lab_bench_adapters(bench: Bench) -> list:
    """The connections of the SMUs (or the analyzer) that pulse and sense."""
    if isinstance(bench, PulseMeasureBench):
        return [bench.analyzer.adapter]
    adapters = {id(r.channel.parent.adapter): r.channel.parent.adapter for r in bench.roles.values()}
    return list(adapters.values())


def simulated_instruments_case() -> BenchCase:
    return lab_case(*simulated_instrument_bench(suite_config()))


def tsp_link_instruments_case() -> BenchCase:
    """smu2 reached over smu1's TSP-Link: a pulse and its bias in one message."""
    return lab_case(*simulated_instrument_bench(suite_config(), tsp_link_node=2))


# Another probe card: lines on scattered columns of three cards, the roles on other rows and channels
# (the selected word line on smu2, so a read goes to two instruments).
SCATTERED_WIRING = {
    "selected_row": {"smu": "smu2.a", "matrix_row": "F"},
    "selected_col": {"smu": "smu1.b", "matrix_row": "C"},
    "unselected_rows": {"smu": "smu1.a", "matrix_row": "H"},
    "unselected_cols": {"smu": "smu2.b", "matrix_row": "A"},
    "lines": {"A1": {"rows": ["3-12", "1-01", "2-07", "1-09"], "cols": ["2-01", "3-03", "1-12", "2-08"]}},
}


def scattered_wiring_case() -> BenchCase:
    return lab_case(*simulated_instrument_bench(suite_config(wiring=SCATTERED_WIRING)))


def tcp_instruments_case() -> BenchCase:
    config = suite_config()
    lab = simulated_lab(config)
    server = InstrumentServer(lab.emulators()).start()
    bench = connect_bench(config, server.resources, "@py", instrument_clock=True)

    def close() -> None:
        bench.disconnect()
        server.stop()

    return lab_case(bench, lab, close)


def pulser_instruments_case() -> BenchCase:
    """Seed 002's bench: a 4200A-SCS's PMU channels behind the 707B."""
    return lab_case(*simulated_instrument_bench(suite_config(instruments=PULSER_INSTRUMENTS)))


BENCH_CASES: dict[str, Callable[[], BenchCase]] = {
    "pulser-instruments": pulser_instruments_case,
    "direct-simulated": direct_simulated_case,
    "simulated-instruments": simulated_instruments_case,
    "tsp-link-instruments": tsp_link_instruments_case,
    "scattered-wiring-instruments": scattered_wiring_case,
    "tcp-instruments": tcp_instruments_case,
}
