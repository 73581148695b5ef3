"""Fit a preset's relaxation model to retention reads: level dependence, drift, t0 and tails.

The simulator walks each programmed device's conductance in tau = ln(1 + age / t0): over tau the change
has mean s(x) (drift + tilt (x - 1/3)) tau and variance s(x)^2 spread^2 tau, with x the level's place in
the window and s(x) = (1 - flatness) (27/4) x (1 - x)^2 + flatness (labrram.physics.retention). So, per
level of programmed conductance and time point:

- t0: the variance grows linearly in tau only for the right t0 (searched on a grid; the read noise of the
  two reads, taken from the preset, is subtracted first);
- spread and flatness: the square root of each level's variance slope is spread s(x), linear in the
  peaked shape with non-negative coefficients (least squares);
- drift and tilt: each level's mean slope over s(x) is linear in x;
- tails: the tail weight ((q99 - q1) / (q75 - q25)) of the standardized changes at each time is matched
  by simulating the same walk, read at the same times, with Student-t increments of each candidate
  number of degrees of freedom (the sum of many steps is less heavy-tailed than one step, so no closed
  form serves).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from labrram.analysis.fit_report import (
    READ_VOLTAGE_V,
    FitReport,
    HeldOutCheck,
    array_digest,
    bootstrap,
    calibrated_check,
    fitted_parameters,
    held_out_devices,
    simulated_reads_s,
)
from labrram.errors import AnalysisError
from labrram.physics import ArrayKind, CrossbarArray, DeviceParameters
from labrram.physics.presets import ChipPreset
from labrram.physics.retention import (
    DEFAULT_PEAK,
    DEFAULT_SHARPNESS,
    MAX_LOG_TIME_STEP,
    state_shape,
    window_position,
)

T0_GRID_S = np.logspace(-6, 1, 57)
TAIL_DOF = (2.2, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 8.0, 12.0, 20.0, 0.0)  # 0: normal increments
TAIL_REPLICATES = 4
MIN_GROUP = 10
MIN_TAIL = 100  # changes at a time point below which its tails are not compared


@dataclass(frozen=True)
class RetentionReads:
    """Later reads of each device against its first: device code, level, time since the first, change."""

    device: np.ndarray
    g0_s: np.ndarray
    time_s: np.ndarray
    change_s: np.ndarray
    times_s: np.ndarray  # the time points (0.1-decade groups), ascending
    time_index: np.ndarray  # each read's time point

    @classmethod
    def from_reads(
        cls, device: np.ndarray, elapsed_s: np.ndarray, conductance_s: np.ndarray
    ) -> RetentionReads:
        keys, code = np.unique(np.asarray(device), return_inverse=True)
        elapsed, conductance = np.asarray(elapsed_s, dtype=float), np.asarray(conductance_s, dtype=float)
        order = np.lexsort((elapsed, code))
        first = order[np.concatenate([[True], np.diff(code[order]) != 0])]
        g0, t0 = np.empty(keys.size), np.empty(keys.size)
        g0[code[first]], t0[code[first]] = conductance[first], elapsed[first]
        later = np.ones(code.size, dtype=bool)
        later[first] = False
        time_s = elapsed[later] - t0[code[later]]
        keep = time_s > 0
        if not keep.any():
            raise AnalysisError("no retention read after a device's first one: nothing to fit")
        time_s = time_s[keep]
        decade = np.round(np.log10(time_s), 1)
        points, index = np.unique(decade, return_inverse=True)
        return cls(
            code[later][keep],
            g0[code[later]][keep],
            time_s,
            conductance[later][keep] - g0[code[later]][keep],
            10.0**points,
            index,
        )

    def take(self, rows: np.ndarray, device: np.ndarray | None = None) -> RetentionReads:
        """The given rows (a boolean mask or indices, repeats allowed), optionally renumbering devices."""
        return RetentionReads(
            self.device[rows] if device is None else device,
            self.g0_s[rows],
            self.time_s[rows],
            self.change_s[rows],
            self.times_s,
            self.time_index[rows],
        )


def fit_relaxation_model(
    reads: RetentionReads,
    preset: ChipPreset,
    source: str,
    runs: tuple[int, ...] = (),
    window_s: tuple[float, float] | None = None,
    levels: int = 8,
    rounds: int = 100,
    held_out: float = 0.2,
    seed: int = 0,
) -> FitReport:
    """Fit the relaxation parameters of ``preset`` to retention reads taken at its reference temperature."""
    window = window_s or (preset.parameters.g_min_s, preset.parameters.g_max_s)
    x = window_position(reads.g0_s, window[0], window[1] - window[0])
    level = _level(x, levels)
    rng = np.random.default_rng(seed)
    held = held_out_devices(reads.device, held_out, rng)
    is_held = np.isin(reads.device, held)
    noise_var = _read_noise_variance(preset.parameters, reads.g0_s)

    fitting = np.flatnonzero(~is_held)

    def fit(rows: np.ndarray, device: np.ndarray | None = None) -> tuple[dict[str, float], list[str]]:
        return _estimate(reads.take(rows, device), x[rows], levels, noise_var[rows], rng)

    overrides, flags = fit(fitting)
    uncertainty = bootstrap(
        reads.device[fitting], lambda rows, device: fit(fitting[rows], device)[0], rounds, rng
    )
    parameters = fitted_parameters(preset, overrides)
    check = _held_out_check(reads.take(is_held), level[is_held], parameters, seed) if held.size else None
    if check is not None:
        flags += check.flags(lambda g: f"level {g['level']} at {g['time_s']:.3g} s")
    return FitReport(
        part="relaxation",
        preset=preset.pinned_name,
        source=source,
        runs=runs,
        data_sha256=_data_hash(reads),
        devices=int(np.unique(reads.device).size),
        held_out_devices=int(held.size),
        seed=seed,
        overrides=overrides,
        uncertainty=uncertainty,
        check=check,
        tables={"spread": _table(reads, level, levels, window, noise_var, preset.parameters, parameters)},
        flags=flags,
    )


def _level(x: np.ndarray, levels: int) -> np.ndarray:
    """The level bin of each window position."""
    return np.minimum((x * levels).astype(np.int64), levels - 1)


def _read_noise_variance(parameters: DeviceParameters, g_s: np.ndarray) -> np.ndarray:
    """Variance of the difference of two reads (S^2), from the preset's read noise."""
    floor_s = parameters.read_noise_floor_a / READ_VOLTAGE_V
    return 2.0 * ((parameters.read_noise_rel * g_s) ** 2 + floor_s**2)


