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
from numba import njit

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


@njit(cache=True)
def window_position(g_s: np.ndarray, g_min_s: np.ndarray, window_s: np.ndarray) -> np.ndarray:
    """Where each device sits in its window, 0 at the bottom and 1 at the top (clipped)."""
    return np.minimum(np.maximum((g_s - g_min_s) / window_s, 0.0), 1.0)


@njit(cache=True)
def state_shape(
    x: np.ndarray,
    flatness: float = 0.0,
    peak: float = DEFAULT_PEAK,
    sharpness: float = DEFAULT_SHARPNESS,
) -> np.ndarray:
    """Relative strength of relaxation at window position ``x``: x^a (1 - x)^b with a = peak sharpness and
    b = (1 - peak) sharpness, 1 at x = peak ((27/4) x (1 - x)^2 by default), blended with a
    level-independent strength 1 by ``flatness`` (1: the same spread at every level). Compiled: the
    relaxation walk calls it per device, numpy callers on arrays."""
    if peak == DEFAULT_PEAK and sharpness == DEFAULT_SHARPNESS:
        peaked = _SHAPE_NORMALIZATION * x * (1.0 - x) ** 2
    else:
        a, b = peak * sharpness, (1.0 - peak) * sharpness
        peaked = x**a * (1.0 - x) ** b / (peak**a * (1.0 - peak) ** b)
    return peaked if not flatness else (1.0 - flatness) * peaked + flatness


@njit(cache=True, nogil=True)
def log_time_steps(
    devices: np.ndarray, evaluated_at_s: np.ndarray, programmed_at_s: np.ndarray, age_s: float, t0_s: float
) -> tuple[np.ndarray, int]:
    """The log-time each device's age has covered since it was last evaluated (ages counted from its
    programming), and into how many equal steps the walk must cut it.

    The walk's strength depends on the state it moves, so a long stretch (a bake, a day's wait between
    reads) is walked in steps of at most MAX_LOG_TIME_STEP, the strength updated between them; a read a
    few microseconds after the last is one step.
    """
    d_tau = np.empty(devices.size)
    largest = 0.0
    for j in range(devices.size):
        if devices[j] < 0 or devices[j] >= programmed_at_s.size:
            raise IndexError("device index outside the array")
        programmed_s = programmed_at_s[devices[j]]
        d_tau[j] = math.log1p((age_s - programmed_s) / t0_s) - math.log1p(
            (evaluated_at_s[devices[j]] - programmed_s) / t0_s
        )
        largest = max(largest, d_tau[j])
    return d_tau, max(1, math.ceil(largest / MAX_LOG_TIME_STEP))


def relaxation_noise(rng: np.random.Generator, tail_dof: float, steps: int, devices: int) -> np.ndarray:
    """Unit-variance increments of the walk, one per step and device: normal, or Student-t with
    ``tail_dof`` degrees of freedom (> 2) scaled to unit variance (heavy tails, excess kurtosis
    6 / (dof - 4) for one step)."""
    if tail_dof:
        return rng.standard_t(tail_dof, (steps, devices)) * math.sqrt((tail_dof - 2.0) / tail_dof)
    return rng.standard_normal((steps, devices))


@njit(cache=True, nogil=True)
def walk_relaxation(
    devices: np.ndarray,
    g_s: np.ndarray,
    d_tau: np.ndarray,
    noise: np.ndarray,
    relaxing: np.ndarray,
    g_min_s: np.ndarray,
    window_s: np.ndarray,
    shape_parameters: tuple[float, float, float],
    drift_s: float,
    drift_tilt_s: float,
    spread_s: float,
) -> None:
    """Walk each device's conductance (in place in ``g_s``) over its ``d_tau`` of log-time in as many
    equal steps as ``noise`` has rows: per step, drift and spread per unit log-time at the strength of
    the state it has reached (``state_shape``, with ``shape_parameters`` = flatness, peak, sharpness),
    the drift tilted by ``drift_tilt_s`` per unit of window position around a third; never below 0 S."""
    flatness, peak, sharpness = shape_parameters
    steps = noise.shape[0]
    for j in range(devices.size):
        device = devices[j]
        if not relaxing[device]:
            continue  # stuck and virgin devices hold their conductance
        g = g_s[device]
        d_step = d_tau[j] / steps
        for step in range(steps):
            x = window_position(g, g_min_s[device], window_s[device])
            shape = state_shape(x, flatness, peak, sharpness)
            drift = drift_s + drift_tilt_s * (x - 1.0 / 3.0) if drift_tilt_s else drift_s
            g = max(g + shape * (drift * d_step + spread_s * math.sqrt(d_step) * noise[step, j]), 0.0)
        g_s[device] = g
