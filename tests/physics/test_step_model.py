"""The general step model: state shape, spread across the window, polarity memory; relaxation options."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from labrram.errors import ConfigError
from labrram.physics import TIO2_PASSIVE_8X8
from tests.helpers import at_fraction, population_array, quiet

ALL = slice(None)
TINY_PULSE_S = 1e-12  # the step is then the local slope: drive x width, times the state factor
UNIFORM = {  # every device alike and every pulse alike: the step shows the state factor alone
    "set_c2c": 0.0,
    "reset_c2c": 0.0,
    "set_rate_d2d": 0.0,
    "reset_rate_d2d": 0.0,
    "set_threshold_d2d_v": 0.0,
    "reset_threshold_d2d_v": 0.0,
    "window_d2d": 0.0,
    "relaxation_spread_s": 0.0,
    "relaxation_drift_s": 0.0,
}


def steps_at(parameters, fraction: float, amplitude_v: float, size: int = 64) -> np.ndarray:
    array = population_array(parameters, size)
    at_fraction(array, fraction)
    before = array.conductance_s().ravel()
    array.apply_voltage(ALL, amplitude_v, TINY_PULSE_S)
    return array.conductance_s().ravel() - before


@pytest.mark.parametrize(("exponent", "growth"), [(1.0, 0.0), (2.0, 0.0), (0.5, 1.5), (1.0, 3.0)])
def test_set_step_follows_the_state_shape_formula(exponent, growth):
    ratio = 0.3
    parameters = quiet(
        TIO2_PASSIVE_8X8.parameters,
        set_step_ratio=ratio,
        set_state_exponent=exponent,
        set_state_growth=growth,
        **UNIFORM,
    )
    at_start = steps_at(parameters, 0.0, 1.5).mean()
    for x in (0.25, 0.5, 0.9):
        # u = 1 - x (1 - r) of the way to the bound is left; the step goes as u^exponent exp(growth x).
        expected = (1 - x * (1 - ratio)) ** exponent * np.exp(growth * x)
        assert steps_at(parameters, x, 1.5).mean() / at_start == pytest.approx(expected, rel=1e-3)


def test_growth_makes_the_set_step_rise_with_conductance_as_real_devices_do():
    parameters = quiet(TIO2_PASSIVE_8X8.parameters, set_state_growth=2.0, **UNIFORM)
    low, high = (steps_at(parameters, x, 1.5).mean() for x in (0.1, 0.8))
    assert high > 1.5 * low


def test_reset_step_shape_counts_progress_from_the_top_of_the_window():
    ratio = 0.3
    parameters = quiet(
        TIO2_PASSIVE_8X8.parameters, reset_step_ratio=ratio, reset_state_exponent=3.0, **UNIFORM
    )
    at_top = steps_at(parameters, 1.0, -1.8).mean()
    at_low = steps_at(parameters, 0.2, -1.8).mean()  # progress 0.8 from the top
    assert at_top < 0
    assert at_low / at_top == pytest.approx((1 - 0.8 * (1 - ratio)) ** 3, rel=1e-3)


def test_cycle_to_cycle_spread_scales_across_the_window():
    uniform = dict(UNIFORM, set_c2c=0.3)
    parameters = quiet(TIO2_PASSIVE_8X8.parameters, set_c2c_growth=1.2, **uniform)
    low = np.log(steps_at(parameters, 0.1, 1.5, size=8192)).std()
    high = np.log(steps_at(parameters, 0.8, 1.5, size=8192)).std()
    assert low == pytest.approx(0.3 * np.exp(1.2 * 0.1), rel=0.05)
    assert high == pytest.approx(0.3 * np.exp(1.2 * 0.8), rel=0.05)


def test_steps_after_a_polarity_reversal_recover_with_the_memory_length():
    depth, pulses = 0.6, 3.0
    parameters = quiet(
        TIO2_PASSIVE_8X8.parameters,
        polarity_memory_depth=depth,
        polarity_memory_pulses=pulses,
        **UNIFORM,
    )
    array = population_array(parameters, 16)
    at_fraction(array, 0.5)

    def step(amplitude_v: float) -> float:
        before = array.conductance_s().ravel()
        array.apply_voltage(ALL, amplitude_v, TINY_PULSE_S)
        return float((array.conductance_s().ravel() - before).mean())

    first_ever = step(1.5)
    steady = step(1.5)
    assert first_ever == pytest.approx(steady, rel=1e-6)  # no reversal behind a device's first pulse
    reset_steps = [step(-1.8) for _ in range(10)]
    reference = step(-1.8)  # the 11th: memory faded to exp(-10 / 3) of its depth
    expected = [(1 - depth * np.exp(-n / pulses)) / (1 - depth * np.exp(-10 / pulses)) for n in range(10)]
    np.testing.assert_allclose(np.array(reset_steps) / reference, expected, rtol=1e-4)
    assert step(1.5) / steady == pytest.approx(1 - depth, rel=1e-4)  # back to SET: a reversal again


def test_a_soft_onset_lets_devices_creep_below_threshold_and_nothing_beyond_its_reach():
    fraction, slope_v = 0.3, 0.05
    parameters = quiet(
        TIO2_PASSIVE_8X8.parameters, subthreshold_fraction=fraction, subthreshold_slope_v=slope_v, **UNIFORM
    )
    threshold_v = parameters.set_threshold_v
    below = steps_at(parameters, 0.5, threshold_v - 0.05).mean()
    further = steps_at(parameters, 0.5, threshold_v - 0.15).mean()
    assert below / further == pytest.approx(np.exp(0.10 / slope_v), rel=1e-3)  # exp(od / slope) below
    under, over = (steps_at(parameters, 0.5, threshold_v + d).mean() for d in (-1e-7, 1e-7))
    assert over == pytest.approx(under, rel=1e-3)  # continuous through the threshold
    assert np.all(steps_at(parameters, 0.5, 0.49 * threshold_v) == 0)  # nothing below half the threshold
    hard = quiet(TIO2_PASSIVE_8X8.parameters, **UNIFORM)
    assert np.all(steps_at(hard, 0.5, threshold_v - 0.05) == 0)


def test_defaults_leave_the_exponential_approach_unchanged():
    plain = quiet(TIO2_PASSIVE_8X8.parameters)
    explicit = quiet(
        TIO2_PASSIVE_8X8.parameters,
        set_state_exponent=1.0,
        set_state_growth=0.0,
        polarity_memory_depth=0.0,
        relaxation_level_flatness=0.0,
    )
    assert plain == explicit
    np.testing.assert_array_equal(steps_at(plain, 0.3, 1.5, 256), steps_at(explicit, 0.3, 1.5, 256))


def relaxation_change(parameters, fraction: float, size: int = 8192) -> np.ndarray:
    """Each device's conductance change from programming to age 0.4 of one unit of log-time (one step)."""
    array = population_array(parameters, size)
    at_fraction(array, fraction)
    before = array.conductance_s().ravel()
    t0_s = parameters.relaxation_t0_s
    array.advance(t0_s * np.expm1(0.4), parameters.reference_temperature_c)
    return array.conductance_s().ravel() - before


