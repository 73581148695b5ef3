"""Multilevel programming: place K conductance bins, then program devices into them by program-and-verify.

Bin placement (seed 000, REFERENCE.md):
- "linear": K centres evenly spaced in G;
- "reset-level0": the RESET state is level 0 (accepted anywhere below its upper edge), the other K-1
  levels linear above it;
- "variable-width": seed 000's energy-optimized bins, wider where the device is hard to control: the
  centres are evenly spaced in u(G) = integral dG / sigma(G), with the programming spread
  sigma(G) = a G + b of Milo et al. (IRPS 2021: a = -0.009107, b = 4.782 uS), so the spacing, and each
  bin, grows with sigma.
Programming: on 1T1R arrays by compliance steps (RESET, then SET under a compliance that grows by a
step while the device reads below its bin and backs off after a RESET when it overshoots: M-ISPVA);
on passive arrays by adaptive tuning to the bin centre with the bin as the tolerance band. Every device
gets a "level" Result with its iterations and the energy spent, sum of |V I t| over its pulses.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Iterator, Mapping
from dataclasses import asdict, dataclass, replace

import numpy as np

from labrram.bench.base import Bench, DeviceAddress
from labrram.procedures.common import device_run, require, require_count, require_positive
from labrram.procedures.tuning import AlibartSettings, tune_device
from labrram.records import Pulse, PulseKind, Read, Record, Result

PLACEMENTS = ("linear", "reset-level0", "variable-width")
METHODS = ("compliance", "tuning")
MILO_SPREAD_SLOPE = -0.009107
MILO_SPREAD_INTERCEPT_S = 4.782e-6


@dataclass(frozen=True)
class LevelPlan:
    """K bins (siemens); with ``reset_level`` level 0 is the RESET state, open towards zero."""

    centers_s: tuple[float, ...]
    half_widths_s: tuple[float, ...]
    reset_level: bool = False

    def bin(self, level: int) -> tuple[float, float]:
        """Lowest and highest conductance accepted for ``level``."""
        require(0 <= level < len(self.centers_s), "level", f"must be in 0..{len(self.centers_s) - 1}")
        high = self.centers_s[level] + self.half_widths_s[level]
        low = 0.0 if (self.reset_level and level == 0) else self.centers_s[level] - self.half_widths_s[level]
        return low, high

    def separable(self) -> bool:
        """True when no two bins overlap."""
        edges = [self.bin(level) for level in range(len(self.centers_s))]
        return all(a[1] < b[0] for a, b in itertools.pairwise(edges))


def place_levels(
    count: int,
    g_low_s: float,
    g_high_s: float,
    placement: str = "linear",
    fill: float = 0.5,
    reset_conductance_s: float | None = None,
    spread_slope: float = MILO_SPREAD_SLOPE,
    spread_intercept_s: float = MILO_SPREAD_INTERCEPT_S,
) -> LevelPlan:
    """Bins for ``count`` levels from g_low_s to g_high_s; a bin takes ``fill`` of its spacing."""
    require_count("count", count, minimum=2)
    require_positive("g_low_s", g_low_s)
    require(g_high_s > g_low_s, "g_high_s", "must be above g_low_s")
    require(0 < fill < 1, "fill", "must lie in (0, 1): bins may not touch")
    require(placement in PLACEMENTS, "placement", f"must be one of {', '.join(PLACEMENTS)}")
    programmed = count - 1 if placement == "reset-level0" else count
    if placement == "variable-width":
        centers = _even_in_control(programmed, g_low_s, g_high_s, spread_slope, spread_intercept_s)
    else:
        centers = np.linspace(g_low_s, g_high_s, programmed)
    gaps = np.diff(centers)
    neighbour = (
        np.minimum(np.append(gaps, np.inf), np.insert(gaps, 0, np.inf))
        if len(gaps)
        else np.array([g_high_s - g_low_s])
    )
    half_widths = fill * neighbour / 2
    if placement != "reset-level0":
        return LevelPlan(tuple(map(float, centers)), tuple(map(float, half_widths)))
    require(
        reset_conductance_s is not None and 0 < reset_conductance_s < g_low_s - half_widths[0],
        "reset_conductance_s",
        "must be given, below the first programmed bin",
    )
    reset_half = (g_low_s - half_widths[0] - reset_conductance_s) * fill
    return LevelPlan(
        (float(reset_conductance_s), *map(float, centers)),
        (float(reset_half), *map(float, half_widths)),
        reset_level=True,
    )


def _even_in_control(
    count: int, g_low_s: float, g_high_s: float, slope: float, intercept_s: float
) -> np.ndarray:
    """Centres evenly spaced in u(G) = integral dG / (slope G + intercept)."""
    sigma_low, sigma_high = slope * g_low_s + intercept_s, slope * g_high_s + intercept_s
    require(sigma_low > 0 and sigma_high > 0, "spread_intercept_s", "the spread a G + b must stay positive")
    if slope == 0:
        return np.linspace(g_low_s, g_high_s, count)
    u = np.linspace(math.log(sigma_low) / slope, math.log(sigma_high) / slope, count)
    return (np.exp(slope * u) - intercept_s) / slope


@dataclass(frozen=True)
class MultilevelSettings:
    """Pulses and budget of program-and-verify; ``method`` is "compliance" (1T1R) or "tuning" (passive)."""

    method: str = "compliance"
    set_v: float = 1.5
    set_width_s: float = 1e-6
    reset_v: float = -1.6
    reset_width_s: float = 1e-6
    compliance_start_a: float = 10e-6
    compliance_step_a: float = 2e-6
    compliance_max_a: float = 200e-6
    max_iterations: int = 500
    read_voltage_v: float = 0.2
    successive_reads: int = 3

    def __post_init__(self) -> None:
        require(self.method in METHODS, "method", f"must be one of {', '.join(METHODS)}")
        require(self.set_v > 0, "set_v", "must be > 0 (SET polarity)")
        require(self.reset_v < 0, "reset_v", "must be < 0 (RESET polarity)")
        for name in ("set_width_s", "reset_width_s", "compliance_start_a", "compliance_step_a"):
            require_positive(name, getattr(self, name))
        require(
            self.compliance_max_a >= self.compliance_start_a,
            "compliance_max_a",
            "must be >= compliance_start_a",
        )
        require_count("max_iterations", self.max_iterations)
        require_count("successive_reads", self.successive_reads)


def program_level(
    bench: Bench,
    device: DeviceAddress,
    level: int,
    plan: LevelPlan,
    settings: MultilevelSettings,
    tuning: AlibartSettings | None = None,
) -> Iterator[Record]:
    """Program one device into ``level``'s bin; yield every pulse and read, then a "level" Result."""
    low, high = plan.bin(level)
    bench.select(device.row, device.col, device.array)
    energy = [0.0]
    iterations = 0

    def pulse(
        amplitude_v: float, width_s: float, kind: PulseKind, compliance_a: float | None = None
    ) -> Pulse:
        result = bench.pulse(amplitude_v, width_s, compliance_a)
        energy[0] += abs(amplitude_v * result.current_a) * width_s
        return Pulse.of(result, kind)

    def read() -> Read:
        return Read.of(bench.read(settings.read_voltage_v))

    if plan.reset_level and level == 0:
        reading = read()
        yield reading
        while reading.conductance_s > high and iterations < settings.max_iterations:
            yield pulse(settings.reset_v, settings.reset_width_s, PulseKind.RESET)
            iterations += 1
            reading = read()
            yield reading
        achieved = reading.conductance_s
    elif settings.method == "compliance":
        yield pulse(settings.reset_v, settings.reset_width_s, PulseKind.RESET)
        compliance_a = settings.compliance_start_a
        achieved = math.nan
        while iterations < settings.max_iterations:
            yield pulse(settings.set_v, settings.set_width_s, PulseKind.SET, compliance_a)
            iterations += 1
            reading = read()
            yield reading
            achieved = reading.conductance_s
            if low <= achieved <= high:
                break
            if achieved < low:
                compliance_a = min(compliance_a + settings.compliance_step_a, settings.compliance_max_a)
            else:
                yield pulse(settings.reset_v, settings.reset_width_s, PulseKind.RESET)
                compliance_a = max(settings.compliance_start_a, compliance_a - settings.compliance_step_a)
    else:
        center = plan.centers_s[level]
        band = replace(
            tuning or AlibartSettings(),
            tolerance_s=min(center - low, high - center),
            successive_reads=settings.successive_reads,
            read_voltage_v=settings.read_voltage_v,
            max_pulses=settings.max_iterations,
        )
        achieved = math.nan
        for record in tune_device(bench, device, center, band):
            if isinstance(record, Pulse):
                energy[0] += abs(record.amplitude_v * record.current_a) * record.width_s
                iterations += 1
            if isinstance(record, Result):
                achieved = record.values["achieved_s"]
                continue
            yield record
    yield Result(
        device,
        "level",
        {
            "level": level,
            "target_s": plan.centers_s[level],
            "low_s": low,
            "high_s": high,
            "achieved_s": achieved,
            "iterations": iterations,
            "energy_j": energy[0],
            "success": low <= achieved <= high,
            "method": settings.method,
        },
    )


def program_levels(
    bench: Bench,
    levels: Mapping[DeviceAddress, int],
    plan: LevelPlan,
    settings: MultilevelSettings,
    done: Collection[DeviceAddress] = frozenset(),
    seed: int | None = None,
    tuning: AlibartSettings | None = None,
) -> Iterator[Record]:
    """A multilevel run: every device of ``levels`` programmed into its level's bin."""
    for device, level in levels.items():
        require(
            0 <= level < len(plan.centers_s),
            f"levels[{device.array}:{device.row}:{device.col}]",
            "no such level",
        )
    parameters = {
        "plan": asdict(plan),
        "settings": asdict(settings),
        "levels": {f"{d.array}:{d.row}:{d.col}": level for d, level in levels.items()},
    }
    return device_run(
        "multilevel",
        parameters,
        list(levels),
        lambda device: program_level(bench, device, levels[device], plan, settings, tuning),
        done,
        seed,
    )
