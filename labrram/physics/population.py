"""Device-to-device variability: draw one set of per-device constants for a whole population."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labrram.physics.parameters import DeviceParameters

NOT_STUCK, STUCK_HRS, STUCK_LRS = 0, 1, 2


def lognormal_factor(rng: np.random.Generator, sigma: float, size: int) -> np.ndarray:
    """Log-normal factors with mean 1 and log-sigma ``sigma`` (all ones when sigma is 0)."""
    return np.exp(sigma * rng.standard_normal(size) - 0.5 * sigma * sigma)


@dataclass
class DevicePopulation:
    """Per-device constants of ``size`` devices (flat arrays), drawn once when a chip is made."""

    g_min_s: np.ndarray
    g_max_s: np.ndarray
    window_s: np.ndarray
    set_bound_s: np.ndarray
    reset_bound_s: np.ndarray
    set_threshold_v: np.ndarray
    reset_threshold_v: np.ndarray
    set_rate_per_s: np.ndarray
    reset_rate_per_s: np.ndarray
    forming_voltage_v: np.ndarray
    endurance_cycles: np.ndarray
    stuck: np.ndarray
    stuck_conductance_s: np.ndarray
    virgin: np.ndarray

    @property
    def size(self) -> int:
        return self.g_min_s.size

    @classmethod
    def draw(cls, parameters: DeviceParameters, size: int, rng: np.random.Generator) -> DevicePopulation:
        """Sample every device's constants from the technology's statistics."""
        p = parameters
        g_min = p.g_min_s * lognormal_factor(rng, p.window_d2d, size)
        g_max = p.g_max_s * lognormal_factor(rng, p.window_d2d, size)
        g_max = np.maximum(g_max, 1.5 * g_min)  # keep every window open
        width = g_max - g_min
        # Exponential approach to a virtual bound beyond the window edge: the step at the far edge
        # is step_ratio times the step at the near edge (Sidler's non-linearity strength).
        set_bound = g_max + width * p.set_step_ratio / (1.0 - p.set_step_ratio)
        reset_bound = g_min - width * p.reset_step_ratio / (1.0 - p.reset_step_ratio)
        kind = rng.random(size)
        stuck = np.full(size, NOT_STUCK, dtype=np.int8)
        stuck[kind < p.stuck_hrs_fraction] = STUCK_HRS
        lrs = (kind >= p.stuck_hrs_fraction) & (kind < p.stuck_hrs_fraction + p.stuck_lrs_fraction)
        stuck[lrs] = STUCK_LRS
        stuck_g = np.where(
            stuck == STUCK_HRS,
            rng.uniform(p.stuck_hrs_min_s, p.stuck_hrs_max_s, size),
            np.abs(rng.normal(p.stuck_lrs_mean_s, p.stuck_lrs_sd_s, size)),
        )
        return cls(
            g_min_s=g_min,
            g_max_s=g_max,
            window_s=width,
            set_bound_s=set_bound,
            reset_bound_s=reset_bound,
            set_threshold_v=np.abs(rng.normal(p.set_threshold_v, p.set_threshold_d2d_v, size)),
            reset_threshold_v=np.abs(rng.normal(p.reset_threshold_v, p.reset_threshold_d2d_v, size)),
            set_rate_per_s=p.set_rate_per_s * lognormal_factor(rng, p.set_rate_d2d, size),
            reset_rate_per_s=p.reset_rate_per_s * lognormal_factor(rng, p.reset_rate_d2d, size),
            forming_voltage_v=rng.normal(p.forming_voltage_v, p.forming_voltage_d2d_v, size),
            endurance_cycles=p.endurance_cycles * np.exp(p.endurance_d2d * rng.standard_normal(size)),
            stuck=stuck,
            stuck_conductance_s=np.where(stuck == NOT_STUCK, np.nan, stuck_g),
            virgin=(rng.random(size) < p.virgin_fraction) & (stuck == NOT_STUCK),
        )
