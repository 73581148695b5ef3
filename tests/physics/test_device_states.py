"""Forming, stuck devices, endurance wear-out, read noise and seeded reproducibility."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from labrram.errors import ConfigError
from labrram.physics import HFO2_1T1R, TIO2_PASSIVE_8X8, ArrayKind, CrossbarArray
from tests.helpers import at_fraction, population_array, quiet

ALL = slice(None)


def test_virgin_devices_switch_only_after_forming():
    parameters = quiet(HFO2_1T1R.parameters, virgin_fraction=1.0)
    array = population_array(parameters, 500)
    virgin_g = parameters.virgin_conductance_s
    array.apply_voltage(ALL, 2.0, 1e-6, 100e-6)  # SET-level pulse, below every forming voltage
    array.apply_voltage(ALL, -2.0, 1e-6)
    np.testing.assert_allclose(array.conductance_s(), virgin_g)
    array.apply_voltage(ALL, 3.5, 1e-6, 100e-6)  # above every forming voltage
    formed = array.conductance_s()
    assert np.all(formed > 100 * virgin_g)
    assert np.median(formed) == pytest.approx(100e-6 / parameters.compliance_hold_v, rel=0.1)
    array.apply_voltage(ALL, -2.0, 1e-6)
    assert np.all(array.conductance_s() < formed)  # formed devices now RESET


def test_stuck_devices_never_move_and_come_in_the_configured_shares():
    parameters = dataclasses.replace(
        quiet(TIO2_PASSIVE_8X8.parameters), stuck_hrs_fraction=0.05, stuck_lrs_fraction=0.03
    )
    array = population_array(parameters, 20000)
    stuck = array.stuck_map().ravel()
    assert np.mean(stuck == 1) == pytest.approx(0.05, abs=0.006)
    assert np.mean(stuck == 2) == pytest.approx(0.03, abs=0.005)
    before = array.conductance_s().ravel()
    for amplitude in (2.0, -2.4, 2.0):
        array.apply_voltage(ALL, amplitude, 1e-6)
    after = array.conductance_s().ravel()
    np.testing.assert_array_equal(after[stuck != 0], before[stuck != 0])
    hrs = before[stuck == 1]
    assert hrs.min() >= 10e-6 and hrs.max() <= 100e-6
    assert before[stuck == 2].mean() == pytest.approx(573e-6, rel=0.03)


def test_devices_wear_out_after_their_endurance_and_stick():
    parameters = quiet(TIO2_PASSIVE_8X8.parameters, endurance_cycles=20.0, endurance_d2d=0.0)
    array = population_array(parameters, 50)
    for _ in range(19):
        array.apply_voltage(ALL, 2.0, 1e-6)
        array.apply_voltage(ALL, -2.4, 1e-6)
    assert np.all(array.stuck_map() == 0)
    for _ in range(3):
        array.apply_voltage(ALL, 2.0, 1e-6)
        array.apply_voltage(ALL, -2.4, 1e-6)
    assert np.all(array.stuck_map() != 0)
    frozen = array.conductance_s()
    array.apply_voltage(ALL, 2.0, 1e-6)
    np.testing.assert_array_equal(array.conductance_s(), frozen)


def one_noisy_device(**noise: float):
    """A single device in mid-window with 1 % device noise and the given floor; its true read current."""
    parameters = quiet(
        TIO2_PASSIVE_8X8.parameters,
        read_noise_rel=0.01,
        relaxation_spread_s=0.0,
        relaxation_drift_s=0.0,
        **noise,
    )
    array = population_array(parameters, 1)
    at_fraction(array, 0.5)
    return array, array.cell_currents(np.array([0]), 0.2)[0]


def test_read_noise_is_proportional_with_a_floor():
    array, true_current = one_noisy_device(read_noise_floor_a=1e-8)
    reads = np.array([array.measure_line_current(np.array([0]), 0.2) for _ in range(4000)])
    expected_sd = np.hypot(0.01 * true_current, 1e-8)
    assert reads.mean() == pytest.approx(true_current, rel=2e-3)
    assert reads.std() == pytest.approx(expected_sd, rel=0.06)


def test_the_instrument_floor_averages_down_with_integration_time_and_the_device_noise_does_not():
    array, true_current = one_noisy_device(read_noise_floor_a=1e-6, read_noise_floor_integration_s=10e-6)
    for integration_s, floor_a in ((10e-6, 1e-6), (1e-3, 1e-7)):
        reads = np.array([array.measure_line_current(np.array([0]), 0.2, integration_s) for _ in range(4000)])
        assert reads.std() == pytest.approx(np.hypot(0.01 * true_current, floor_a), rel=0.06)


def chip_after_pulses(seed: int) -> np.ndarray:
    array = CrossbarArray(TIO2_PASSIVE_8X8.parameters, 8, 8, ArrayKind.PASSIVE, np.random.default_rng(seed))
    for amplitude in (1.5, -1.8, 2.0):
        array.apply_voltage(ALL, amplitude, 200e-9)
    return array.conductance_s()


def test_seeded_runs_are_reproducible():
    np.testing.assert_array_equal(chip_after_pulses(3), chip_after_pulses(3))
    assert not np.array_equal(chip_after_pulses(3), chip_after_pulses(4))


def test_bad_override_names_the_parameter():
    with pytest.raises(ConfigError, match=r"sample\.overrides\.set_step_ratio"):
        TIO2_PASSIVE_8X8.parameters.with_overrides({"set_step_ratio": 1.5}, "sample.overrides.")
    with pytest.raises(ConfigError, match="g_min_s"):
        TIO2_PASSIVE_8X8.parameters.with_overrides({"g_min_s": 1e-3})
