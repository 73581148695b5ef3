"""Fit a preset's step model to measured pulse responses: estimates, bootstrap, held-out check, flags.

Devices are split once (seeded) into a fitting set and a held-out set. The step model is fitted on the
fitting set (`labrram.analysis.step_fit`); its uncertainty is the spread of the same fit over devices
resampled with replacement (bootstrap); its check is the seeded simulator itself, built from the preset
with the fitted overrides, pulsing simulated devices from the held-out pulses' own starting conductances
with the same pulses and reading them with the preset's read noise, compared bin by bin with what the
held-out devices did (two-sample Kolmogorov-Smirnov). The result is written as TOML overrides with their
provenance (preset, source, runs, a hash of the data), which a bench file takes as ``[sample] fitted``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from scipy import stats

from labrram.analysis.responses import PulseResponses
from labrram.analysis.step_fit import StepFit, Window, fit_steps
from labrram.errors import AnalysisError, ConfigError
from labrram.physics import ArrayKind, CrossbarArray, DeviceParameters
from labrram.physics.presets import ChipPreset

KINDS = ("SET", "RESET")
READ_VOLTAGE_V = 0.2
MIN_KS_COUNT = 20
NULL_REPLAYS = 49  # simulations of the held-out devices that calibrate the KS statistic
KS_ALPHA = 0.02  # flagged at p <= 1/50: D above every one of the 49 null replays


@dataclass(frozen=True)
class PresetFit:
    """What `labrram fit` found: overrides with bootstrap uncertainties, the held-out check, flags."""

    preset: str
    source: str
    runs: tuple[int, ...]
    data_sha256: str
    devices: int
    held_out_devices: int
    seed: int
    window_s: tuple[float, float]
    overrides: dict[str, float]
    uncertainty: dict[str, tuple[float, float, float]]  # name -> (robust sd, 2.5%, 97.5%) over resamples
    fits: dict[str, StepFit]
    check: HeldOutCheck | None
    flags: list[str] = field(default_factory=list)

    def to_toml(self) -> str:
        """The overrides as a bench file's ``[sample]`` part, with provenance and the checks as tables."""
        lines = [
            f"# labrram fit: preset {self.preset} fitted to {self.source}",
            f"# {datetime.now(UTC).isoformat(timespec='seconds')}",
            "[fit]",
            f"preset = {_quoted(self.preset)}",
            f"source = {_quoted(self.source)}",
            f"runs = [{', '.join(str(r) for r in self.runs)}]",
            f"data_sha256 = {_quoted(self.data_sha256)}",
            f"devices = {self.devices}",
            f"held_out_devices = {self.held_out_devices}",
            f"seed = {self.seed}",
            f"flags = [{', '.join(_quoted(flag) for flag in self.flags)}]",
            "",
            "[sample]",
            f"preset = {_quoted(self.preset)}",
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
            lines += [
                "",
                "[check]",
                f"held_out_mean_ks = {_value(self.check.mean_ks)}",
                f"held_out_null_mean_ks = {_value(self.check.null_mean_ks)}",
                f"held_out_p_value = {_value(self.check.p_value)}",
            ]
        for check in self.check.bins if self.check is not None else ():
            lines += ["", "[[check.held_out]]"]
            lines += [f"{key} = {_value(value)}" for key, value in check.items()]
        for fit in self.fits.values():
            for row in fit.bins:
                lines += ["", "[[check.mean_step]]", f"kind = {_quoted(fit.kind)}"]
                lines += [f"{key} = {_value(value)}" for key, value in row.items()]
            for row in fit.memory:
                lines += ["", "[[check.after_reversal]]", f"kind = {_quoted(fit.kind)}"]
                lines += [f"{key} = {_value(value)}" for key, value in row.items()]
        return "\n".join(lines) + "\n"


def fit_preset(
    responses: PulseResponses,
    preset: ChipPreset,
    source: str,
    window_s: tuple[float, float] | str | None = None,
    bootstrap: int = 100,
    held_out: float = 0.2,
    seed: int = 0,
    bins: int = 10,
    replay: bool = True,
) -> PresetFit:
    """Fit ``preset``'s step model to ``responses`` (both polarities where present) in ``window_s``
    (LOW, HIGH in S; None: the preset's; "data": from the data). ``replay``: check by
    replaying each held-out device's pulse sequence (pulse records); otherwise by one pulse per step
    from its own conductance (tables of steps by conductance, which hold no sequence)."""
    if not 0 <= held_out < 1:
        raise AnalysisError(f"held-out share must lie in [0, 1), got {held_out}")
    kinds = [k for k in KINDS if (np.asarray(responses.kind) == k).any()]
    if not kinds:
        raise AnalysisError("no SET or RESET pulse with a read on both sides: nothing to fit")
    window_s = _window(responses, preset, window_s)
    windows = {
        kind: Window(*window_s, getattr(preset.parameters, f"{kind.lower()}_step_ratio")) for kind in kinds
    }
    laws = {kind: _kept_drive_law(preset.parameters, kind) for kind in kinds}
    rng = np.random.default_rng(seed)
    devices = np.unique(responses.device_id)
    held = rng.permutation(devices)[: round(held_out * devices.size)] if devices.size >= 5 else devices[:0]
    is_held = np.isin(responses.device_id, held)
    fitting = responses.where(~is_held)

    fits = {kind: fit_steps(fitting, kind, windows[kind], laws[kind], bins) for kind in kinds}
    overrides = _combined(fits, window_s)
    uncertainty = _bootstrap(fitting, windows, laws, bins, bootstrap, rng)
    try:
        parameters = preset.parameters.with_overrides(overrides)
    except ConfigError as error:
        raise AnalysisError(
            f"the fitted {error.key} is not a valid device parameter: {error.problem}"
        ) from None
    # Measured pulse responses come from formed devices: the check's simulated devices start formed.
    formed = dataclasses.replace(parameters, virgin_fraction=0.0)
    check = (
        held_out_checks(responses.where(is_held), formed, windows, bins, seed, replay) if held.size else None
    )
    flags = [flag for fit in fits.values() for flag in fit.flags]
    if check is not None and check.p_value <= KS_ALPHA:
        flags.append(
            f"held-out devices differ from the simulator more than it differs from itself (mean KS D "
            f"{check.mean_ks:.3f} against {check.null_mean_ks:.3f}, p = {check.p_value:.2f})"
        )
    if check is not None and check.failing:
        flags.append(
            f"{len(check.failing)} of {len(check.bins)} held-out bins differ from the simulator more than it "
            f"differs from itself (p <= {KS_ALPHA}): "
            + ", ".join(
                f"{c['kind']} {c['progress_low']:.1f}-{c['progress_high']:.1f}" for c in check.failing[:8]
            )
        )
    return PresetFit(
        preset=preset.pinned_name,
        source=source,
        runs=tuple(sorted({int(r) for r in responses.run_id})),
        data_sha256=data_hash(responses),
        devices=int(devices.size),
        held_out_devices=int(held.size),
        seed=seed,
        window_s=window_s,
        overrides=overrides,
        uncertainty=uncertainty,
        fits=fits,
        check=check,
        flags=flags,
    )


def data_hash(responses: PulseResponses) -> str:
    """SHA-256 of the pulse responses a fit rests on (same data, same hash, in any process)."""
    digest = hashlib.sha256()
    for name in ("g_before_s", "delta_s", "amplitude_v", "width_s", "device_id", "since_reversal"):
        digest.update(np.ascontiguousarray(getattr(responses, name), dtype=float).tobytes())
    digest.update(np.asarray(np.asarray(responses.kind) == "SET").tobytes())
    return digest.hexdigest()


def _kept_drive_law(parameters: DeviceParameters, kind: str) -> tuple[float, float]:
    """The preset's (threshold_v, slope_v) of one polarity: kept where the data cannot pin them."""
    prefix = kind.lower()
    return getattr(parameters, f"{prefix}_threshold_v"), getattr(parameters, f"{prefix}_slope_v")


def _window(
    responses: PulseResponses, preset: ChipPreset, window_s: tuple[float, float] | str | None
) -> tuple[float, float]:
    """The window given; the preset's (None); or, for "data", the 1st to 99th percentile of the
    conductances the devices were read at, before and after each pulse (pulse trains that never reach
    the window's edges make that one too narrow)."""
    if window_s is None:
        window_s = (preset.parameters.g_min_s, preset.parameters.g_max_s)
    elif window_s == "data":
        read = np.concatenate([responses.g_before_s, responses.g_before_s + responses.delta_s])
        low, high = np.percentile(read, [1.0, 99.0])
        window_s = (float(low), float(high))
    if not 0 <= window_s[0] < window_s[1]:
        raise AnalysisError(f"the window must be 0 <= low < high, got {window_s}")
    return window_s


def _combined(fits: dict[str, StepFit], window_s: tuple[float, float]) -> dict[str, float]:
    """Both polarities' overrides; the window; polarity memory averaged where both show it."""
    overrides: dict[str, float] = {"g_min_s": window_s[0], "g_max_s": window_s[1]}
    memory: list[tuple[float, float]] = []
    for fit in fits.values():
        own = dict(fit.overrides)
        if "polarity_memory_depth" in own:
            memory.append((own.pop("polarity_memory_depth"), own.pop("polarity_memory_pulses")))
        overrides.update(own)
    if memory:
        overrides["polarity_memory_depth"] = float(np.mean([m[0] for m in memory]))
        overrides["polarity_memory_pulses"] = float(np.mean([m[1] for m in memory]))
    return overrides


def _bootstrap(
    responses: PulseResponses,
    windows: dict[str, Window],
    laws: dict[str, tuple[float, float]],
    bins: int,
    rounds: int,
    rng: np.random.Generator,
) -> dict[str, tuple[float, float, float]]:
    """sd and 95% interval of every override over ``rounds`` fits to devices resampled with replacement."""
    devices = np.unique(responses.device_id)
    if rounds < 2 or devices.size < 3:
        return {}
    order = np.argsort(responses.device_id, kind="stable")
    starts = np.searchsorted(responses.device_id[order], devices)
    ends = np.append(starts[1:], order.size)
    samples: dict[str, list[float]] = {}
    for _ in range(rounds):
        chosen = rng.integers(0, devices.size, devices.size)
        rows = np.concatenate([order[starts[c] : ends[c]] for c in chosen])
        # Resampled devices keep apart: a device drawn twice counts as two devices.
        copy = np.repeat(np.arange(devices.size), ends[chosen] - starts[chosen])
        resampled = dataclasses.replace(responses.where(rows), device_id=copy)
        try:
            fits = {kind: fit_steps(resampled, kind, w, laws[kind], bins) for kind, w in windows.items()}
        except AnalysisError:
            continue
        window = next(iter(windows.values()))
        for name, value in _combined(fits, (window.g_min_s, window.g_max_s)).items():
            if name not in ("g_min_s", "g_max_s"):  # the window is given, not resampled
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
class HeldOutCheck:
    """Held-out steps against the simulator's: per bin, and over all bins (the mean of the bins' D)."""

    bins: list[dict[str, float | str]]
    mean_ks: float
    null_mean_ks: float  # the median over the null replays
    p_value: float

    @property
    def failing(self) -> list[dict[str, float | str]]:
        return [check for check in self.bins if check["p_value"] <= KS_ALPHA]


def held_out_checks(
    held: PulseResponses,
    parameters: DeviceParameters,
    windows: dict[str, Window],
    bins: int,
    seed: int,
    replay: bool,
) -> HeldOutCheck:
    """Per kind, condition and progress bin: held-out steps against the simulator's (KS statistic D).

    Steps of one device are not independent (each device has its own rate), so the textbook KS p-value
    would flag a correct model. D is instead ranked among the D of NULL_REPLAYS further simulations of
    the same held-out devices against the first: how often the simulator differs that much from itself.
    The mean D over all bins, ranked the same way, is the check with the most power.
    """
    rng = np.random.default_rng(seed + 1)
    simulate = _replay if replay else _fresh
    model = simulate(parameters, held, rng)
    nulls = [simulate(parameters, held, rng) for _ in range(NULL_REPLAYS)]
    checks: list[dict[str, float | str]] = []
    null_by_bin: list[list[float]] = []
    for kind, window in windows.items():
        for amplitude_v, width_s, _ in held.conditions(kind):
            rows = held.condition_mask(kind, amplitude_v, width_s)
            measured_bin = _bin(window.progress(held.g_before_s, kind), bins)
            for b in range(bins):
                measured = held.delta_s[rows & (measured_bin == b)]
                simulated = _in_bin(model, rows, window, kind, bins, b)
                if measured.size < MIN_KS_COUNT or simulated.size < MIN_KS_COUNT:
                    continue
                statistic = stats.ks_2samp(measured, simulated).statistic
                null = [
                    stats.ks_2samp(_in_bin(other, rows, window, kind, bins, b), simulated).statistic
                    if _in_bin(other, rows, window, kind, bins, b).size
                    else 1.0
                    for other in nulls
                ]
                null_by_bin.append(null)
                checks.append(
                    {
                        "kind": kind,
                        "amplitude_v": amplitude_v,
                        "width_s": width_s,
                        "progress_low": b / bins,
                        "progress_high": (b + 1) / bins,
                        "measured_count": int(measured.size),
                        "simulated_count": int(simulated.size),
                        "measured_mean_s": float(measured.mean()),
                        "simulated_mean_s": float(simulated.mean()),
                        "measured_sd_s": float(measured.std(ddof=1)),
                        "simulated_sd_s": float(simulated.std(ddof=1)),
                        "ks_statistic": float(statistic),
                        "null_ks_median": float(np.median(null)),
                        "p_value": _rank_p(statistic, null),
                    }
                )
    if not checks:
        return HeldOutCheck([], math.nan, math.nan, math.nan)
    mean_ks = float(np.mean([check["ks_statistic"] for check in checks]))
    null_means = np.mean(null_by_bin, axis=0)
    return HeldOutCheck(checks, mean_ks, float(np.median(null_means)), _rank_p(mean_ks, null_means))


def _rank_p(statistic: float, null: list[float] | np.ndarray) -> float:
    """Share of null statistics at least as large, counting the observed one among them."""
    return float((1 + np.sum(np.asarray(null) >= statistic)) / (1 + len(null)))


def _in_bin(
    simulated: tuple[np.ndarray, np.ndarray], rows: np.ndarray, window: Window, kind: str, bins: int, b: int
) -> np.ndarray:
    """Simulated steps of the chosen rows whose simulated starting conductance lies in progress bin b."""
    before, delta = simulated
    return delta[rows & (_bin(window.progress(before, kind), bins) == b)]


def _replay(
    parameters: DeviceParameters, held: PulseResponses, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Each held-out device's pulses, in order, on a simulated device started at its first conductance:
    the simulated conductance before each pulse and its read step (same selection by the window as the
    measured devices went through)."""
    group = np.unique(np.column_stack([held.run_id, held.device_id]), axis=0, return_inverse=True)[1].ravel()
    order = np.argsort(group, kind="stable")
    counts = np.bincount(group)
    place = np.empty(group.size, dtype=np.int64)
    place[order] = np.arange(group.size) - np.repeat(np.cumsum(counts) - counts, counts)
    starts = np.empty(counts.size)
    starts[group[place == 0]] = held.g_before_s[place == 0]
    array = CrossbarArray(parameters, 1, counts.size, ArrayKind.ONE_T_ONE_R, rng)
    array.set_conductance_s(starts.reshape(1, -1))
    before, delta = np.empty(group.size), np.empty(group.size)
    for k in range(int(counts.max())):
        rows = np.flatnonzero(place == k)
        devices = group[rows]
        read = array.measure_cell_currents(devices, READ_VOLTAGE_V) / READ_VOLTAGE_V
        for width_s in np.unique(held.width_s[rows]):
            same = held.width_s[rows] == width_s
            array.apply_voltage(devices[same], held.amplitude_v[rows][same], float(width_s))
        before[rows] = read
        delta[rows] = array.measure_cell_currents(devices, READ_VOLTAGE_V) / READ_VOLTAGE_V - read
    return before, delta


def _fresh(
    parameters: DeviceParameters, held: PulseResponses, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Each held-out pulse on a fresh simulated device started at the pulse's own conductance (for data
    without pulse sequences: tables of steps by conductance)."""
    array = CrossbarArray(parameters, 1, len(held), ArrayKind.ONE_T_ONE_R, rng)
    array.set_conductance_s(held.g_before_s.reshape(1, -1))
    every = slice(None)
    before = array.measure_cell_currents(every, READ_VOLTAGE_V) / READ_VOLTAGE_V
    for width_s in np.unique(held.width_s):
        rows = np.flatnonzero(held.width_s == width_s)
        array.apply_voltage(rows, held.amplitude_v[rows], float(width_s))
    return before, array.measure_cell_currents(every, READ_VOLTAGE_V) / READ_VOLTAGE_V - before


def _bin(progress: np.ndarray, bins: int) -> np.ndarray:
    return np.minimum((progress * bins).astype(np.int64), bins - 1)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _value(value: object) -> str:
    """A TOML value: strings quoted, integers as such, other numbers as floats ("nan" where not finite)."""
    if isinstance(value, str):
        return _quoted(value)
    if isinstance(value, int | np.integer):
        return str(int(value))
    number = float(value)
    return repr(number) if math.isfinite(number) else '"nan"'
