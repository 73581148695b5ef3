"""IV sweeps: a staircase (the current measured during each step) or pulsed (a read after each pulse).

The sweep goes 0 -> v_max -> 0 -> v_min -> 0 in steps of ``step_v``; a branch stops early once the
current reaches ``cutoff_a`` (protects a device that has just switched), and the SMU compliance
``compliance_a`` limits the current throughout. Every point is an "iv" Result.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from labrram.bench.base import Bench, DeviceAddress
from labrram.procedures.common import device_run, require, require_count, require_positive
from labrram.records import Pulse, PulseKind, Read, Record, Result

MODES = ("staircase", "pulsed")


@dataclass(frozen=True)
class IVSettings:
    """Sweep limits and step (V), step duration, compliance, cut-off current, mode, sweeps."""

    v_max: float = 1.5
    v_min: float = -1.5
    step_v: float = 0.05
    step_width_s: float = 1e-3
    compliance_a: float = 1e-3
    cutoff_a: float | None = None
    mode: str = "staircase"
    sweeps: int = 1
    read_voltage_v: float = 0.2

    def __post_init__(self) -> None:
        require(self.v_max > 0, "v_max", "must be > 0")
        require(self.v_min < 0, "v_min", "must be < 0")
        require_positive("step_v", self.step_v)
        require_positive("step_width_s", self.step_width_s)
        require_positive("compliance_a", self.compliance_a)
        if self.cutoff_a is not None:
            require_positive("cutoff_a", self.cutoff_a)
        require(self.mode in MODES, "mode", f"must be one of {', '.join(MODES)}")
        require_count("sweeps", self.sweeps)
        require(self.read_voltage_v != 0, "read_voltage_v", "must be non-zero")

    def excursions(self) -> list[np.ndarray]:
        """The outward halves of one sweep: 0 -> v_max and 0 -> v_min (0 V left out)."""
        up = np.arange(self.step_v, self.v_max + self.step_v / 2, self.step_v)
        down = -np.arange(self.step_v, -self.v_min + self.step_v / 2, self.step_v)
        return [up, down]


def iv_sweep(bench: Bench, device: DeviceAddress, settings: IVSettings) -> Iterator[Record]:
    """Sweep one device; each step's current is an "iv" Result (sweep, voltage_v, current_a), and an
    "iv_end" Result says the device's sweeps are all done (what a resumed run counts as done).

    Each excursion goes out step by step, stops where the current reaches the cut-off, and comes back
    over the same voltages.
    """
    bench.select(device.row, device.col, device.array)

    def step(sweep: int, voltage_v: float) -> Iterator[Record]:
        kind = PulseKind.SET if voltage_v > 0 else PulseKind.RESET
        pulse = bench.pulse(voltage_v, settings.step_width_s, settings.compliance_a)
        yield Pulse.of(pulse, kind)
        current_a = pulse.current_a
        if settings.mode == "pulsed":
            read = bench.read(settings.read_voltage_v)
            yield Read.of(read)
            current_a = read.conductance_s * voltage_v
        yield Result(device, "iv", {"sweep": sweep, "voltage_v": voltage_v, "current_a": current_a})

    for sweep in range(settings.sweeps):
        for outward in settings.excursions():
            visited: list[float] = []
            for voltage_v in map(float, outward):
                *records, point = step(sweep, voltage_v)
                yield from records
                yield point
                visited.append(voltage_v)
                if settings.cutoff_a is not None and abs(point.values["current_a"]) >= settings.cutoff_a:
                    break
            for voltage_v in reversed(visited[:-1]):
                yield from step(sweep, voltage_v)
    yield Result(device, "iv_end", {"sweeps": settings.sweeps})


def iv_sweeps(
    bench: Bench,
    devices: Sequence[DeviceAddress],
    settings: IVSettings,
    done: Collection[DeviceAddress] = frozenset(),
    seed: int | None = None,
) -> Iterator[Record]:
    """An IV run over a device selection."""
    return device_run(
        "iv", asdict(settings), list(devices), lambda d: iv_sweep(bench, d, settings), done, seed
    )
