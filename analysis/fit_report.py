"""What every `labrram fit` shares: the report and its TOML, the device split, the bootstrap over devices,
and the held-out check calibrated against the simulator itself.

Measurements of one device are not independent (each device has its own constants), so both the
uncertainty and the check work on devices: the bootstrap resamples whole devices, and a held-out
comparison's Kolmogorov-Smirnov statistic D is ranked among the D of further simulations of the same
held-out devices against the first, not read against the textbook distribution that assumes
independent samples and would flag a correct model.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from scipy import stats

from labrram.errors import AnalysisError, ConfigError
from labrram.physics.array import CrossbarArray
from labrram.physics.parameters import DeviceParameters
from labrram.physics.presets import ChipPreset

READ_VOLTAGE_V = 0.2  # the read voltage of the checks' simulated reads (conductances are compared)
NULL_REPLAYS = 49  # simulations of the held-out devices that calibrate the KS statistic
KS_ALPHA = 0.02  # flagged at p <= 1/50: D above every one of the 49 null replays
MIN_KS_COUNT = 20


@dataclass(frozen=True)
class HeldOutCheck:
    """Held-out measurements against the simulator's: per group, and over all groups (their mean D)."""

    groups: list[dict[str, float | str]]
    mean_ks: float
    null_mean_ks: float  # the median over the null replays
    p_value: float

    @property
    def failing(self) -> list[dict[str, float | str]]:
        return [group for group in self.groups if group["p_value"] <= KS_ALPHA]

    def flags(self, name: Callable[[dict[str, float | str]], str]) -> list[str]:
        """What the check says is wrong, naming failing groups with ``name``."""
        flags = []
        if self.p_value <= KS_ALPHA:
            flags.append(
                f"held-out devices differ from the simulator more than it differs from itself (mean KS D "
                f"{self.mean_ks:.3f} against {self.null_mean_ks:.3f}, p = {self.p_value:.2f})"
            )
        if self.failing:
            flags.append(
                f"{len(self.failing)} of {len(self.groups)} held-out groups differ from the simulator more "
                f"than it differs from itself (p <= {KS_ALPHA}): "
                + ", ".join(name(g) for g in self.failing[:8])
            )
        return flags


def calibrated_check(
    labels: list[dict[str, float | str]],
    measured: list[np.ndarray],
    simulate: Callable[[np.random.Generator], list[np.ndarray]],
    rng: np.random.Generator,
) -> HeldOutCheck | None:
    """Compare each measured group with the same group simulated (``simulate`` returns one array per
    group); rank each D, and the mean D, among NULL_REPLAYS simulations against the first."""
    model = simulate(rng)
    nulls = [simulate(rng) for _ in range(NULL_REPLAYS)]
    groups, null_by_group = [], []
    for label, observed, simulated, *others in zip(labels, measured, model, *nulls, strict=True):
        if observed.size < MIN_KS_COUNT or simulated.size < MIN_KS_COUNT:
            continue
        statistic = float(stats.ks_2samp(observed, simulated).statistic)
        null = [float(stats.ks_2samp(other, simulated).statistic) if other.size else 1.0 for other in others]
        null_by_group.append(null)
        groups.append(
            {
                **label,
                "measured_count": int(observed.size),
                "simulated_count": int(simulated.size),
                "measured_mean_s": float(observed.mean()),
                "simulated_mean_s": float(simulated.mean()),
                "measured_sd_s": float(observed.std(ddof=1)),
                "simulated_sd_s": float(simulated.std(ddof=1)),
                "ks_statistic": statistic,
                "null_ks_median": float(np.median(null)),
                "p_value": _rank_p(statistic, null),
            }
        )
    if not groups:
        return None
    mean_ks = float(np.mean([group["ks_statistic"] for group in groups]))
    null_means = np.mean(null_by_group, axis=0)
    return HeldOutCheck(groups, mean_ks, float(np.median(null_means)), _rank_p(mean_ks, null_means))


def _rank_p(statistic: float, null: list[float] | np.ndarray) -> float:
    """Share of null statistics at least as large, counting the observed one among them."""
    return float((1 + np.sum(np.asarray(null) >= statistic)) / (1 + len(null)))


def array_digest(*arrays: np.ndarray) -> str:
    """SHA-256 over the bytes of the arrays in turn: the data a fit rests on (same data, same hash)."""
    digest = hashlib.sha256()
    for values in arrays:
        digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


def simulated_reads_s(
    array: CrossbarArray, index: np.ndarray | slice, integration_s: float | None = None
) -> np.ndarray:
    """Conductances a read of the indexed simulated devices shows, read noise and fluctuations included."""
    return array.measure_cell_currents(index, READ_VOLTAGE_V, integration_s) / READ_VOLTAGE_V


def fitted_parameters(preset: ChipPreset, overrides: dict[str, float]) -> DeviceParameters:
    """What a held-out check simulates: the preset's parameters with the fitted overrides, every device
    formed (measured devices were); AnalysisError where a fitted value is invalid."""
    try:
        return preset.parameters.with_overrides({**overrides, "virgin_fraction": 0.0})
    except ConfigError as error:
        problem = f"the fitted {error.key} is not a valid device parameter: {error.problem}"
        raise AnalysisError(problem) from None