def test_flat_relaxation_spreads_every_level_alike():
    peaked = quiet(TIO2_PASSIVE_8X8.parameters, window_d2d=0.0, relaxation_drift_s=0.0)
    flat = quiet(peaked, relaxation_level_flatness=1.0)
    expected_sd = peaked.relaxation_spread_s * np.sqrt(0.4)
    for x in (0.05, 1 / 3, 0.9):
        assert relaxation_change(flat, x).std() == pytest.approx(expected_sd, rel=0.04)
    assert relaxation_change(peaked, 0.9).std() < 0.2 * expected_sd  # (27/4) 0.9 (0.1)^2 = 0.06


def test_the_relaxation_peak_can_sit_anywhere_with_any_sharpness():
    peak, sharpness = 0.2, 5.0
    parameters = quiet(
        TIO2_PASSIVE_8X8.parameters,
        window_d2d=0.0,
        relaxation_drift_s=0.0,
        relaxation_level_peak=peak,
        relaxation_level_sharpness=sharpness,
    )
    at_peak = relaxation_change(parameters, peak).std()
    assert at_peak == pytest.approx(parameters.relaxation_spread_s * np.sqrt(0.4), rel=0.04)
    a, b = peak * sharpness, (1 - peak) * sharpness
    for x in (0.05, 0.5):
        expected = x**a * (1 - x) ** b / (peak**a * (1 - peak) ** b)
        assert relaxation_change(parameters, x).std() / at_peak == pytest.approx(expected, rel=0.06)


def test_tilted_drift_can_be_positive_at_low_conductance():
    parameters = quiet(
        TIO2_PASSIVE_8X8.parameters,
        window_d2d=0.0,
        relaxation_level_flatness=1.0,
        relaxation_drift_s=-1e-6,
        relaxation_drift_tilt_s=-6e-6,
    )
    for x in (0.05, 0.9):
        expected = (-1e-6 - 6e-6 * (x - 1 / 3)) * 0.4  # drift per unit log-time, times 0.4 of it
        change = relaxation_change(parameters, x)
        assert change.mean() == pytest.approx(expected, abs=4 * change.std() / np.sqrt(change.size))
    assert relaxation_change(parameters, 0.05).mean() > 0


def test_heavy_tailed_increments_are_student_t_with_unit_variance():
    dof = 5.0
    parameters = quiet(
        TIO2_PASSIVE_8X8.parameters,
        window_d2d=0.0,
        relaxation_level_flatness=1.0,
        relaxation_drift_s=0.0,
        relaxation_tail_dof=dof,
    )
    standardized = relaxation_change(parameters, 0.5, 20000) / (parameters.relaxation_spread_s * np.sqrt(0.4))
    scaled_t = stats.t(dof, scale=np.sqrt((dof - 2) / dof))
    assert stats.kstest(standardized, scaled_t.cdf).pvalue > 1e-3
    assert stats.kstest(standardized, stats.norm.cdf).pvalue < 1e-6  # and visibly not normal


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("set_state_exponent", 0.0),
        ("polarity_memory_depth", 1.5),
        ("polarity_memory_pulses", 0.0),
        ("relaxation_level_flatness", -0.1),
        ("relaxation_tail_dof", 1.5),
        ("relaxation_level_peak", 1.0),
        ("relaxation_level_sharpness", 0.0),
        ("subthreshold_slope_v", 0.0),
    ],
)
def test_out_of_range_step_and_relaxation_parameters_are_refused(name, value):
    with pytest.raises(ConfigError, match=name):
        TIO2_PASSIVE_8X8.parameters.with_overrides({name: value})
