"""Fit a passive preset's V/3 disturbance by order to measured data, by matching a seeded simulator.

The spread of a device's conductance change against the number N of devices programmed after it comes
out of the whole programming run (every later device's ramp puts V/3 on it, its relaxation goes on, its
read is noisy), so no closed form gives it: simulated 8x8 chips of the preset are programmed as seed 002
programmed its crossbars (column-major, Alibart tuning to random targets across the middle three
quarters of the window, each device to its full pulse budget) and their disturbance spread by N
compared with the measured one (log ratios at N = 1, 5, 10, 20, 30, neighbouring N pooled). The spread
is the robust sd (interquartile range / 1.349): a few very sensitive devices (a ramp top whose V/3
crosses their threshold) make the plain sd of a few simulated chips swing by several times. The search
is a grid over the soft onset below threshold (`subthreshold_fraction`, `subthreshold_slope_v`: how
strongly and how far below its threshold a half-selected device still creeps, which reaches the bulk
of the devices rather than the few whose threshold V/3 crosses) and a scale of the relaxation spread
(the floor at small N). Simulated figures vary from chip to chip; the report gives, at the preset and
at the fit, their 5-95% range over blocks of chips beside the measured spread's bootstrap interval, and
flags the orders where they are apart.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from labrram.analysis.fit_report import FitReport, array_digest
from labrram.bench.factory import direct_simulated_bench
from labrram.config import parse_config
from labrram.errors import AnalysisError
from labrram.physics.parameters import ArrayKind
from labrram.physics.presets import ChipPreset
from labrram.procedures.program import disturbance_by_order, program_array
from labrram.procedures.tuning import AlibartSettings

ORDERS = (1, 5, 10, 20, 30)
POOL = {1: range(1, 3), 5: range(4, 7), 10: range(9, 12), 20: range(18, 23), 30: range(27, 34)}
# The grid: the soft onset below threshold (how strongly, how far down), and the relaxation spread as a
# multiple of the preset's (the floor at small N).
SUBTHRESHOLD_FRACTIONS = (0.0, 0.3, 1.0)
SUBTHRESHOLD_SLOPES_V = (0.05, 0.1, 0.15)
SPREAD_SCALES = (1.0, 2.0)
BOOTSTRAP_ROUNDS = 1000
IQR_PER_SD = 1.349
MEDIAN_FACTOR = 1.5  # a fitted median further than this factor from the measured spread is flagged


def robust_sd(values: np.ndarray) -> float:
    """The interquartile range over 1.349: the sd of a normal, not ruled by a few sensitive devices."""
    q25, q75 = np.percentile(values, [25.0, 75.0])
    return float((q75 - q25) / IQR_PER_SD)


def sd_by_order(n_after: np.ndarray, delta_s: np.ndarray) -> np.ndarray:
    """Robust sd (S) of the changes at each of ORDERS, pooled over neighbouring N (NaN where none)."""
    sds = []
    for n in ORDERS:
        values = delta_s[np.isin(n_after, list(POOL[n]))]
        sds.append(robust_sd(values) if values.size > 2 else math.nan)
    return np.array(sds)


def simulate_disturbance(
    preset: ChipPreset, overrides: dict[str, float], chips: int, first_seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(N after, dG) of ``chips`` simulated chips of the preset programmed as seed 002 programmed its own."""
    n_after, delta = [], []
    parameters = preset.parameters
    settings = AlibartSettings(unresponsive_pulses=0)
    for seed in range(first_seed, first_seed + chips):
        config = parse_config(
            {
                "bench": {"name": "disturbance-fit", "seed": seed},
                "sample": {"chip": f"fit-{seed}", "preset": preset.pinned_name, "overrides": overrides},
            }
        )
        bench = direct_simulated_bench(config)
        rng = np.random.default_rng(10_000 + seed)
        width = parameters.g_max_s - parameters.g_min_s
        targets = rng.uniform(
            parameters.g_min_s + width / 8, parameters.g_max_s - width / 8, (preset.rows, preset.cols)
        )
        records = program_array(bench, config.sample.arrays[0].name, targets, settings, order="column-major")
        for n, values in disturbance_by_order(records).items():
            n_after += [n] * len(values)
            delta += values
    return np.array(n_after), np.array(delta)


