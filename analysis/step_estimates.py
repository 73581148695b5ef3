"""Estimates of the simulator's step model from measured pulse responses (a fixed-effects regression).

The simulated step of a pulse toward its bound is span u^gamma exp(beta x) F m_n (labrram.physics): x is
the progress across the window from the far edge, u = 1 - x (1 - r) the share of the way to the virtual
bound still left, span = window / (1 - r), F = 1 - exp(-D w) the fraction a pulse of width w with drive
D moves (D carries a device's log-normal rate factor and each pulse's log-normal noise of sigma
c2c exp(growth x)), and m_n = 1 - depth exp(-(n - 1) / pulses) the polarity memory of the n-th pulse
after a reversal. Hence

    ln(step) = a_unit + gamma ln u + beta x + ln m_n + noise,

linear in gamma and beta with one intercept per unit, a device at one pulse condition. Fitting it
within units (each unit's mean taken out) removes the selection that biases binned means: the devices
found high in the window are the fast ones. Depth and pulses minimize the same residuals (the linear
part solved for each trial). The residuals' spread per progress bin gives c2c and its growth; the unit
intercepts, per pulse condition, give the drive D (corrected for the log-normal means) and the
device-to-device rate spread; four or more amplitudes at one width may fit
D(V) = rate (exp((V - V_th) / slope) - 1). Steps against the pulse's polarity (read noise, bidirectional
devices) have no logarithm, and steps starting near the window's edge are truncated by each device's
own edge: both are left out, and the share of the first is flagged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from labrram.analysis.responses import PulseResponses
from labrram.errors import AnalysisError

MEMORY_HORIZON = 20  # pulses after a reversal shown one by one in the memory table
MIN_BIN_COUNT = 5
MAX_FRACTION = 0.999  # a device's fraction of the way per pulse is capped here (F = 1: infinite drive)
SMALL_FRACTION = 0.3  # above this mean fraction of the way, the weak-pulse reading of F is poor
AGAINST_SHARE = 0.05  # share of steps against the pulse's polarity above which the fit is flagged
EDGE_MARGIN = 0.15  # pulses starting in this last share of the window toward the bound are left out
MIN_COVERAGE = 0.5  # share of the window the steps must span for the shape to be more than local
MIN_MEMORY_DEPTH = 0.02  # a fitted memory shallower than this is not reported as one
MIN_LAW_AMPLITUDES = 4  # the drive law has three parameters: one more amplitude to judge the fit
MAX_THRESHOLD_SE_V = 0.1
MAX_LOG_SLOPE_SE = 0.3


@dataclass(frozen=True)
class Window:
    """The conductance window (S) and the virtual bound's min/max step ratio r the fit assumes."""

    g_min_s: float
    g_max_s: float
    step_ratio: float

    @property
    def width_s(self) -> float:
        return self.g_max_s - self.g_min_s

    @property
    def span_s(self) -> float:
        """From the far edge to the virtual bound."""
        return self.width_s / (1.0 - self.step_ratio)

    def progress(self, g_s: np.ndarray, kind: str) -> np.ndarray:
        """Progress across the window from the far edge, 0-1: up for SET, down for RESET."""
        x = np.clip((np.asarray(g_s) - self.g_min_s) / self.width_s, 0.0, 1.0)
        return x if kind == "SET" else 1.0 - x


@dataclass(frozen=True)
class StepFit:
    """One polarity's fitted step model; ``overrides`` are the DeviceParameters fields it determines."""

    kind: str
    overrides: dict[str, float]
    drive_per_s: dict[tuple[float, float], float]  # (amplitude_v, width_s) -> mean drive D
    bins: list[dict[str, float]]  # per condition and progress bin: measured and model mean step, sigma
    memory: list[dict[str, float]]  # per pulse after a reversal: measured and fitted step factor
    shape_rms_error: float  # count-weighted RMS relative error of the binned mean steps against the model
    flags: list[str] = field(default_factory=list)


