"""SET/RESET physics: amplitude and width dependence, bounds, asymmetry, compliance, spreads."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labrram.physics import HFO2_1T1R, TIO2_PASSIVE_8X8
from tests.helpers import at_fraction, population_array, quiet

ALL = slice(None)


def mean_step(parameters, amplitude_v: float, width_s: float = 200e-9, start: float = 0.5) -> float:
    array = population_array(parameters)
    at_fraction(array, start)
    before = array.conductance_s()
    array.apply_voltage(ALL, amplitude_v, width_s)
    return float((array.conductance_s() - before).mean())


def test_mean_set_step_grows_with_amplitude_above_threshold():
    parameters = quiet(TIO2_PASSIVE_8X8.parameters, relaxation_spread_s=0.0)
    steps = [mean_step(parameters, v) for v in (0.3, 0.8, 1.2, 1.6, 2.0)]
    assert steps[0] == pytest.approx(0.0, abs=1e-9)  # below every threshold: nothing moves
    assert all(b > a > 0 for a, b in itertools.pairwise(steps[1:]))


def test_mean_reset_step_grows_with_amplitude():
    parameters = quiet(TIO2_PASSIVE_8X8.parameters, relaxation_spread_s=0.0)
    steps = [mean_step(parameters, v) for v in (-1.1, -1.6, -2.0, -2.4)]
    assert all(b < a < 0 for a, b in itertools.pairwise(steps))


def test_longer_pulse_is_exactly_two_shorter_ones_without_noise():
    parameters = quiet(
        TIO2_PASSIVE_8X8.parameters, set_c2c=0.0, relaxation_spread_s=0.0, relaxation_drift_s=0.0
    )
    once, twice = population_array(parameters, 256), population_array(parameters, 256)
    once.apply_voltage(ALL, 1.5, 400e-9)
    twice.apply_voltage(ALL, 1.5, 200e-9)
    twice.apply_voltage(ALL, 1.5, 200e-9)
    np.testing.assert_allclose(once.conductance_s(), twice.conductance_s(), rtol=1e-12)


def test_step_shrinks_toward_the_window_edge_by_the_configured_ratio():
    parameters = quiet(
        TIO2_PASSIVE_8X8.parameters,
        set_c2c=0.0,
        set_rate_d2d=0.0,
        set_threshold_d2d_v=0.0,
        window_d2d=0.0,
        relaxation_spread_s=0.0,
        relaxation_drift_s=0.0,
        set_step_ratio=0.25,
    )
    tiny_pulse_s = 1e-12  # small enough for the step to be the local slope
    at_min = mean_step(parameters, 1.5, tiny_pulse_s, start=0.0)
    at_nine_tenths = mean_step(parameters, 1.5, tiny_pulse_s, start=0.9)
    # The step falls linearly across the window, to 0.25 of its start at the far edge.
    assert at_nine_tenths / at_min == pytest.approx(1 - 0.9 * (1 - 0.25), rel=1e-3)


def test_reset_to_set_asymmetry_follows_the_rate_ratio():
    parameters = quiet(
        TIO2_PASSIVE_8X8.parameters,
        set_threshold_v=0.5,
        reset_threshold_v=0.5,
        set_slope_v=0.25,
        reset_slope_v=0.25,
        set_step_ratio=0.3,
        reset_step_ratio=0.3,
        set_rate_per_s=1000.0,
        reset_rate_per_s=3000.0,
        set_rate_d2d=0.0,
        reset_rate_d2d=0.0,
        relaxation_spread_s=0.0,
        relaxation_drift_s=0.0,
    )
    tiny_pulse_s = 1e-12
    up = mean_step(parameters, 1.5, tiny_pulse_s)
    down = mean_step(parameters, -1.5, tiny_pulse_s)
    assert -down / up == pytest.approx(3.0, rel=0.05)


@given(
    amplitudes=st.lists(st.floats(-3.0, 3.0), min_size=1, max_size=30),
    width_s=st.floats(1e-9, 1e-3),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=60, deadline=None)
def test_conductance_stays_inside_each_devices_window(amplitudes, width_s, seed):
    parameters = quiet(TIO2_PASSIVE_8X8.parameters, relaxation_spread_s=0.0)
    array = population_array(parameters, 64, seed)
    at_fraction(array, 0.5)
    pop = array.population
    for amplitude in amplitudes:
        array.apply_voltage(ALL, amplitude, width_s)
        g = array.conductance_s().ravel()
        assert np.all(g >= pop.g_min_s * (1 - 1e-12))
        assert np.all(g <= pop.g_max_s * (1 + 1e-12))


def test_device_to_device_window_spread_is_as_configured():
    parameters = quiet(TIO2_PASSIVE_8X8.parameters, window_d2d=0.1)
    pop = population_array(parameters, 20000).population
    assert np.log(pop.g_max_s).std() == pytest.approx(0.1, rel=0.05)
    assert pop.g_max_s.mean() == pytest.approx(500e-6, rel=0.01)


def test_threshold_spread_is_as_configured():
    parameters = quiet(TIO2_PASSIVE_8X8.parameters, set_threshold_d2d_v=0.05)
    pop = population_array(parameters, 20000).population
    assert pop.set_threshold_v.std() == pytest.approx(0.05, rel=0.05)


def test_compliance_sets_the_final_conductance_of_a_set():
    parameters = quiet(HFO2_1T1R.parameters, relaxation_spread_s=0.0, relaxation_drift_s=0.0)
    finals = []
    for compliance_a in (20e-6, 40e-6, 60e-6, 80e-6):
        array = population_array(parameters, 2000)
        at_fraction(array, 0.0)
        for _ in range(5):
            array.apply_voltage(ALL, 1.5, 1e-6, compliance_a)
        finals.append(np.median(array.conductance_s()))
        assert finals[-1] == pytest.approx(compliance_a / parameters.compliance_hold_v, rel=0.1)
    assert np.all(np.diff(finals) > 0)


def test_pulse_current_is_limited_by_compliance():
    array = population_array(quiet(HFO2_1T1R.parameters), 100)
    at_fraction(array, 1.0)
    currents = array.apply_voltage(ALL, 2.0, 1e-6, compliance_a=50e-6)
    assert np.all(np.abs(currents) <= 50e-6)


def test_weak_reset_is_gradual_noisy_and_device_dependent():
    """Seed 001: HfO2 weak RESET tunes conductance progressively, with strong D2D variability."""
    parameters = quiet(HFO2_1T1R.parameters, relaxation_spread_s=0.0, relaxation_drift_s=0.0)
    array = population_array(parameters, 2000)
    at_fraction(array, 0.9)
    trace = [array.conductance_s().ravel()]
    for _ in range(30):
        array.apply_voltage(ALL, -1.1, 1e-6)
        trace.append(array.conductance_s().ravel())
    trace = np.array(trace)
    window = array.population.window_s
    steps = -np.diff(trace, axis=0) / window
    assert np.all(steps >= 0)  # RESET only lowers conductance
    assert np.median(steps) < 0.05  # progressive: many small steps, no abrupt jump
    total = (trace[0] - trace[-1]) / window
    assert np.median(total) > 0.2  # but it does get somewhere in 30 pulses
    assert total.std() / total.mean() > 0.3  # devices differ a lot


NOISELESS = {"set_c2c": 0.0, "reset_c2c": 0.0, "relaxation_spread_s": 0.0, "relaxation_drift_s": 0.0}


def moved_fraction(parameters, amplitude_v: float, width_s: float, temperature_c: float | None = None):
    """Each device's move toward its bound, as a fraction of the way, from the middle of its window."""
    array = population_array(parameters, 512)
    if temperature_c is not None:
        array.temperature_c = temperature_c
    at_fraction(array, 0.5)
    before = array.conductance_s().ravel()
    array.apply_voltage(ALL, amplitude_v, width_s)
    bound = array.population.set_bound_s if amplitude_v > 0 else array.population.reset_bound_s
    return (array.conductance_s().ravel() - before) / (bound - before)


