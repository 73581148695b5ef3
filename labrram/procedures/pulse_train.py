"""Jump-table pulse trains: identical SET pulses, then identical RESET pulses, reading after each.

From a start state (the RESET off state by default), ``set_count`` SET pulses then ``reset_count``
RESET pulses, ``cycles`` times, with a read after every pulse: the (G before, dG) pairs across the whole
window from which jump-tables (Burr et al.; Sidler et al., seed 003) are built.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import asdict, dataclass

from labrram.bench.base import Bench, DeviceAddress
from labrram.procedures.common import device_run, require, require_count, require_positive
from labrram.records import Pulse, PulseKind, Read, Record, Result


@dataclass(frozen=True)
class PulseTrainSettings:
    """Amplitudes (V), width, counts per polarity and cycles; optional RESET start."""

    set_v: float = 1.4
    reset_v: float = -1.8
    width_s: float = 200e-9
    set_count: int = 100
    reset_count: int = 100
    cycles: int = 3
    start_from_reset: bool = True
    start_reset_pulses: int = 50
    read_voltage_v: float = 0.2

    def __post_init__(self) -> None:
        require(self.set_v > 0, "set_v", "must be > 0 (SET polarity)")
        require(self.reset_v < 0, "reset_v", "must be < 0 (RESET polarity)")
        require_positive("width_s", self.width_s)
        require_count("set_count", self.set_count, minimum=0)
        require_count("reset_count", self.reset_count, minimum=0)
        require(self.set_count + self.reset_count > 0, "set_count", "a train needs at least one pulse")
        require_count("cycles", self.cycles)
        require_count("start_reset_pulses", self.start_reset_pulses, minimum=0)
        require(self.read_voltage_v != 0, "read_voltage_v", "must be non-zero")


def pulse_train(bench: Bench, device: DeviceAddress, settings: PulseTrainSettings) -> Iterator[Record]:
    """One device's trains; ends with a "pulse_train" Result summarizing the window it swept."""
    bench.select(device.row, device.col, device.array)
    if settings.start_from_reset:
        for _ in range(settings.start_reset_pulses):
            yield Pulse.of(bench.pulse(settings.reset_v, settings.width_s), PulseKind.RESET)
    read = bench.read(settings.read_voltage_v)
    yield Read.of(read)
    lowest = highest = start_s = read.conductance_s
    plan = [(settings.set_v, PulseKind.SET)] * settings.set_count
    plan += [(settings.reset_v, PulseKind.RESET)] * settings.reset_count
    for _ in range(settings.cycles):
        for amplitude_v, kind in plan:
            yield Pulse.of(bench.pulse(amplitude_v, settings.width_s), kind)
            read = bench.read(settings.read_voltage_v)
            yield Read.of(read)
            lowest, highest = min(lowest, read.conductance_s), max(highest, read.conductance_s)
    yield Result(
        device,
        "pulse_train",
        {
            "start_s": start_s,
            "end_s": read.conductance_s,
            "min_s": lowest,
            "max_s": highest,
            "pulses": len(plan) * settings.cycles,
        },
    )


def pulse_trains(
    bench: Bench,
    devices: Sequence[DeviceAddress],
    settings: PulseTrainSettings,
    done: Collection[DeviceAddress] = frozenset(),
    seed: int | None = None,
) -> Iterator[Record]:
    """A pulse-train run over a device selection."""
    return device_run(
        "pulse_train", asdict(settings), list(devices), lambda d: pulse_train(bench, d, settings), done, seed
    )
