"""The records a procedure yields; every consumer (recorder, progress bar, test) understands them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from labrram.bench.base import DeviceAddress, PulseResult, ReadResult


class PulseKind(StrEnum):
    """Why a pulse was applied."""

    SET = "SET"
    RESET = "RESET"
    FORM = "FORM"


class RunStatus(StrEnum):
    """How a run ended."""

    COMPLETED = "completed"
    ABORTED = "aborted"
    FAILED = "failed"


@dataclass(frozen=True)
class RunStarted:
    procedure: str
    parameters: dict[str, Any]
    devices: tuple[DeviceAddress, ...]
    seed: int | None = None


@dataclass(frozen=True)
class RunFinished:
    status: RunStatus
    message: str = ""


@dataclass(frozen=True)
class Pulse:
    device: DeviceAddress
    t_s: float
    amplitude_v: float
    width_s: float
    kind: PulseKind
    compliance_a: float | None
    current_a: float

    @classmethod
    def of(cls, result: PulseResult, kind: PulseKind) -> Pulse:
        return cls(
            result.device,
            result.t_s,
            result.amplitude_v,
            result.width_s,
            kind,
            result.compliance_a,
            result.current_a,
        )


@dataclass(frozen=True)
class Read:
    device: DeviceAddress
    t_s: float
    voltage_v: float
    current_a: float
    conductance_s: float

    @classmethod
    def of(cls, result: ReadResult) -> Read:
        return cls(result.device, result.t_s, result.voltage_v, result.current_a, result.conductance_s)


@dataclass(frozen=True)
class Result:
    device: DeviceAddress
    kind: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Progress:
    """Devices done of the run's total; ``eta_s`` is the wall-clock estimate of the time left."""

    done: int
    total: int
    device: DeviceAddress | None = None
    eta_s: float | None = None


Record = RunStarted | RunFinished | Pulse | Read | Result | Progress
