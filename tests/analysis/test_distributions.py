"""Distributions recover the statistics they were generated with (known parameters, stated tolerances)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from labrram.analysis.disturbance import DisturbanceByOrder
from labrram.analysis.levels import MultilevelLevels
from labrram.analysis.read_noise import ReadNoise
from labrram.analysis.responses import ReadPairs
from labrram.analysis.sampling import ChosenDistribution
from labrram.analysis.stuck import STUCK_HRS, STUCK_LRS, WORKING, StuckDevices
from labrram.analysis.tuning import TuningImprecision
from labrram.errors import AnalysisError


def test_tuning_spread_and_offset_lines_are_recovered():
    # sigma_rel(G) = -20 /S x G + 0.012 (1.0% at 100 uS down to 0.2% at 500 uS), offset -0.6% flat.
    rng = np.random.default_rng(0)
    levels = np.linspace(100e-6, 500e-6, 8)
    target = np.repeat(levels, 400)
    sigma = -20.0 * target + 0.012
    achieved = target * (1 - 0.006 + sigma * rng.standard_normal(target.size))
    fit = TuningImprecision.fit(target, achieved)
    assert fit.spread.slope == pytest.approx(-20.0, abs=3 * fit.spread.slope_se + 1.0)
    assert fit.spread.intercept == pytest.approx(0.012, abs=3 * fit.spread.intercept_se + 3e-4)
    assert fit.spread.slope_se < 2.0  # 8 x 400 tunings pin the slope to ~10%
    assert fit.offset_rel(300e-6) == pytest.approx(-0.006, abs=3e-4)
    assert fit.offset.slope == pytest.approx(0.0, abs=4 * fit.offset.slope_se + 1e-9)
    drawn = fit.sample(np.full(20_000, 200e-6), np.random.default_rng(1))
    assert np.std(drawn / 200e-6 - 1) == pytest.approx(-20 * 200e-6 + 0.012, rel=0.05)


def test_tuning_failures_are_counted_not_fitted_and_continuous_targets_are_binned():
    rng = np.random.default_rng(2)
    target = rng.uniform(100e-6, 500e-6, 3000)
    achieved = target * (1 + 0.005 * rng.standard_normal(target.size))
    success = rng.random(target.size) > 0.1
    achieved[~success] = 20e-6  # stuck devices end far away
    fit = TuningImprecision.fit(target, achieved, success, levels=6)
    assert fit.levels_s.size == 6 and fit.failures == int((~success).sum())
    assert fit.sigma_rel(300e-6) == pytest.approx(0.005, rel=0.1)


def test_a_spread_line_that_turns_negative_is_flagged_and_floored():
    target = np.repeat([100e-6, 300e-6, 500e-6], 50)
    rng = np.random.default_rng(3)
    sigma = np.select([target < 200e-6, target < 400e-6], [0.02, 0.0002], 0.0001)
    fit = TuningImprecision.fit(target, target * (1 + sigma * rng.standard_normal(target.size)))
    assert any("does not represent" in flag for flag in fit.flags)
    assert fit.sigma_rel(500e-6) >= fit.floor_rel > 0


def test_disturbance_keeps_normal_groups_parametric_and_skewed_ones_empirical():
    rng = np.random.default_rng(4)
    n = np.repeat([1, 2, 3], 2000)
    delta = np.where(
        n == 1,
        rng.normal(-1e-6, 5e-6, n.size),  # normal
        -rng.exponential(8e-6, n.size) + 2e-6,  # a heavy negative tail, as seed 002 finds
    )
    fit = DisturbanceByOrder.fit(n, delta)
    forms = [row["form"] for row in fit.table()]
    assert forms == ["normal", "empirical", "empirical"]
    assert fit.table()[0]["sd_s"] == pytest.approx(5e-6, rel=0.05)
    drawn = fit.sample(np.full(50_000, 3), np.random.default_rng(5))
    measured = delta[n == 3]
    assert stats.ks_2samp(drawn, measured).pvalue > 0.001
    assert np.all(fit.sample(np.zeros(10, dtype=int), np.random.default_rng(0)) == 0)
    # Beyond the data, the last group's distribution.
    assert np.all(np.isin(fit.sample(np.full(100, 40), np.random.default_rng(0)), measured))


def test_disturbance_pools_thin_n_and_drops_failures_beyond_the_cap():
    rng = np.random.default_rng(6)
    n = np.concatenate([np.full(100, 1), np.full(5, 2), np.full(8, 3), np.full(30, 4), np.full(3, 5)])
    delta = rng.normal(0, 5e-6, n.size)
    delta[0] = 90e-6  # a failure, not disturbance (seed 002 keeps |dG| <= 60 uS)
    fit = DisturbanceByOrder.fit(n, delta, min_count=10)
    assert fit.group_ranges == ((1, 1), (2, 3), (4, 5))
    assert fit.excluded == 1 and fit.table()[0]["values"] == 99


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e-4, 1e-4, allow_nan=False), min_size=1, max_size=80))
def test_a_chosen_distribution_only_draws_what_its_form_allows(values):
    chosen = ChosenDistribution.choose(np.array(values))
    drawn = chosen.sample(500, np.random.default_rng(0))
    if chosen.form in ("empirical", "constant"):
        assert np.all(np.isin(drawn, chosen.values))
    elif chosen.form == "uniform":
        assert np.all((drawn >= min(values)) & (drawn <= max(values)))
    else:
        assert chosen.form == "normal" and len(values) >= 3


def test_stuck_rates_come_with_exact_intervals_and_sample_their_conductances():
    states = ["HRS"] * 5 + ["LRS"] * 15
    conductances = [50e-6] * 5 + list(np.random.default_rng(7).normal(573e-6, 99e-6, 15))
    stuck = StuckDevices.fit(1000, states, conductances)
    assert stuck.rate("HRS") == 0.005 and stuck.rate("LRS") == 0.015
    low, high = stuck.interval("LRS")
    assert low < 0.015 < high and high - low < 0.02
    assert StuckDevices.fit(64, [], []).interval("HRS") == pytest.approx((0.0, 0.0560), abs=1e-4)
    codes = stuck.sample_states(200_000, np.random.default_rng(8))
    assert np.mean(codes == STUCK_LRS) == pytest.approx(0.015, rel=0.05)
    assert np.mean(codes == STUCK_HRS) == pytest.approx(0.005, rel=0.1)
    g = stuck.sample_conductance(codes, np.random.default_rng(9))
    assert np.all(np.isnan(g[codes == WORKING])) and np.all(g[codes == STUCK_HRS] == 50e-6)
    with pytest.raises(AnalysisError, match="among 10 tried"):
        StuckDevices.fit(10, ["HRS"] * 11, [1e-6] * 11)


def test_level_bit_errors_match_the_normal_formula():
    rng = np.random.default_rng(10)
    means, sd = np.array([50e-6, 60e-6, 70e-6]), 3e-6
    levels = np.repeat([0, 1, 2], 20_000)
    achieved = means[levels] + sd * rng.standard_normal(levels.size)
    fit = MultilevelLevels.fit(levels, achieved, low_s=means[levels] - 4e-6, high_s=means[levels] + 4e-6)
    expected = stats.norm.sf(5e-6 / sd)  # threshold halfway: 5 uS from each mean
    for row in fit.bit_errors():
        assert row["threshold_s"] == pytest.approx(means[row["lower_level"]] + 5e-6)
        assert row["normal_error"] == pytest.approx(expected, rel=0.05)
        assert row["measured_error"] == pytest.approx(expected, rel=0.15)
    pair = fit.pair_bit_error(0, 1)
    assert pair["normal"] == pytest.approx(stats.norm.cdf(-10e-6 / np.hypot(sd, sd)), rel=0.05)
    assert pair["sampled"] == pytest.approx(pair["normal"], abs=5e-4)
    assert list(fit.nearest(np.array([49e-6, 64e-6, 66e-6, 90e-6]))) == [0, 1, 2, 2]


def test_read_noise_rel_and_floor_are_recovered_from_read_pairs():
    rng = np.random.default_rng(11)
    g = rng.uniform(10e-6, 500e-6, 50_000)
    sd = np.sqrt((0.01 * g) ** 2 + 0.5e-6**2)
    pairs = ReadPairs(
        g + sd * rng.standard_normal(g.size),
        g + sd * rng.standard_normal(g.size),
        np.full(g.size, 1e-3),
        np.zeros(g.size, dtype=np.int64),
    )
    noise = ReadNoise.fit(pairs)
    assert noise.rel == pytest.approx(0.01, rel=0.05)
    assert noise.floor_s == pytest.approx(0.5e-6, rel=0.2)
    with pytest.raises(AnalysisError, match="at most 1e-06 s apart"):
        ReadNoise.fit(pairs, max_interval_s=1e-6)
