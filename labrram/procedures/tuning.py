"""Adaptive pulse tuning of a device to a target conductance: Alibart's ramp, and a logarithmic variant.

Alibart, Gao, Hoskins, Strukov, Nanotechnology 23, 075201 (2012): read; inside the tolerance band a
read counts as good; below the band apply a SET pulse at the present SET amplitude, raise that
amplitude by one step and put the RESET amplitude back to its start; above the band the mirror image.
Programmed after ``successive_reads`` good reads in a row (any read out of band restarts the count).

The "log-step" strategy (arXiv 2103.09931) grows the amplitude by
``log_gain * log10(|G_target - G| / |dG_last|)`` while the last change was small against the distance
left, and puts it back to the start of its ramp once a change was as large as that distance.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from labrram.bench.base import Bench, DeviceAddress
from labrram.procedures.common import device_run, require, require_count, require_positive
from labrram.records import DeviceTrace, Pulse, PulseKind, Read, Record, Result

if TYPE_CHECKING:
    from labrram.physics.tuning_loop import TuningTrace

STRATEGIES = ("alibart", "log-step")


@dataclass(frozen=True)
class AlibartSettings:
    """Amplitude ramps (V), pulse width, read, tolerance, budget and strategy of the tuning loop.

    Defaults are seed 002's (Drolet et al.): SET 0.8 V to 2 V, RESET -1.1 V to -2.4 V, 200 ns pulses,
    0.2 V reads, 1% tolerance, ten successive good reads. The step is not given there; 5 mV is the
    value of a public implementation. ``tolerance_s``, when set, is an absolute band (siemens) used
    instead of the relative ``tolerance``. ``reset_first`` RESETs the device to its off state
    (below ``off_conductance_s``, at most ``reset_first_pulses`` pulses at the RESET ramp's end) before
    tuning, as seed 002 does to make the tuning offset reproducible. ``unresponsive_pulses`` ends the
    tuning of a device that has taken that many pulses in a row at its ramp's end amplitude while its
    conductance stayed within one tolerance band (a stuck device, or a target beyond its reach) instead
    of spending the rest of ``max_pulses`` on it; 0 keeps pulsing to ``max_pulses``.
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
    tolerance_s: float | None = None
    successive_reads: int = 10
    max_pulses: int = 2000
    strategy: str = "alibart"
    log_gain_v: float = 0.1
    reset_first: bool = False
    off_conductance_s: float = 110e-6
    reset_first_pulses: int = 50
    unresponsive_pulses: int = 50

    def __post_init__(self) -> None:
        require(0 < self.set_start_v <= self.set_stop_v, "set_start_v", "must be > 0 and <= set_stop_v")
        require(
            self.reset_stop_v <= self.reset_start_v < 0, "reset_start_v", "must be < 0 and >= reset_stop_v"
        )
        require(self.set_step_v >= 0, "set_step_v", "must be >= 0")
        require(self.reset_step_v >= 0, "reset_step_v", "must be >= 0")
        require_positive("width_s", self.width_s)
        require(self.read_voltage_v != 0, "read_voltage_v", "must be non-zero")
        require(0 < self.tolerance < 1, "tolerance", "must be a relative value in (0, 1)")
        if self.tolerance_s is not None:
            require_positive("tolerance_s", self.tolerance_s)
        require_count("successive_reads", self.successive_reads)
        require_count("max_pulses", self.max_pulses, minimum=0)
        require(self.strategy in STRATEGIES, "strategy", f"must be one of {', '.join(STRATEGIES)}")
        require_positive("log_gain_v", self.log_gain_v)
        require_positive("off_conductance_s", self.off_conductance_s)
        require_count("reset_first_pulses", self.reset_first_pulses, minimum=0)
        require_count("unresponsive_pulses", self.unresponsive_pulses, minimum=0)

    def band(self, target_s: float) -> tuple[float, float]:
        """Lowest and highest conductance that count as on target."""
        half = self.tolerance_s if self.tolerance_s is not None else self.tolerance * target_s
        return target_s - half, target_s + half


TUNING_PRESETS: dict[str, AlibartSettings] = {
    "seed-002": AlibartSettings(),
    "seed-002-from-off": AlibartSettings(reset_first=True),
    "seed-002-log-step": AlibartSettings(strategy="log-step"),
    # What an SMU without a pulse unit can do (a 2636B pulses for 100 us and longer): 500x longer
    # pulses, so the ramps start just above the TiO2 thresholds instead of at seed 002's 0.8 V / -1.1 V.
    "smu-100us": AlibartSettings(
        width_s=100e-6, set_start_v=0.6, set_stop_v=1.2, reset_start_v=-0.55, reset_stop_v=-1.5
    ),
}


def preset_for(bench_min_pulse_width_s: float) -> str:
    """The tuning preset a bench can run: seed 002's 200 ns pulses where it can make them."""
    return "seed-002" if bench_min_pulse_width_s <= TUNING_PRESETS["seed-002"].width_s else "smu-100us"


class _Ramp:
    """The amplitude of one polarity: where it starts, how it grows, where it stops."""

    def __init__(self, start_v: float, stop_v: float, step_v: float, settings: AlibartSettings) -> None:
        self.start_v, self.stop_v, self.step_v = start_v, stop_v, step_v
        self.sign = 1.0 if stop_v > 0 else -1.0
        self.settings = settings
        self.amplitude_v = start_v

    def restart(self) -> None:
        self.amplitude_v = self.start_v

    def advance(self, change_s: float, distance_s: float) -> None:
        """Grow after a pulse that changed G by ``change_s`` with ``distance_s`` still to go."""
        if self.settings.strategy == "alibart":
            growth = self.step_v
        elif abs(change_s) >= abs(distance_s):
            self.restart()
            return
        else:
            ratio = abs(distance_s) / max(abs(change_s), 1e-15)
            growth = min(self.settings.log_gain_v * math.log10(ratio), self.settings.log_gain_v)
        grown = abs(self.amplitude_v) + growth
        self.amplitude_v = self.sign * min(grown, abs(self.stop_v))


class _AtRampEnd:
    """Pulses in a row at a ramp's end amplitude and the conductances read after them: too many within
    one tolerance band mean the device does not respond."""

    def __init__(self, limit: int, band_s: float) -> None:
        self.limit, self.band_s = limit, band_s
        self.count = 0
        self.low = self.high = math.nan
        self.found = False

    def pulsed(self, at_end: bool) -> None:
        if not at_end:
            self.count, self.low, self.high = 0, math.nan, math.nan
        else:
            self.count += 1

    def unresponsive(self, conductance_s: float) -> bool:
        """Take the read after the last pulse; whether tuning should stop."""
        if not self.count:
            return False
        self.low = conductance_s if math.isnan(self.low) else min(self.low, conductance_s)
        self.high = conductance_s if math.isnan(self.high) else max(self.high, conductance_s)
        self.found = bool(self.limit) and self.count >= self.limit and self.high - self.low <= self.band_s
        return self.found


def tune_device(
    bench: Bench, device: DeviceAddress, target_s: float, settings: AlibartSettings, traced: bool = False
) -> Iterator[Record]:
    """Tune one device to ``target_s``; yield every pulse and read, then a "tuning" Result.

    ``traced``: where the bench can run the loop on its side (`Bench.run_tuning_loop`), let it, and
    yield its reads and pulses as one DeviceTrace (the same rows in the database); for consumers that
    store records rather than look at each Read and Pulse.
    """
    require_positive("target_s", target_s)
    bench.select(device.row, device.col, device.array)
    if settings.reset_first:
        yield from _reset_to_off(bench, settings)
    low, high = settings.band(target_s)
    trace = bench.run_tuning_loop(target_s, settings, (low, high)) if traced else None
    if trace is not None:
        yield from _traced(device, target_s, settings, trace)
        return
    set_ramp = _Ramp(settings.set_start_v, settings.set_stop_v, settings.set_step_v, settings)
    reset_ramp = _Ramp(settings.reset_start_v, settings.reset_stop_v, settings.reset_step_v, settings)
    pulses = good = 0
    seen_low = seen_high = math.nan
    previous_s = math.nan
    last_kind = PulseKind.SET
    at_end = _AtRampEnd(settings.unresponsive_pulses, high - low)
    while True:
        read = bench.read(settings.read_voltage_v)
        yield Read.of(read)
        conductance_s = read.conductance_s
        if at_end.unresponsive(conductance_s):
            break
        seen_low = min(seen_low, conductance_s) if pulses else conductance_s
        seen_high = max(seen_high, conductance_s) if pulses else conductance_s
        if pulses and not math.isnan(previous_s):
            ramp = set_ramp if last_kind is PulseKind.SET else reset_ramp
            ramp.advance(conductance_s - previous_s, target_s - conductance_s)
        previous_s = math.nan
        if low <= conductance_s <= high:
            good += 1
            if good >= settings.successive_reads:
                break
            continue
        good = 0
        if pulses >= settings.max_pulses:
            break
        if conductance_s < low:
            last_kind, ramp, other = PulseKind.SET, set_ramp, reset_ramp
        else:
            last_kind, ramp, other = PulseKind.RESET, reset_ramp, set_ramp
        yield Pulse.of(bench.pulse(ramp.amplitude_v, settings.width_s), last_kind)
        at_end.pulsed(ramp.amplitude_v == ramp.stop_v)
        other.restart()
        previous_s = conductance_s
        pulses += 1
    success = good >= settings.successive_reads
    seen = (seen_low, seen_high)
    yield _tuning_result(device, target_s, settings, conductance_s, pulses, success, at_end.found, seen)


def _traced(
    device: DeviceAddress, target_s: float, settings: AlibartSettings, trace: TuningTrace
) -> Iterator[Record]:
    """A loop the bench ran: its reads and pulses as one DeviceTrace, then the "tuning" Result."""
    yield DeviceTrace(
        device, trace.kind, trace.t_s, trace.voltage_v, trace.current_a, settings.width_s, trace.compliance_a
    )
    success = trace.good_reads >= settings.successive_reads
    outcome = (trace.achieved_s, trace.pulses, success, trace.unresponsive, trace.range_seen_s)
    yield _tuning_result(device, target_s, settings, *outcome)


def _tuning_result(
    device: DeviceAddress,
    target_s: float,
    settings: AlibartSettings,
    achieved_s: float,
    pulses: int,
    success: bool,
    unresponsive: bool,
    range_seen_s: tuple[float, float],
) -> Result:
    """The "tuning" Result that concludes a device's tuning."""
    values = {
        "target_s": target_s,
        "achieved_s": achieved_s,
        "pulses": pulses,
        "success": success,
        "unresponsive": unresponsive,
        "range_seen_s": list(range_seen_s),
        "settings": asdict(settings),
    }
    return Result(device, "tuning", values)


def _reset_to_off(bench: Bench, settings: AlibartSettings) -> Iterator[Record]:
    """RESET pulses at the end of the RESET ramp until the device reads below the off conductance."""
    for _ in range(settings.reset_first_pulses):
        read = bench.read(settings.read_voltage_v)
        yield Read.of(read)
        if read.conductance_s <= settings.off_conductance_s:
            return
        yield Pulse.of(bench.pulse(settings.reset_stop_v, settings.width_s), PulseKind.RESET)


def tuning_parameters(targets_s: Mapping[DeviceAddress, float], settings: AlibartSettings) -> dict[str, Any]:
    """A tuning run's stored parameters: each device's target and the settings."""
    return {
        "targets_s": {f"{d.array}:{d.row}:{d.col}": t for d, t in targets_s.items()},
        "settings": asdict(settings),
    }


def tune_devices(
    bench: Bench,
    targets_s: Mapping[DeviceAddress, float],
    settings: AlibartSettings,
    done: Collection[DeviceAddress] = frozenset(),
    seed: int | None = None,
) -> Iterator[Record]:
    """A tuning run over a device selection; devices in ``done`` (a resumed run) are skipped."""
    for device, target_s in targets_s.items():
        require_positive(f"targets_s[{device.array}:{device.row}:{device.col}]", target_s)
    return device_run(
        "tuning",
        tuning_parameters(targets_s, settings),
        list(targets_s),
        lambda device: tune_device(bench, device, targets_s[device], settings, traced=True),
        done,
        seed,
    )