def held_out_devices(device_id: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """A seeded ``share`` of the devices, held out of the fit (none below five devices)."""
    if not 0 <= share < 1:
        raise AnalysisError(f"held-out share must lie in [0, 1), got {share}")
    devices = np.unique(device_id)
    return rng.permutation(devices)[: round(share * devices.size)] if devices.size >= 5 else devices[:0]


def bootstrap(
    device_id: np.ndarray,
    refit: Callable[[np.ndarray, np.ndarray], dict[str, float]],
    rounds: int,
    rng: np.random.Generator,
) -> dict[str, tuple[float, float, float]]:
    """(robust sd, 2.5%, 97.5%) of every fitted value over ``rounds`` refits to devices resampled with
    replacement. ``refit(rows, device_id)`` fits the rows given, a device drawn twice renumbered apart."""
    devices = np.unique(device_id)
    if rounds < 2 or devices.size < 3:
        return {}
    order = np.argsort(device_id, kind="stable")
    starts = np.searchsorted(device_id[order], devices)
    ends = np.append(starts[1:], order.size)
    samples: dict[str, list[float]] = {}
    for _ in range(rounds):
        chosen = rng.integers(0, devices.size, devices.size)
        rows = np.concatenate([order[starts[c] : ends[c]] for c in chosen])
        renumbered = np.repeat(np.arange(devices.size), ends[chosen] - starts[chosen])
        try:
            fitted = refit(rows, renumbered)
        except AnalysisError:
            continue
        for name, value in fitted.items():
            samples.setdefault(name, []).append(value)
    # A robust standard deviation (half the 16-84% range): a few wild resamples do not dominate it.
    return {
        name: (
            float(np.subtract(*np.percentile(v, [84.0, 16.0])) / 2.0),
            float(np.percentile(v, 2.5)),
            float(np.percentile(v, 97.5)),
        )
        for name, v in samples.items()
        if len(v) >= 2
    }


@dataclass(frozen=True)
class FitReport:
    """What `labrram fit` found: overrides with bootstrap intervals, the held-out check, tables, flags."""

    part: str  # what was fitted: "steps" or "relaxation"
    preset: str  # pinned: name@version
    source: str
    runs: tuple[int, ...]
    data_sha256: str
    devices: int
    held_out_devices: int
    seed: int
    overrides: dict[str, float]
    uncertainty: dict[str, tuple[float, float, float]]  # name -> (robust sd, 2.5%, 97.5%) over resamples
    check: HeldOutCheck | None
    tables: dict[str, list[dict[str, float | str]]]  # measured beside the model, by name
    flags: list[str] = field(default_factory=list)

    def to_toml(self) -> str:
        """The overrides as a bench file's ``[sample]`` part, with provenance and the checks as tables."""
        lines = [
            f"# labrram fit ({self.part}): preset {self.preset} fitted to {self.source}",
            f"# {datetime.now(UTC).isoformat(timespec='seconds')}",
            "[fit]",
            f"part = {_value(self.part)}",
            f"preset = {_value(self.preset)}",
            f"source = {_value(self.source)}",
            f"runs = [{', '.join(str(r) for r in self.runs)}]",
            f"data_sha256 = {_value(self.data_sha256)}",
            f"devices = {self.devices}",
            f"held_out_devices = {self.held_out_devices}",
            f"seed = {self.seed}",
            f"flags = [{', '.join(_value(flag) for flag in self.flags)}]",
            "",
            "[sample]",
            f"preset = {_value(self.preset)}",
            "",
            "[sample.overrides]",
        ]
        for name, value in sorted(self.overrides.items()):
            spread = self.uncertainty.get(name)
            note = (
                f"  # bootstrap sd {spread[0]:.3g}, 95% [{spread[1]:.4g}, {spread[2]:.4g}]" if spread else ""
            )
            lines.append(f"{name} = {_value(value)}{note}")
        if self.check is not None:
            lines += ["", "[check]"]
            lines += [
                f"held_out_{key} = {_value(getattr(self.check, key))}"
                for key in ("mean_ks", "null_mean_ks", "p_value")
            ]
        tables = dict(self.tables, held_out=self.check.groups if self.check is not None else [])
        for table, rows in tables.items():
            for row in rows:
                lines += ["", f"[[check.{table}]]"] + [
                    f"{key} = {_value(value)}" for key, value in row.items()
                ]
        return "\n".join(lines) + "\n"

    def summary(self) -> str:
        """The fitted overrides with their bootstrap interval, the held-out check, and the flags."""
        held = f"{self.held_out_devices} held out"
        lines = [f"{self.preset} ({self.part}) fitted to {self.devices} devices ({held}), {self.source}"]
        width = max((len(name) for name in self.overrides), default=0)
        for name, value in sorted(self.overrides.items()):
            spread = self.uncertainty.get(name)
            interval = f"  95% [{spread[1]:.4g}, {spread[2]:.4g}]" if spread else ""
            lines.append(f"  {name:<{width}}  {value:<12.4g}{interval}")
        if self.check is not None:
            passing = len(self.check.groups) - len(self.check.failing)
            lines.append(
                f"held-out check: mean KS D {self.check.mean_ks:.3f} against the simulator's own "
                f"{self.check.null_mean_ks:.3f} (p = {self.check.p_value:.2f}); "
                f"{passing} of {len(self.check.groups)} groups pass"
            )
        lines += [f"flag: {flag}" for flag in self.flags]
        return "\n".join(lines)


def _value(value: object) -> str:
    """A TOML value: strings quoted, integers as such, other numbers as floats ("nan" where not finite)."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, int | np.integer):
        return str(int(value))
    number = float(value)
    return repr(number) if math.isfinite(number) else '"nan"'