def fit_steps(
    responses: PulseResponses,
    kind: str,
    window: Window,
    drive_law: tuple[float, float],
    bins: int = 10,
) -> StepFit:
    """Fit one polarity's step model (``kind`` SET or RESET) to its pulse responses; ``drive_law`` is the
    (threshold_v, slope_v) kept where the amplitudes cannot pin them (the rate is always fitted)."""
    mask = np.asarray(responses.kind) == kind
    if not mask.any():
        raise AnalysisError(f"no {kind} pulse with a read on both sides to fit")
    data = responses.where(mask)
    sign = 1.0 if kind == "SET" else -1.0
    step = sign * data.delta_s  # magnitude toward the pulse's bound; negative: against it
    x = window.progress(data.g_before_s, kind)
    bin_of = np.minimum((x * bins).astype(np.int64), bins - 1)
    after = np.where(data.since_reversal <= MEMORY_HORIZON, data.since_reversal, 0)  # 0: steady (table)
    flags: list[str] = []
    against = float((step <= 0).mean())
    if against > AGAINST_SHARE:
        flags.append(
            f"{kind}: {against:.0%} of steps go against the pulse's polarity; the model's log-normal "
            "per-pulse spread cannot produce them (read noise, or a bidirectional spread in the device); "
            "the fit rests on the others"
        )
    # Near the window's edge each device's own edge (its window spread) truncates steps: pulses starting
    # there are left out (choosing by where steps end would keep the small ones and bias the rest).
    positive = (step > 0) & (x < 1.0 - EDGE_MARGIN)
    if np.unique(bin_of[positive]).size < 3:
        raise AnalysisError(
            f"{kind}: steps toward the bound in {np.unique(bin_of[positive]).size} progress bins; the "
            "state shape needs at least 3 (pulse the devices across more of their window)"
        )
    covered = np.percentile(x[positive], [5.0, 95.0])
    if covered[1] - covered[0] < MIN_COVERAGE:
        flags.append(
            f"{kind}: the steps cover progress {covered[0]:.2f}-{covered[1]:.2f} of the window only; the "
            "state shape beyond is extrapolated (and exponent and growth trade off: see their intervals)"
        )
    log_u = np.log(1.0 - x * (1.0 - window.step_ratio))
    # One intercept per device and pulse condition: a device pulsed at several amplitudes is one unit
    # per amplitude, each with the drive of that amplitude.
    unit = np.unique(
        np.column_stack([data.device_id, data.amplitude_v, data.width_s]), axis=0, return_inverse=True
    )[1].ravel()
    regressors = np.column_stack([log_u, x])[positive]
    log_step, since = np.log(step[positive]), data.since_reversal[positive]
    depth, pulses = _memory_fit(log_step, regressors, unit[positive], since)
    log_memory = _log_memory(data.since_reversal, depth, pulses)
    (exponent, growth), unit_effect, residual = _within_fit(
        log_step - log_memory[positive], regressors, unit[positive]
    )
    exponent, growth = float(exponent), float(growth)
    if exponent <= 0:
        flags.append(f"{kind}: fitted state exponent {exponent:.3g} <= 0; kept at 0.05 (the model needs > 0)")
        exponent = 0.05

    p = "set" if kind == "SET" else "reset"
    overrides = {f"{p}_state_exponent": exponent, f"{p}_state_growth": growth}
    sigma_by_bin = _c2c(residual, bin_of[positive], bins, overrides, p, flags, kind)
    c2c_of = overrides.get(f"{p}_c2c", 0.0) * np.exp(overrides.get(f"{p}_c2c_growth", 0.0) * x)
    # A device's intercept is ln(span F) + E[ln noise] = ln(span F) - c2c(x)^2 / 2 on average over its pulses.
    noise_mean = np.bincount(unit, weights=0.5 * c2c_of**2) / np.bincount(unit)
    unit_log_scale = np.full(noise_mean.size, np.nan)
    held = np.unique(unit[positive])
    unit_log_scale[held] = unit_effect + noise_mean[held]
    # Each intercept carries the residual variance over its pulses as estimation noise.
    intercept_variance = np.full(noise_mean.size, np.nan)
    intercept_variance[held] = np.mean(residual**2) / np.bincount(unit[positive])[held]
    conditions, drive = _drive(
        data, unit, unit_log_scale, intercept_variance, window, overrides, p, flags, kind
    )
    overrides.update(_drive_law(drive, drive_law, p, flags, kind))

    # The noise is normalized to mean 1: a device's mean step is its scale times the state factor.
    without_memory = np.exp(unit_log_scale[unit] + exponent * log_u + growth * x)
    expected = without_memory * np.exp(log_memory)
    table, rms = _bin_table(step, expected, conditions, data, bin_of, after, bins, sign, sigma_by_bin)
    if depth > MIN_MEMORY_DEPTH:
        overrides["polarity_memory_depth"] = depth
        overrides["polarity_memory_pulses"] = pulses
    memory = _memory_table(step / without_memory, after, depth, pulses)
    return StepFit(kind, overrides, drive, table, memory, rms, flags)