def _groups(reads: RetentionReads, level: np.ndarray, levels: int) -> dict[str, np.ndarray]:
    """Count, mean change, variance, mean time per (level, time point) group, and its codes."""
    points = reads.times_s.size
    group = level * points + reads.time_index
    size = levels * points
    count = np.bincount(group, minlength=size).astype(float)
    safe = np.maximum(count, 1)
    mean = np.bincount(group, weights=reads.change_s, minlength=size) / safe
    square = np.bincount(group, weights=reads.change_s**2, minlength=size) / safe
    variance = (square - mean**2) * count / np.maximum(count - 1, 1)
    mean_time = np.bincount(group, weights=reads.time_s, minlength=size) / safe
    return {"group": group, "count": count, "mean": mean, "variance": variance, "time": mean_time}


def _estimate(
    reads: RetentionReads,
    x: np.ndarray,
    levels: int,
    noise_var: np.ndarray,
    rng: np.random.Generator,
) -> tuple[dict[str, float], list[str]]:
    """t0, spread, flatness, drift, tilt and tail dof from one set of reads (``x``: each read's device's
    place in the window)."""
    flags: list[str] = []
    level = _level(x, levels)
    g = _groups(reads, level, levels)
    noise = np.bincount(g["group"], weights=noise_var, minlength=g["count"].size) / np.maximum(g["count"], 1)
    usable = g["count"] >= MIN_GROUP
    if usable.sum() < 3:
        raise AnalysisError(f"fewer than 3 (level, time) groups with {MIN_GROUP} or more devices")
    variance = np.maximum(g["variance"] - noise, 0.0)
    below = int(np.sum(usable & (g["variance"] < noise)))
    if below:
        flags.append(
            f"in {below} (level, time) groups the preset's read noise alone exceeds the measured change: "
            "fit with this technology's read noise (an override) for the short-time spread to count"
        )
    weight = np.where(usable, g["count"] / np.maximum(g["variance"], 1e-30) ** 2, 0.0)
    level_of = np.arange(g["count"].size) // reads.times_s.size

    def slopes(t0_s: float, values: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float]:
        tau = np.log1p(g["time"] / t0_s)
        numerator = np.bincount(level_of, weights=w * values * tau, minlength=levels)
        denominator = np.bincount(level_of, weights=w * tau * tau, minlength=levels)
        slope = numerator / np.maximum(denominator, 1e-300)
        return slope, float(np.sum(w * (values - slope[level_of] * tau) ** 2))

    errors = [slopes(t0, variance, weight)[1] for t0 in T0_GRID_S]
    best = int(np.argmin(errors))
    t0_s = float(T0_GRID_S[best])
    if best in (0, T0_GRID_S.size - 1):
        flags.append(f"relaxation t0 at the end of the searched range ({t0_s:g} s): the times do not pin it")
    variance_slope, _ = slopes(t0_s, variance, weight)
    mean_weight = np.where(usable, g["count"] / np.maximum(g["variance"], 1e-30), 0.0)
    mean_slope, _ = slopes(t0_s, g["mean"], mean_weight)
    present = np.bincount(level_of, weights=usable, minlength=levels) >= 2
    centre = (np.arange(levels) + 0.5) / levels
    spread, flatness, peak, sharpness = _level_shape(centre[present], variance_slope[present])
    shape = state_shape(centre, flatness, peak, sharpness)
    relative = mean_slope[present] / shape[present]
    drift, tilt = _drift_line(centre[present] - 1.0 / 3.0, relative, shape[present])
    overrides = {
        "relaxation_t0_s": t0_s,
        "relaxation_spread_s": spread,
        "relaxation_level_flatness": flatness,
        "relaxation_level_peak": peak,
        "relaxation_level_sharpness": sharpness,
        "relaxation_drift_s": drift,
        "relaxation_drift_tilt_s": tilt,
    }
    # Each change standardized at its own device's level (a level bin mixes spreads: heavier tails).
    tau = np.log1p(reads.time_s / t0_s)
    own = state_shape(x, flatness, peak, sharpness)
    variance_of = (spread * own) ** 2 * tau + noise_var
    standardized = (reads.change_s - own * (drift + tilt * (x - 1 / 3)) * tau) / np.sqrt(variance_of)
    noise_share = noise_var / variance_of
    overrides["relaxation_tail_dof"] = _tail_dof(reads, standardized, noise_share, t0_s, rng, flags)
    return overrides, flags