def fit_disturbance_model(
    n_after: np.ndarray,
    delta_s: np.ndarray,
    preset: ChipPreset,
    source: str,
    runs: tuple[int, ...] = (),
    chips: int = 12,
    blocks: int = 5,
    fractions: tuple[float, ...] = SUBTHRESHOLD_FRACTIONS,
    slopes_v: tuple[float, ...] = SUBTHRESHOLD_SLOPES_V,
    spread_scales: tuple[float, ...] = SPREAD_SCALES,
    seed: int = 0,
) -> FitReport:
    """The grid point whose simulated spread by order comes nearest the measured one (log ratios)."""
    if preset.kind is not ArrayKind.PASSIVE:
        raise AnalysisError(
            f"{preset.name} is not a passive array: its devices see no half-select disturbance"
        )
    n_after, delta_s = np.asarray(n_after), np.asarray(delta_s, dtype=float)
    measured = sd_by_order(n_after, delta_s)
    if np.isnan(measured).any():
        missing = [n for n, sd in zip(ORDERS, measured, strict=True) if math.isnan(sd)]
        raise AnalysisError(f"no measured disturbance at N = {missing}: the fit compares N = {list(ORDERS)}")
    p = preset.parameters

    def overrides_of(fraction: float, slope_v: float, scale: float) -> dict[str, float]:
        return {
            "subthreshold_fraction": fraction,
            "subthreshold_slope_v": slope_v,
            "relaxation_spread_s": p.relaxation_spread_s * scale,
        }

    def mismatch(overrides: dict[str, float]) -> float:
        simulated = sd_by_order(*simulate_disturbance(preset, overrides, chips, seed))
        return float(np.nansum(np.log(simulated / measured) ** 2))

    # Without a soft onset its slope does nothing: one slope for fraction 0.
    grid = [
        (f, s, c)
        for f, s, c in itertools.product(fractions, slopes_v, spread_scales)
        if f or s == slopes_v[0]
    ]
    scores = [mismatch(overrides_of(*point)) for point in grid]
    best = grid[int(np.argmin(scores))]
    overrides = overrides_of(*best)
    flags = []
    edges = [
        name
        for name, value, values in zip(
            ("fraction", "slope", "spread"), best, (fractions, slopes_v, spread_scales), strict=True
        )
        if len(values) > 1 and value in (min(values), max(values)) and (name != "slope" or best[0])
    ]
    if edges:
        flags.append(f"the best grid point is on the grid's edge in {', '.join(edges)}: {best}")
    rng = np.random.default_rng(seed)
    intervals = [_bootstrap_sd(delta_s[np.isin(n_after, list(POOL[n]))], rng) for n in ORDERS]
    at_preset = _over_blocks(preset, {}, chips, blocks, seed)
    at_fit = _over_blocks(preset, overrides, chips, blocks, seed)
    table = []
    for k, n in enumerate(ORDERS):
        row = {
            "n_after": n,
            "measured_sd_s": float(measured[k]),
            "measured_low_s": intervals[k][0],
            "measured_high_s": intervals[k][1],
        }
        for name, sds in (("preset", at_preset), ("fitted", at_fit)):
            low, median, high = np.nanpercentile(sds[:, k], [5, 50, 95])
            row.update({f"{name}_sd_s": median, f"{name}_low_s": low, f"{name}_high_s": high})
        table.append(row)
    apart = [
        r["n_after"]
        for r in table
        if not 1 / MEDIAN_FACTOR < r["fitted_sd_s"] / r["measured_sd_s"] < MEDIAN_FACTOR
        or r["fitted_high_s"] < r["measured_low_s"]
        or r["fitted_low_s"] > r["measured_high_s"]
    ]
    if apart:
        flags.append(
            f"at N = {apart} the fitted spread over blocks of {chips} chips (median or 5-95% range) is "
            f"off the measured one (beyond {MEDIAN_FACTOR}x, or the ranges do not meet): the model's "
            "disturbance trend differs from the measured one"
        )
    return FitReport(
        part="disturbance",
        preset=preset.pinned_name,
        source=source,
        runs=runs,
        data_sha256=array_digest(np.asarray(n_after, dtype=float), delta_s),
        devices=int(delta_s.size),
        held_out_devices=0,
        seed=seed,
        overrides=overrides,
        uncertainty={},
        check=None,
        tables={
            "sd_by_order": table,
            "grid": [
                {"subthreshold_fraction": f, "subthreshold_slope_v": s, "spread_scale": c, "mismatch": m}
                for (f, s, c), m in zip(grid, scores, strict=True)
            ],
        },
        flags=flags,
    )


def _over_blocks(
    preset: ChipPreset, overrides: dict[str, float], chips: int, blocks: int, seed: int
) -> np.ndarray:
    """sd by order (S) of each of ``blocks`` blocks of ``chips`` chips (seeds after the fit's own)."""
    first = seed + chips  # blocks start past the seeds the grid search used
    return np.array(
        [
            sd_by_order(*simulate_disturbance(preset, overrides, chips, first + b * chips))
            for b in range(blocks)
        ]
    )


def _bootstrap_sd(values: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    """95% interval of the robust sd of ``values`` over resamples (S)."""
    sds = [robust_sd(rng.choice(values, values.size)) for _ in range(BOOTSTRAP_ROUNDS)]
    return float(np.percentile(sds, 2.5)), float(np.percentile(sds, 97.5))
