"""Endurance: SET/RESET cycling with periodic reads, ending when the device stops switching.

Every ``read_every`` cycles the conductance is read after the SET and after the RESET of one cycle; a
device has failed when the ratio G_set / G_reset stays below ``min_ratio`` for ``failures_to_stop``
checks in a row (stuck in LRS or HRS, or a closed window). Checked cycles are "endurance" Results;
the end is an "endurance_end" Result with the cycle count and how the device ended.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import asdict, dataclass

from labrram.bench.base import Bench, DeviceAddress
from labrram.procedures.common import device_run, require, require_count, require_positive
from labrram.records import Pulse, PulseKind, Read, Record, Result


@dataclass(frozen=True)
class EnduranceSettings:
    """Pulses of one cycle, how often to check, what counts as failure, and the cycle budget."""

    set_v: float = 2.0
    reset_v: float = -2.4
    width_s: float = 1e-6
    compliance_a: float | None = None
    cycles: int = 10_000
    read_every: int = 100
    min_ratio: float = 1.5
    failures_to_stop: int = 3
    read_voltage_v: float = 0.2

    def __post_init__(self) -> None:
        require(self.set_v > 0, "set_v", "must be > 0 (SET polarity)")
        require(self.reset_v < 0, "reset_v", "must be < 0 (RESET polarity)")
        require_positive("width_s", self.width_s)
        if self.compliance_a is not None:
            require_positive("compliance_a", self.compliance_a)
        require_count("cycles", self.cycles)
        require_count("read_every", self.read_every)
        require(self.min_ratio > 1, "min_ratio", "must be > 1")
        require_count("failures_to_stop", self.failures_to_stop)
        require(self.read_voltage_v != 0, "read_voltage_v", "must be non-zero")


def cycle_device(bench: Bench, device: DeviceAddress, settings: EnduranceSettings) -> Iterator[Record]:
    """Cycle one device until it fails or the budget is spent."""
    bench.select(device.row, device.col, device.array)
    failures = 0
    cycle = 0
    ended = "budget"
    for cycle in range(1, settings.cycles + 1):
        check = cycle % settings.read_every == 0 or cycle == 1
        yield Pulse.of(bench.pulse(settings.set_v, settings.width_s, settings.compliance_a), PulseKind.SET)
        if check:
            after_set = bench.read(settings.read_voltage_v)
            yield Read.of(after_set)
        yield Pulse.of(bench.pulse(settings.reset_v, settings.width_s), PulseKind.RESET)
        if not check:
            continue
        after_reset = bench.read(settings.read_voltage_v)
        yield Read.of(after_reset)
        g_set, g_reset = after_set.conductance_s, after_reset.conductance_s
        yield Result(
            device, "endurance", {"cycle": cycle, "set_conductance_s": g_set, "reset_conductance_s": g_reset}
        )
        failures = failures + 1 if g_set < settings.min_ratio * g_reset else 0
        if failures >= settings.failures_to_stop:
            ended = "failed"
            break
    yield Result(device, "endurance_end", {"cycles": cycle, "ended": ended})


def endurance(
    bench: Bench,
    devices: Sequence[DeviceAddress],
    settings: EnduranceSettings,
    done: Collection[DeviceAddress] = frozenset(),
    seed: int | None = None,
) -> Iterator[Record]:
    """An endurance run over a device selection."""
    return device_run(
        "endurance", asdict(settings), list(devices), lambda d: cycle_device(bench, d, settings), done, seed
    )