def _level_shape(x: np.ndarray, variance_slope: np.ndarray) -> tuple[float, float, float, float]:
    """spread, flatness, peak and sharpness whose spread s(x) best matches each level's sqrt(variance
    slope) (least squares; the peaked form x^a (1 - x)^b needs four levels, else the default's is kept)."""
    target = np.sqrt(np.maximum(variance_slope, 0.0))
    if not np.any(target > 0):
        raise AnalysisError("no level shows a spread growing with log-time")
    if x.size < 4:
        coefficients, _ = optimize.nnls(np.column_stack([state_shape(x), np.ones(x.size)]), target)
        spread = float(coefficients.sum())
        return spread, float(coefficients[1] / spread), DEFAULT_PEAK, DEFAULT_SHARPNESS

    scale = float(target.max())  # fitted in units of the widest level's spread: the solver sees O(1)

    def residual(params: np.ndarray) -> np.ndarray:
        spread, flatness, peak, sharpness = params
        return spread * state_shape(x, flatness, peak, sharpness) - target / scale

    start = [1.0, 0.1, 0.3, DEFAULT_SHARPNESS]
    result = optimize.least_squares(
        residual, start, bounds=([0.0, 0.0, 0.02, 0.3], [np.inf, 1.0, 0.98, 30.0])
    )
    spread, flatness, peak, sharpness = (float(v) for v in result.x)
    return spread * scale, flatness, peak, sharpness


def _drift_line(offset: np.ndarray, relative: np.ndarray, shape: np.ndarray) -> tuple[float, float]:
    """drift + tilt offset through each level's mean slope over its shape, weighted by the shape."""
    if offset.size < 2:
        return float(relative.mean()) if relative.size else 0.0, 0.0
    tilt, drift = np.polyfit(offset, relative, 1, w=shape)
    return float(drift), float(tilt)


def tail_weight(values: np.ndarray) -> float:
    """(q99 - q1) / (q75 - q25): how far the tails reach beyond the body (3.45 for a normal). Robust where
    the kurtosis is not: a few extreme changes dominate the kurtosis of heavy-tailed data."""
    q01, q25, q75, q99 = np.percentile(values, [1.0, 25.0, 75.0, 99.0])
    return float((q99 - q01) / (q75 - q25)) if q75 > q25 else math.nan


def _tail_dof(
    reads: RetentionReads,
    standardized: np.ndarray,
    noise_share: np.ndarray,
    t0_s: float,
    rng: np.random.Generator,
    flags: list[str],
) -> float:
    """The candidate dof whose simulated walk, read at the same times, has the tail weight measured."""
    points = reads.times_s.size
    counts = np.bincount(reads.time_index, minlength=points)
    measured = np.array(
        [
            tail_weight(standardized[reads.time_index == k]) if counts[k] > MIN_TAIL else np.nan
            for k in range(points)
        ]
    )
    share = np.bincount(reads.time_index, weights=noise_share, minlength=points) / np.maximum(counts, 1)
    tau = np.log1p(reads.times_s / t0_s)
    steps = np.diff(np.concatenate([[0.0], tau]))
    losses = []
    for dof in TAIL_DOF:
        simulated = np.mean(
            [_walk_tails(steps, counts, share, dof, rng) for _ in range(TAIL_REPLICATES)], axis=0
        )
        good = np.isfinite(measured) & np.isfinite(simulated)
        losses.append(float(np.sum(np.log(measured[good] / simulated[good]) ** 2)))
    chosen = TAIL_DOF[int(np.argmin(losses))]
    if chosen == TAIL_DOF[0]:
        flags.append(
            f"relaxation tails at the heaviest searched ({chosen:g} dof): the data may be heavier still"
        )
    return float(chosen)


