"""Retention: broadening with log-time, drift direction, Arrhenius acceleration, simulated clock."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from labrram.physics import HFO2_1T1R, SimulatedChip, acceleration_factor
from labrram.physics.array import CrossbarArray
from labrram.physics.parameters import ArrayKind
from tests.helpers import at_fraction, quiet


def relaxing_chip(seed: int = 0, size: int = 8000) -> SimulatedChip:
    parameters = quiet(HFO2_1T1R.parameters)
    array = CrossbarArray(parameters, 1, size, ArrayKind.ONE_T_ONE_R, np.random.default_rng(seed))
    at_fraction(array, 1.0 / 3.0)
    return SimulatedChip({"M": array})


def spread_after(chip: SimulatedChip, schedule_s: list[float]) -> list[tuple[float, float]]:
    """(mean shift, sd) of the population's conductance change at each elapsed time."""
    start = chip.arrays["M"].conductance_s()
    out = []
    elapsed = 0.0
    for t_s in schedule_s:
        chip.advance(t_s - elapsed)
        elapsed = t_s
        change = chip.arrays["M"].conductance_s() - start
        out.append((float(change.mean()), float(change.std())))
    return out


def test_level_distribution_broadens_with_log_time_like_levy_tech_b():
    chip = relaxing_chip()
    figures = spread_after(chip, [0.01, 1.0, 100.0, 1e4])
    sds = [sd for _, sd in figures]
    assert all(b > a for a, b in itertools.pairwise(sds))
    # Random walk in ln(1 + t / t0): sd = spread * sqrt(tau) at x = 1/3 of the window.
    parameters = chip.arrays["M"].parameters
    tau = np.log1p(1e4 / parameters.relaxation_t0_s)
    assert sds[-1] == pytest.approx(parameters.relaxation_spread_s * np.sqrt(tau), rel=0.05)
    # Levy tech B, least stable states: ~10.7 uS sd and a few uS mean loss at 1e4 s.
    assert 7e-6 < sds[-1] < 14e-6
    assert figures[-1][0] < 0


def test_reading_often_does_not_change_the_statistics():
    sparse = spread_after(relaxing_chip(1), [1e4])[-1]
    dense = spread_after(relaxing_chip(2), list(np.geomspace(1e-3, 1e4, 60)))[-1]
    assert dense[1] == pytest.approx(sparse[1], rel=0.06)
    assert dense[0] == pytest.approx(sparse[0], abs=0.15 * sparse[1])


def test_bake_is_equivalent_to_longer_time_at_room_temperature():
    factor = acceleration_factor(85.0, 25.0, HFO2_1T1R.parameters.activation_energy_ev)
    baked = relaxing_chip(3)
    baked.temperature_c = 85.0
    hot = spread_after(baked, [10.0])[-1]
    cold = spread_after(relaxing_chip(4), [10.0 * factor])[-1]
    assert hot[1] == pytest.approx(cold[1], rel=0.06)
    assert baked.now_s == pytest.approx(10.0)  # the clock shows real seconds


def test_arrhenius_factor_matches_the_formula():
    k_b = 8.617333262e-5
    expected = np.exp(1.0 / k_b * (1 / 298.15 - 1 / 398.15))
    assert acceleration_factor(125.0, 25.0, 1.0) == pytest.approx(expected, rel=1e-12)
    assert acceleration_factor(25.0, 25.0, 1.0) == 1.0


def test_a_week_of_retention_costs_no_wall_clock_time():
    chip = relaxing_chip(size=16)
    chip.advance(7 * 24 * 3600.0)
    assert chip.now_s == pytest.approx(604800.0)
    with pytest.raises(ValueError, match="backwards"):
        chip.advance(-1.0)