def _log_memory(since_reversal: np.ndarray, depth: float, pulses: float) -> np.ndarray:
    """ln(1 - depth exp(-(n - 1) / pulses)) for the n-th pulse after a reversal; 0 where n is unknown."""
    n = since_reversal.astype(float)
    return np.where(n > 0, np.log1p(-depth * np.exp(-(np.maximum(n, 1.0) - 1.0) / pulses)), 0.0)


def _memory_fit(
    log_step: np.ndarray, regressors: np.ndarray, unit: np.ndarray, since_reversal: np.ndarray
) -> tuple[float, float]:
    """Memory depth and length minimizing the within-device residuals (the shape refitted for each)."""
    if not np.any(since_reversal > 0) or not np.any(since_reversal != 1):
        return 0.0, 1.0

    def residual(params: np.ndarray) -> np.ndarray:
        depth, log_pulses = params
        return _within_fit(
            log_step - _log_memory(since_reversal, depth, math.exp(log_pulses)), regressors, unit
        )[2]

    result = optimize.least_squares(
        residual, [0.3, math.log(3.0)], bounds=([0.0, math.log(0.1)], [0.99, math.log(1000.0)])
    )
    return float(result.x[0]), float(math.exp(result.x[1]))


def _within_fit(
    y: np.ndarray, regressors: np.ndarray, unit: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least squares of y on the regressors with an intercept per unit (a device at one pulse condition):
    (coefficients, the intercepts of the units present in order of their codes, residuals)."""
    counts = np.bincount(unit)
    present = np.flatnonzero(counts)
    mean_y = np.bincount(unit, weights=y) / np.maximum(counts, 1)
    mean_x = (
        np.column_stack([np.bincount(unit, weights=column, minlength=counts.size) for column in regressors.T])
        / np.maximum(counts, 1)[:, None]
    )
    centred_x = regressors - mean_x[unit]
    coefficients, *_ = np.linalg.lstsq(centred_x, y - mean_y[unit], rcond=None)
    intercepts = mean_y - mean_x @ coefficients
    residual = y - intercepts[unit] - regressors @ coefficients
    return coefficients, intercepts[present], residual


def _c2c(
    residual: np.ndarray,
    bin_of: np.ndarray,
    bins: int,
    overrides: dict[str, float],
    p: str,
    flags: list[str],
    kind: str,
) -> dict[int, float]:
    """Residual sigma per bin -> c2c sigma exp(growth x); the bins' sigmas."""
    count = np.bincount(bin_of, minlength=bins)
    mean_square = np.bincount(bin_of, weights=residual**2, minlength=bins) / np.maximum(count, 1)
    sigma = {int(b): float(math.sqrt(mean_square[b])) for b in range(bins) if count[b] >= MIN_BIN_COUNT}
    if len(sigma) < 2:
        flags.append(f"{kind}: too few steps per bin for the per-pulse spread; left to the preset")
        return sigma
    centres = np.array([(b + 0.5) / bins for b in sigma])
    weight = np.sqrt([count[b] for b in sigma])
    slope, intercept = np.polyfit(centres, np.log(list(sigma.values())), 1, w=weight)
    overrides[f"{p}_c2c"] = float(math.exp(intercept))
    overrides[f"{p}_c2c_growth"] = float(slope)
    return sigma


def _drive(
    data: PulseResponses,
    unit: np.ndarray,
    log_scale: np.ndarray,
    intercept_variance: np.ndarray,
    window: Window,
    overrides: dict[str, float],
    p: str,
    flags: list[str],
    kind: str,
) -> tuple[list[tuple[float, float]], dict[tuple[float, float], float]]:
    """Mean drive D per (amplitude, width) from the units' scales ln(span F_i); the rate's d2d sigma from
    their spread within a condition beyond the intercepts' own estimation noise."""
    condition_of_unit = {}
    for d, a, w in zip(unit, data.amplitude_v, data.width_s, strict=True):
        condition_of_unit.setdefault(int(d), (float(a), float(w)))
    conditions = sorted(set(condition_of_unit.values()))
    drive: dict[tuple[float, float], float] = {}
    deviations, noise = [], []
    for condition in conditions:
        members = [d for d, c in condition_of_unit.items() if c == condition and np.isfinite(log_scale[d])]
        if not members:
            continue
        scales = log_scale[members]
        deviations.append(scales - scales.mean())
        noise.append(intercept_variance[members])
        fraction = np.exp(scales) / window.span_s
        beyond = int(np.sum(fraction >= MAX_FRACTION))
        if beyond:
            flags.append(
                f"{kind}: {beyond} of {fraction.size} devices step further at {condition[0]:g} V than the "
                "model's whole way to the bound (abrupt switching, or a window too narrow); their drive "
                f"is taken at {MAX_FRACTION:.0%} of the way"
            )
            fraction = np.minimum(fraction, MAX_FRACTION)
        # Each device's drive from its own fraction, then the mean over devices (D is log-normal).
        drive[condition] = float(np.mean(-np.log1p(-fraction)) / condition[1])
        if np.median(fraction) > SMALL_FRACTION:
            flags.append(
                f"{kind}: {condition[0]:g} V pulses move devices {np.median(fraction):.0%} of the way to the "
                "bound; the noise on saturating steps is read as weaker than it is"
            )
    spread = np.concatenate(deviations) if deviations else np.zeros(0)
    if spread.size > len(deviations) + 1:
        excess = float(np.sum(spread**2) / (spread.size - len(deviations)) - np.mean(np.concatenate(noise)))
        overrides[f"{p}_rate_d2d"] = math.sqrt(max(excess, 0.0))
    return conditions, drive


def _drive_law(
    drive: dict[tuple[float, float], float],
    kept: tuple[float, float],
    p: str,
    flags: list[str],
    kind: str,
) -> dict[str, float]:
    """rate, threshold and slope of D(V) = rate (exp((|V| - V_th) / slope) - 1) where three or more
    amplitudes pin them; otherwise the rate alone, with the ``kept`` threshold and slope."""
    by_width: dict[float, list[tuple[float, float]]] = {}
    for (amplitude_v, width_s), d in drive.items():
        by_width.setdefault(width_s, []).append((abs(amplitude_v), d))
    if not by_width:
        return {}
    width_s, points = max(by_width.items(), key=lambda item: len(item[1]))
    volts = np.array([v for v, _ in points])
    log_drive = np.log([d for _, d in points])
    if volts.size >= MIN_LAW_AMPLITUDES:
        fitted = _full_drive_law(volts, log_drive)
        if fitted is not None:
            return {f"{p}_rate_per_s": fitted[0], f"{p}_threshold_v": fitted[1], f"{p}_slope_v": fitted[2]}
    threshold_v, slope_v = kept
    if volts.min() <= threshold_v:
        flags.append(f"{kind}: pulses at or below the kept threshold {threshold_v:g} V; drive law not fitted")
        return {}
    flags.append(
        f"{kind}: {volts.min():g}-{volts.max():g} V ({volts.size} amplitudes) does not pin the drive law's "
        f"threshold and slope; kept at {threshold_v:g} V and {slope_v:g} V, the rate fitted to the drive"
    )
    rate = math.exp(float(np.mean(log_drive - np.log(np.expm1((volts - threshold_v) / slope_v)))))
    return {f"{p}_rate_per_s": rate}


def _full_drive_law(volts: np.ndarray, log_drive: np.ndarray) -> tuple[float, float, float] | None:
    """(rate, threshold, slope) by least squares on ln D; None where one runs to its bound or the
    amplitudes leave threshold or slope loose (standard error above MAX_THRESHOLD_SE_V or
    MAX_LOG_SLOPE_SE): far above threshold only rate exp(-V_th / slope) is measured."""

    def residual(params: np.ndarray) -> np.ndarray:
        log_rate, threshold, log_slope = params
        overdrive = np.maximum(volts - threshold, 1e-9)
        return log_rate + np.log(np.expm1(overdrive / math.exp(log_slope))) - log_drive

    low = np.array([-np.inf, 0.0, math.log(0.01)])
    high = np.array([np.inf, float(volts.min()) - 1e-3, math.log(2.0)])
    start = np.clip([float(log_drive.max()), 0.5 * volts.min(), math.log(0.2)], low, high)
    result = optimize.least_squares(residual, start, bounds=(low, high))
    if np.any(np.isclose(result.x, low, atol=1e-6) | np.isclose(result.x, high, atol=1e-6)):
        return None
    freedom = volts.size - 3
    variance = float(np.sum(result.fun**2)) / freedom
    try:
        covariance = np.linalg.inv(result.jac.T @ result.jac) * variance
    except np.linalg.LinAlgError:
        return None
    if math.sqrt(covariance[1, 1]) > MAX_THRESHOLD_SE_V or math.sqrt(covariance[2, 2]) > MAX_LOG_SLOPE_SE:
        return None
    return float(math.exp(result.x[0])), float(result.x[1]), float(math.exp(result.x[2]))


def _bin_table(
    step: np.ndarray,
    expected: np.ndarray,
    conditions: list[tuple[float, float]],
    data: PulseResponses,
    bin_of: np.ndarray,
    after: np.ndarray,
    bins: int,
    sign: float,
    sigma_by_bin: dict[int, float],
) -> tuple[list[dict[str, float]], float]:
    """Steady steps per condition and bin: measured mean beside the model's mean for the same devices."""
    table = []
    squares, total = 0.0, 0
    for amplitude_v, width_s in conditions:
        in_condition = (data.amplitude_v == amplitude_v) & (data.width_s == width_s) & (after == 0)
        for b in range(bins):
            rows = in_condition & (bin_of == b) & np.isfinite(expected)
            count = int(rows.sum())
            if count < MIN_BIN_COUNT:
                continue
            measured, model = float(step[rows].mean()), float(expected[rows].mean())
            squares += count * ((measured - model) / model) ** 2
            total += count
            table.append(
                {
                    "amplitude_v": amplitude_v,
                    "width_s": width_s,
                    "progress_low": b / bins,
                    "progress_high": (b + 1) / bins,
                    "count": count,
                    "measured_mean_s": sign * measured,
                    "model_mean_s": sign * model,
                    "log_step_sigma": sigma_by_bin.get(b, math.nan),
                }
            )
    return table, math.sqrt(squares / total) if total else math.nan


def _memory_table(
    ratio: np.ndarray, after: np.ndarray, depth: float, pulses: float
) -> list[dict[str, float]]:
    """Measured mean step over the memory-free model, n pulses after a reversal, against the steady
    pulses' ratio; beside it the fitted factor 1 - depth exp(-(n - 1) / pulses)."""
    finite = np.isfinite(ratio)
    steady = float(np.mean(ratio[finite & (after == 0)])) if np.any(finite & (after == 0)) else math.nan
    rows = []
    for n in range(1, MEMORY_HORIZON + 1):
        chosen = ratio[finite & (after == n)]
        if chosen.size >= MIN_BIN_COUNT:
            rows.append(
                {
                    "pulse": n,
                    "count": int(chosen.size),
                    "measured_factor": float(chosen.mean() / steady),
                    "model_factor": 1.0 - depth * math.exp(-(n - 1) / pulses),
                }
            )
    return rows
