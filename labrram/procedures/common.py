"""What every procedure shares: parameter checks that name the parameter, and the device loop.

The device loop yields RunStarted, skips the devices an interrupted run already completed (so a run
resumes where it stopped), and follows each device with a Progress record carrying a wall-clock ETA.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any

from labrram.bench.base import DeviceAddress
from labrram.errors import ParameterError
from labrram.records import Progress, Record, RunStarted


def require(condition: bool, name: str, problem: str) -> None:
    """Raise ParameterError(name, problem) unless ``condition`` holds."""
    if not condition:
        raise ParameterError(name, problem)


def require_positive(name: str, value: float) -> None:
    require(
        isinstance(value, int | float) and math.isfinite(value) and value > 0,
        name,
        f"must be > 0, got {value!r}",
    )


def require_count(name: str, value: int, minimum: int = 1) -> None:
    require(
        isinstance(value, int) and not isinstance(value, bool) and value >= minimum,
        name,
        f"must be an integer >= {minimum}, got {value!r}",
    )


def device_run(
    procedure: str,
    parameters: dict[str, Any],
    devices: Sequence[DeviceAddress],
    per_device: Callable[[DeviceAddress], Iterator[Record]],
    done: Collection[DeviceAddress] = frozenset(),
    seed: int | None = None,
) -> Iterator[Record]:
    """RunStarted, then ``per_device`` for each device not in ``done``, each followed by Progress."""
    require(len(set(devices)) == len(devices), "devices", "lists a device twice")
    yield RunStarted(procedure, parameters, tuple(devices), seed)
    remaining = [d for d in devices if d not in done]
    already = len(devices) - len(remaining)
    started = time.monotonic()
    for position, device in enumerate(remaining, start=1):
        yield from per_device(device)
        elapsed = time.monotonic() - started
        eta_s = elapsed / position * (len(remaining) - position)
        yield Progress(already + position, len(devices), device, eta_s)


# The result that says a device's part of a run is whole: a resumed run skips exactly these devices.
CONCLUDING_RESULTS = {
    "tuning": "tuning",
    "multilevel": "level",
    "forming": "forming",
    "pulse_train": "pulse_train",
    "iv": "iv_end",
    "endurance": "endurance_end",
    "array_programming": "tuning",
}
# Procedures whose interrupted runs cannot be continued honestly, and why.
NOT_RESUMABLE = {
    "retention": "a retention test cannot resume (the time since programming went on): start a new test",
}
