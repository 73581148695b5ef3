"""Alibart adaptive pulse tuning of one device to a target conductance.

Alibart, Gao, Hoskins, Strukov, Nanotechnology 23, 075201 (2012): read; inside the tolerance band a
read counts as good; below the band apply a SET pulse at the present SET amplitude, raise that
amplitude by one step and put the RESET amplitude back to its start; above the band the mirror image.
Programmed after ``successive_reads`` good reads in a row (any read out of band restarts the count).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import asdict, dataclass

from labrram.bench.base import Bench, DeviceAddress
from labrram.records import Progress, Pulse, PulseKind, Read, Record, Result, RunStarted


@dataclass(frozen=True)
class AlibartSettings:
    """Amplitude ramps (V), pulse width, read, tolerance and budget of the tuning loop.

    Defaults are seed 002's (Drolet et al.): SET 0.8 V to 2 V, RESET -1.1 V to -2.4 V, 200 ns pulses,
    0.2 V reads, 1% tolerance, ten successive good reads. The step is not given there; 5 mV is the
    value of a public implementation.
    """

    set_start_v: float = 0.8
    set_stop_v: float = 2.0
    set_step_v: float = 0.005
    reset_start_v: float = -1.1
    reset_stop_v: float = -2.4
    reset_step_v: float = 0.005
    width_s: float = 200e-9
    read_voltage_v: float = 0.2
    tolerance: float = 0.01
    successive_reads: int = 10
    max_pulses: int = 2000

    def __post_init__(self) -> None:
        if not 0 < self.set_start_v <= self.set_stop_v:
            raise ValueError("set_start_v must be positive and not above set_stop_v")
        if not self.reset_stop_v <= self.reset_start_v < 0:
            raise ValueError("reset_start_v must be negative and not below reset_stop_v")
        if self.set_step_v < 0 or self.reset_step_v < 0:
            raise ValueError("set_step_v and reset_step_v must be >= 0")
        if not 0 < self.tolerance < 1:
            raise ValueError("tolerance must be a relative value in (0, 1)")
        if self.successive_reads < 1 or self.max_pulses < 0:
            raise ValueError("successive_reads must be >= 1 and max_pulses >= 0")


def tune_device(
    bench: Bench, device: DeviceAddress, target_s: float, settings: AlibartSettings
) -> Iterator[Record]:
    """Tune one device to ``target_s``; yield every pulse and read, then a "tuning" Result."""
    if not target_s > 0:
        raise ValueError(f"target_s must be a positive conductance, got {target_s}")
    bench.select(device.row, device.col, device.array)
    low, high = target_s * (1 - settings.tolerance), target_s * (1 + settings.tolerance)
    set_v, reset_v = settings.set_start_v, settings.reset_start_v
    pulses = good = 0
    conductance_s = float("nan")
    while True:
        read = bench.read(settings.read_voltage_v)
        yield Read.of(read)
        conductance_s = read.conductance_s
        if low <= conductance_s <= high:
            good += 1
            if good >= settings.successive_reads:
                break
            continue
        good = 0
        if pulses >= settings.max_pulses:
            break
        if conductance_s < low:
            yield Pulse.of(bench.pulse(set_v, settings.width_s), PulseKind.SET)
            set_v = min(set_v + settings.set_step_v, settings.set_stop_v)
            reset_v = settings.reset_start_v
        else:
            yield Pulse.of(bench.pulse(reset_v, settings.width_s), PulseKind.RESET)
            reset_v = max(reset_v - settings.reset_step_v, settings.reset_stop_v)
            set_v = settings.set_start_v
        pulses += 1
    yield Result(
        device,
        "tuning",
        {
            "target_s": target_s,
            "achieved_s": conductance_s,
            "pulses": pulses,
            "success": good >= settings.successive_reads,
            "settings": asdict(settings),
        },
    )


def tune_devices(
    bench: Bench,
    targets_s: Mapping[DeviceAddress, float],
    settings: AlibartSettings,
    done: Collection[DeviceAddress] = frozenset(),
    seed: int | None = None,
) -> Iterator[Record]:
    """A tuning run over a device selection: RunStarted, then each device not in ``done`` in turn.

    Passing the devices a previous, interrupted run completed (``Recorder.resume``) makes the run
    resumable: those devices are not touched again.
    """
    devices = tuple(targets_s)
    parameters = {
        "targets_s": {f"{d.array}:{d.row}:{d.col}": t for d, t in targets_s.items()},
        "settings": asdict(settings),
    }
    yield RunStarted("tuning", parameters, devices, seed)
    remaining = [d for d in devices if d not in done]
    for position, device in enumerate(remaining, start=1):
        yield from tune_device(bench, device, targets_s[device], settings)
        yield Progress(len(devices) - len(remaining) + position, len(devices), device)