@pytest.mark.parametrize(("amplitude_v", "width_s"), [(2.5, 20e-9), (-2.4, 200e-9), (1.6, 1e-6)])
def test_no_device_switches_faster_than_the_switching_time_floor(amplitude_v, width_s):
    free = moved_fraction(quiet(TIO2_PASSIVE_8X8.parameters, **NOISELESS), amplitude_v, width_s)
    floor_s = -width_s / np.log1p(-np.median(free))  # the floor binds for the faster half
    floored = quiet(TIO2_PASSIVE_8X8.parameters, min_switching_time_s=floor_s, **NOISELESS)
    capped = moved_fraction(floored, amplitude_v, width_s)
    cap = -np.expm1(-width_s / floor_s)  # 1 - exp(-t / tau_min): the most a pulse can move a device
    np.testing.assert_allclose(capped, np.minimum(free, cap), rtol=1e-9, atol=1e-15)
    assert 0.3 < (free > cap).mean() < 0.7


def test_switching_speeds_up_with_temperature_by_its_activation_energy():
    activated = quiet(TIO2_PASSIVE_8X8.parameters, switching_activation_energy_ev=0.5, **NOISELESS)
    width_s = 1e-12  # short enough that the move is linear in the rate
    cold = moved_fraction(activated, 1.4, width_s, temperature_c=25.0)
    hot = moved_fraction(activated, 1.4, width_s, temperature_c=85.0)
    expected = np.exp(0.5 / 8.617333262e-5 * (1 / 298.15 - 1 / 358.15))  # Arrhenius, k in eV/K
    moving = cold > 0
    assert moving.sum() > 100
    np.testing.assert_allclose(hot[moving] / cold[moving], expected, rtol=1e-4)  # float cancellation
    plain = quiet(TIO2_PASSIVE_8X8.parameters, **NOISELESS)  # 0 eV: today's presets, no dependence
    np.testing.assert_allclose(
        moved_fraction(plain, 1.4, width_s, 85.0), moved_fraction(plain, 1.4, width_s, 25.0)
    )


def test_the_chip_sets_its_temperature_on_every_array():
    from labrram.physics.chip import SimulatedChip

    chip = SimulatedChip({"A": population_array(TIO2_PASSIVE_8X8.parameters, 4)}, temperature_c=60.0)
    assert chip.arrays["A"].temperature_c == 60.0
    chip.temperature_c = 120.0
    assert chip.arrays["A"].temperature_c == 120.0
