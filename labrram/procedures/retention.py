"""Retention test: read devices at a log-spaced (or given) schedule, optionally during a bake.

Elapsed time counts from the start of the test, or from each device's programming time when given.
With ``temperature_c`` the bench's temperature is set for the test and put back afterwards (the
simulated chip ages faster by the Arrhenius factor; a real bench needs a heater it can set).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from labrram.bench.base import Bench, DeviceAddress
from labrram.errors import LabrramError
from labrram.procedures.common import require, require_count, require_positive
from labrram.records import Progress, Read, Record, Result, RunStarted


@dataclass(frozen=True)
class RetentionSettings:
    """Schedule: ``points`` log-spaced times from ``first_s`` to ``duration_s``, or explicit ``times_s``."""

    duration_s: float = 1e4
    first_s: float = 1.0
    points: int = 9
    times_s: tuple[float, ...] | None = None
    temperature_c: float | None = None
    read_voltage_v: float = 0.2

    def __post_init__(self) -> None:
        if self.times_s is None:
            require_positive("duration_s", self.duration_s)
            require_positive("first_s", self.first_s)
            require(self.first_s <= self.duration_s, "first_s", "must not exceed duration_s")
            require_count("points", self.points)
        else:
            times = np.asarray(self.times_s, dtype=float)
            require(
                times.size > 0 and bool(np.all(np.isfinite(times))) and bool(np.all(times >= 0)),
                "times_s",
                "must be finite, non-negative times",
            )
            require(bool(np.all(np.diff(times) > 0)), "times_s", "must increase")
        require(self.read_voltage_v != 0, "read_voltage_v", "must be non-zero")
        if self.temperature_c is not None:
            require(
                math.isfinite(self.temperature_c) and self.temperature_c > -273.15,
                "temperature_c",
                f"must be a temperature above absolute zero (-273.15 C), got {self.temperature_c!r}",
            )

    def schedule_s(self) -> np.ndarray:
        if self.times_s is not None:
            return np.asarray(self.times_s, dtype=float)
        return np.geomspace(self.first_s, self.duration_s, self.points)


def retention_test(
    bench: Bench,
    devices: Sequence[DeviceAddress],
    settings: RetentionSettings,
    programmed_at_s: Mapping[DeviceAddress, float] | None = None,
    seed: int | None = None,
) -> Iterator[Record]:
    """Read every device at each scheduled time; each read also gives a "retention" Result.

    Progress counts schedule points. A retention test is not resumed device by device (its clock
    would be lost): after an interruption, start a new test on the same devices.
    """
    require(len(set(devices)) == len(devices), "devices", "lists a device twice")
    yield RunStarted("retention", asdict(settings), tuple(devices), seed)
    yield from read_on_schedule(bench, devices, settings, programmed_at_s)


def read_on_schedule(
    bench: Bench,
    devices: Sequence[DeviceAddress],
    settings: RetentionSettings,
    programmed_at_s: Mapping[DeviceAddress, float] | None = None,
) -> Iterator[Record]:
    """The reads of a retention test, without a RunStarted: for procedures that end with one."""
    start_s = bench.now()
    origins = {d: (programmed_at_s or {}).get(d, start_s) for d in devices}
    previous_c = bench.temperature_c if settings.temperature_c is not None else None
    try:
        if settings.temperature_c is not None:
            bench.temperature_c = settings.temperature_c
        temperature_c = settings.temperature_c if settings.temperature_c is not None else _temperature(bench)
        schedule = settings.schedule_s()
        for point, time_s in enumerate(schedule, start=1):
            bench.wait(max(0.0, start_s + time_s - bench.now()))
            for device in devices:
                bench.select(device.row, device.col, device.array)
                read = bench.read(settings.read_voltage_v)
                yield Read.of(read)
                values = {
                    "elapsed_s": read.t_s - origins[device],
                    "conductance_s": read.conductance_s,
                    "temperature_c": temperature_c,
                    "point": point,
                }
                yield Result(device, "retention", values)
            yield Progress(point, len(schedule), None)
    finally:
        if previous_c is not None:
            bench.temperature_c = previous_c


def _temperature(bench: Bench) -> float | None:
    """The bench temperature where it knows one."""
    try:
        return bench.temperature_c
    except LabrramError:  # a bench without a temperature sensor
        return None
