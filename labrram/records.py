"""The records a procedure yields; every consumer (recorder, progress bar, test) understands them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

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


@dataclass(frozen=True, eq=False)
class ReadBlock:
    """Reads of several devices taken at once (a parallel read): one time, one current each; stored as
    one Read per device, without building them (the columnar path of the Recorder)."""

    devices: tuple[DeviceAddress, ...]
    t_s: float
    voltage_v: float
    currents_a: np.ndarray

    def __len__(self) -> int:
        return len(self.devices)

    def records(self) -> Iterator[Read]:
        """The block as the Reads it stands for."""
        for device, current_a in zip(self.devices, self.currents_a.tolist(), strict=True):
            yield Read(device, self.t_s, self.voltage_v, current_a, current_a / self.voltage_v)


@dataclass(frozen=True, eq=False)
class PulseBlock:
    """Pulses of several devices applied at once, each at its own amplitude (SET above 0, RESET below);
    stored as one Pulse per device."""

    devices: tuple[DeviceAddress, ...]
    t_s: float
    amplitudes_v: np.ndarray
    width_s: float
    compliance_a: float | None
    currents_a: np.ndarray

    def __len__(self) -> int:
        return len(self.devices)

    def records(self) -> Iterator[Pulse]:
        """The block as the Pulses it stands for."""
        for device, amplitude_v, current_a in zip(
            self.devices, self.amplitudes_v.tolist(), self.currents_a.tolist(), strict=True
        ):
            kind = PulseKind.SET if amplitude_v > 0 else PulseKind.RESET
            yield Pulse(device, self.t_s, amplitude_v, self.width_s, kind, self.compliance_a, current_a)


@dataclass(frozen=True, eq=False)
class DeviceTrace:
    """Reads and pulses of one device in the order taken, as columns (a loop run on the bench's side):
    ``kind`` 0 for a read, +1 for a SET and -1 for a RESET pulse; ``voltage_v`` the read voltage or the
    pulse amplitude. Stored as one Read or Pulse each."""

    device: DeviceAddress
    kind: np.ndarray
    t_s: np.ndarray
    voltage_v: np.ndarray
    current_a: np.ndarray
    width_s: float
    compliance_a: float | None

    def __len__(self) -> int:
        return self.kind.size

    def records(self) -> Iterator[Read | Pulse]:
        """The trace as the Reads and Pulses it stands for."""
        for kind, t_s, voltage_v, current_a in zip(
            self.kind.tolist(),
            self.t_s.tolist(),
            self.voltage_v.tolist(),
            self.current_a.tolist(),
            strict=True,
        ):
            if kind == 0:
                yield Read(self.device, t_s, voltage_v, current_a, current_a / voltage_v)
            else:
                pulse_kind = PulseKind.SET if kind > 0 else PulseKind.RESET
                yield Pulse(
                    self.device, t_s, voltage_v, self.width_s, pulse_kind, self.compliance_a, current_a
                )


Record = RunStarted | RunFinished | Pulse | Read | Result | Progress | ReadBlock | PulseBlock | DeviceTrace
