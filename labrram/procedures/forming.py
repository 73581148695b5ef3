"""Forming: a voltage ramp with current compliance until the device conducts.

Virgin devices (a fresh 1T1R HfO2 array) must be formed once before they switch: positive pulses of
growing amplitude, each followed by a read, until the read conductance reaches a threshold; the
compliance keeps the newly formed filament from overshooting.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import asdict, dataclass

from labrram.bench.base import Bench, DeviceAddress
from labrram.procedures.common import device_run, require, require_positive
from labrram.records import Pulse, PulseKind, Read, Record, Result


@dataclass(frozen=True)
class FormingSettings:
    """Ramp (V), pulse width, compliance and the conductance that counts as formed."""

    start_v: float = 2.0
    stop_v: float = 3.5
    step_v: float = 0.05
    width_s: float = 1e-6
    compliance_a: float = 100e-6
    formed_conductance_s: float = 5e-6
    read_voltage_v: float = 0.2

    def __post_init__(self) -> None:
        require(0 < self.start_v <= self.stop_v, "start_v", "must be > 0 and <= stop_v")
        for name in ("step_v", "width_s", "compliance_a", "formed_conductance_s"):
            require_positive(name, getattr(self, name))
        require(self.read_voltage_v != 0, "read_voltage_v", "must be non-zero")


def form_device(bench: Bench, device: DeviceAddress, settings: FormingSettings) -> Iterator[Record]:
    """Form one device; a device that already conducts gets no pulse. Ends with a "forming" Result."""
    bench.select(device.row, device.col, device.array)
    read = bench.read(settings.read_voltage_v)
    yield Read.of(read)
    amplitude_v, pulses = settings.start_v, 0
    while read.conductance_s < settings.formed_conductance_s and amplitude_v <= settings.stop_v + 1e-12:
        yield Pulse.of(bench.pulse(amplitude_v, settings.width_s, settings.compliance_a), PulseKind.FORM)
        pulses += 1
        read = bench.read(settings.read_voltage_v)
        yield Read.of(read)
        amplitude_v += settings.step_v
    formed = read.conductance_s >= settings.formed_conductance_s
    yield Result(
        device,
        "forming",
        {
            "success": formed,
            "pulses": pulses,
            "forming_voltage_v": amplitude_v - settings.step_v if formed and pulses else None,
            "conductance_s": read.conductance_s,
            "settings": asdict(settings),
        },
    )


def form_devices(
    bench: Bench,
    devices: Sequence[DeviceAddress],
    settings: FormingSettings,
    done: Collection[DeviceAddress] = frozenset(),
    seed: int | None = None,
) -> Iterator[Record]:
    """A forming run over a device selection."""
    return device_run(
        "forming", asdict(settings), list(devices), lambda d: form_device(bench, d, settings), done, seed
    )