def _walk_tails(
    steps: np.ndarray, counts: np.ndarray, noise_share: np.ndarray, dof: float, rng: np.random.Generator
) -> np.ndarray:
    """Tail weight at each time point of standardized walks as the simulator takes them, read noise added."""
    size = int(counts.max())
    total = np.zeros(size)
    weights = np.full(steps.size, np.nan)
    for k, d_tau in enumerate(steps):
        pieces = max(1, math.ceil(d_tau / MAX_LOG_TIME_STEP))
        for _ in range(pieces):
            if dof:
                increment = rng.standard_t(dof, size) * math.sqrt((dof - 2.0) / dof)
            else:
                increment = rng.standard_normal(size)
            total += math.sqrt(d_tau / pieces) * increment
        if counts[k] > MIN_TAIL:
            walk = total[: counts[k]] / math.sqrt(float(np.sum(steps[: k + 1])))
            noise = rng.standard_normal(walk.size)
            weights[k] = tail_weight(math.sqrt(1 - noise_share[k]) * walk + math.sqrt(noise_share[k]) * noise)
    return weights


def _held_out_check(
    reads: RetentionReads, level: np.ndarray, parameters: DeviceParameters, seed: int
) -> HeldOutCheck | None:
    """Held-out devices' changes against simulated devices programmed to their first conductance and read
    at the same time points, per (level, time point)."""
    devices, code = np.unique(reads.device, return_inverse=True)
    g0 = np.empty(devices.size)
    g0[code] = reads.g0_s
    labels, masks = [], []
    for lvl in np.unique(level):
        for k, time_s in enumerate(reads.times_s):
            labels.append({"level": int(lvl), "time_s": float(time_s)})
            masks.append((level == lvl) & (reads.time_index == k))

    def simulate(rng: np.random.Generator) -> list[np.ndarray]:
        array = CrossbarArray(parameters, 1, devices.size, ArrayKind.ONE_T_ONE_R, rng)
        array.set_conductance_s(g0.reshape(1, -1))
        every = slice(None)
        first = simulated_reads_s(array, every)
        change = np.empty(reads.change_s.size)
        now = 0.0
        for k, time_s in enumerate(reads.times_s):
            array.advance(time_s - now, parameters.reference_temperature_c)
            now = time_s
            read = simulated_reads_s(array, every)
            at = reads.time_index == k
            change[at] = read[code[at]] - first[code[at]]
        return [change[mask] for mask in masks]

    return calibrated_check(
        labels, [reads.change_s[mask] for mask in masks], simulate, np.random.default_rng(seed + 1)
    )


def _table(
    reads: RetentionReads,
    level: np.ndarray,
    levels: int,
    window: tuple[float, float],
    noise_var: np.ndarray,
    preset: DeviceParameters,
    fitted: DeviceParameters,
) -> list[dict[str, float]]:
    """Per (level, time point): measured mean and sd of the change beside the preset's and the fit's."""
    g = _groups(reads, level, levels)
    noise = np.bincount(g["group"], weights=noise_var, minlength=g["count"].size) / np.maximum(g["count"], 1)
    rows = []
    for group in np.flatnonzero(g["count"] >= MIN_GROUP):
        lvl, k = divmod(int(group), reads.times_s.size)
        x = (lvl + 0.5) / levels
        row = {
            "level": lvl,
            "g0_s": window[0] + x * (window[1] - window[0]),
            "time_s": float(reads.times_s[k]),
            "count": int(g["count"][group]),
            "measured_mean_s": float(g["mean"][group]),
            "measured_sd_s": float(math.sqrt(g["variance"][group])),
        }
        for name, p in (("preset", preset), ("fitted", fitted)):
            tau = math.log1p(g["time"][group] / p.relaxation_t0_s)
            shape = float(
                state_shape(
                    np.array(x),
                    p.relaxation_level_flatness,
                    p.relaxation_level_peak,
                    p.relaxation_level_sharpness,
                )
            )
            drift = p.relaxation_drift_s + p.relaxation_drift_tilt_s * (x - 1 / 3)
            row[f"{name}_mean_s"] = shape * drift * tau
            row[f"{name}_sd_s"] = math.sqrt((shape * p.relaxation_spread_s) ** 2 * tau + noise[group])
        rows.append(row)
    return rows


def _data_hash(reads: RetentionReads) -> str:
    columns = (reads.device, reads.g0_s, reads.time_s, reads.change_s)
    return array_digest(*(np.asarray(values, dtype=float) for values in columns))
