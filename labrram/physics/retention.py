"""Retention: conductance relaxation after programming, accelerated by temperature (Arrhenius).

After a device is programmed its conductance performs a random walk in tau = ln(1 + age / t0), with a
drift and a spread that depend on the state. The spread of a population therefore grows as
sqrt(ln t) and its mean shifts linearly in ln t, which is what Levy's tech B relaxation data show from
10 ms to 10^4 s. Age is counted in equivalent seconds at the reference temperature: one second at
T counts exp[(Ea / kB)(1 / T_ref - 1 / T)] seconds.
"""

from __future__ import annotations

import math

import numpy as np

BOLTZMANN_EV_PER_K = 8.617333262e-5
ZERO_CELSIUS_K = 273.15
_SHAPE_NORMALIZATION = 27.0 / 4.0  # x (1 - x)^2 peaks at 4/27 for x = 1/3
DEFAULT_PEAK = 1.0 / 3.0
DEFAULT_SHARPNESS = 3.0
MAX_LOG_TIME_STEP = 0.5  # in ln(1 + age / t0): the state-dependent strength is updated this often


def acceleration_factor(
    temperature_c: float, reference_temperature_c: float, activation_energy_ev: float
) -> float:
    """Arrhenius acceleration of ageing at ``temperature_c`` relative to the reference temperature."""
    t_k = temperature_c + ZERO_CELSIUS_K
    t_ref_k = reference_temperature_c + ZERO_CELSIUS_K
    if t_k <= 0:
        raise ValueError(f"temperature {temperature_c} C is below absolute zero")
    return math.exp(activation_energy_ev / BOLTZMANN_EV_PER_K * (1.0 / t_ref_k - 1.0 / t_k))


def window_position(g_s: np.ndarray, g_min_s: np.ndarray, window_s: np.ndarray) -> np.ndarray:
    """Where each device sits in its window, 0 at the bottom and 1 at the top (clipped)."""
    return np.minimum(
        np.maximum((g_s - g_min_s) / window_s, 0.0), 1.0
    )  # np.clip costs 5x more on few devices


def state_shape(
    x: np.ndarray,
    flatness: float = 0.0,
    peak: float = DEFAULT_PEAK,
    sharpness: float = DEFAULT_SHARPNESS,
) -> np.ndarray:
    """Relative strength of relaxation at window position ``x``: x^a (1 - x)^b with a = peak sharpness and
    b = (1 - peak) sharpness, 1 at x = peak ((27/4) x (1 - x)^2 by default), blended with a
    level-independent strength 1 by ``flatness`` (1: the same spread at every level)."""
    if peak == DEFAULT_PEAK and sharpness == DEFAULT_SHARPNESS:
        peaked = _SHAPE_NORMALIZATION * x * (1.0 - x) ** 2
    else:
        a, b = peak * sharpness, (1.0 - peak) * sharpness
        peaked = x**a * (1.0 - x) ** b / (peak**a * (1.0 - peak) ** b)
    return peaked if not flatness else (1.0 - flatness) * peaked + flatness


def log_time_steps(age_before_s: np.ndarray, age_after_s: np.ndarray, t0_s: float) -> tuple[np.ndarray, int]:
    """The log-time each device's age covers, and into how many equal steps the walk must cut it.

    The walk's strength depends on the state it moves, so a long stretch (a bake, a day's wait between
    reads) is walked in steps of at most MAX_LOG_TIME_STEP, the strength updated between them; a read a
    few microseconds after the last is one step.
    """
    d_tau = np.log1p(age_after_s / t0_s) - np.log1p(age_before_s / t0_s)
    largest = float(np.max(d_tau)) if d_tau.size else 0.0
    return d_tau, max(1, math.ceil(largest / MAX_LOG_TIME_STEP))


def relaxation_increment(
    shape: np.ndarray,
    d_tau: np.ndarray,
    drift_s: np.ndarray | float,
    spread_s: float,
    rng: np.random.Generator,
    tail_dof: float = 0.0,
) -> np.ndarray:
    """Conductance change of each device over ``d_tau`` of log-time at relaxation strength ``shape`` (S).

    ``drift_s`` is the drift per unit log-time at full strength (one value, or one per device). The
    increments are normal, or Student-t with ``tail_dof`` degrees of freedom (> 2) scaled to unit
    variance: heavy tails, excess kurtosis 6 / (dof - 4) for one step.
    """
    if tail_dof:
        noise = rng.standard_t(tail_dof, shape.size) * math.sqrt((tail_dof - 2.0) / tail_dof)
    else:
        noise = rng.standard_normal(shape.size)
    return shape * (drift_s * d_tau + spread_s * np.sqrt(d_tau) * noise)
