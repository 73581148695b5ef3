"""Device models with known statistics for the transfer tests."""

from __future__ import annotations

import numpy as np

from labrram.analysis import (
    DeviceModel,
    DisturbanceByOrder,
    ReadNoise,
    RetentionModel,
    StuckDevices,
    TuningImprecision,
)
from labrram.analysis.responses import ReadPairs

WINDOW_S = (100e-6, 500e-6)
SCHEME = {"order": "column-major", "array_rows": 8, "array_cols": 8}


def ideal() -> DeviceModel:
    """Devices that are exactly what they are told: no component at all."""
    return DeviceModel(WINDOW_S, SCHEME)


def tuning(sigma_rel: float, offset_rel: float = 0.0, seed: int = 0) -> TuningImprecision:
    rng = np.random.default_rng(seed)
    target = np.repeat(np.linspace(*WINDOW_S, 8), 500)
    return TuningImprecision.fit(
        target, target * (1 + offset_rel + sigma_rel * rng.standard_normal(target.size))
    )


def disturbance(sd_at_1_s: float, sd_at_30_s: float, seed: int = 0) -> DisturbanceByOrder:
    """Normal dG whose sd grows linearly from N = 1 to N = 30 (seed 002: ~8 to ~22 uS)."""
    rng = np.random.default_rng(seed)
    n = np.repeat(np.arange(1, 64), 300)
    sd = sd_at_1_s + (sd_at_30_s - sd_at_1_s) * (np.minimum(n, 30) - 1) / 29
    return DisturbanceByOrder.fit(n, sd * rng.standard_normal(n.size), max_abs_s=None)


def stuck(rate_each: float, devices: int = 10_000, seed: int = 0) -> StuckDevices:
    """Seed 002's stuck devices: HRS uniform in 10-100 uS, LRS normal(573 uS, 99 uS), ``rate_each`` each."""
    rng = np.random.default_rng(seed)
    count = round(rate_each * devices)
    states = ["HRS"] * count + ["LRS"] * count
    conductances = [*rng.uniform(10e-6, 100e-6, count), *rng.normal(573e-6, 99e-6, count)]
    return StuckDevices.fit(devices, states, conductances)


def read_noise(rel: float) -> ReadNoise:
    g = np.linspace(*WINDOW_S, 5)
    return ReadNoise(rel, 0.0, g, rel * g, np.full(5, 100), 1.0)


def retention(drift_per_ln_t_s: float, variance_per_ln_t_s2: float, seed: int = 0) -> RetentionModel:
    """A random walk in log-time, the same at every level, fitted from synthetic reads (1 s to 1e4 s)."""
    rng = np.random.default_rng(seed)
    times = np.geomspace(1.0, 1e4, 9)
    devices, elapsed, conductance = [], [], []
    for device in range(400):
        g0 = WINDOW_S[0] + (WINDOW_S[1] - WINDOW_S[0]) * (device % 4 + 0.5) / 4
        walk = np.concatenate([[0.0], np.cumsum(np.diff(np.log(times)))])
        steps = rng.standard_normal(times.size - 1) * np.sqrt(variance_per_ln_t_s2 * np.diff(np.log(times)))
        g = g0 + drift_per_ln_t_s * walk + np.concatenate([[0.0], np.cumsum(steps)])
        devices += [device] * times.size
        elapsed += list(times)
        conductance += list(g)
    return RetentionModel.fit(np.array(devices), np.array(elapsed), np.array(conductance), levels=4)


def seed_002_like() -> DeviceModel:
    """Seed 002's figures: -0.6% offset, ~0.5% spread, disturbance 8 -> 22 uS by N, 0.5% stuck each way."""
    return DeviceModel(
        WINDOW_S,
        SCHEME,
        tuning=tuning(0.005, -0.006),
        disturbance=disturbance(8e-6, 22e-6),
        stuck=stuck(0.005),
    )


__all__ = ["ReadPairs"]
