"""1/f and telegraph fluctuations: spectrum, averaging over reads and integration time, telegraph levels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import signal

from labrram.physics import TIO2_PASSIVE_8X8
from labrram.physics.fluctuations import averaging_factor
from tests.helpers import population_array, quiet

QUIET_READS = {  # nothing but the fluctuations moves a read
    "read_noise_rel": 0.0,
    "read_noise_floor_a": 0.0,
    "relaxation_spread_s": 0.0,
    "relaxation_drift_s": 0.0,
}
RATE_HZ = 400.0


def read_series(
    parameters, samples: int, devices: int = 16, interval_s: float = 1 / RATE_HZ, integration_s=None
):
    """Relative deviation of each device's reads from its conductance: samples x devices."""
    array = population_array(parameters, devices)
    g = array.conductance_s().ravel()
    series = np.empty((samples, devices))
    for k in range(samples):
        array.advance(interval_s, parameters.reference_temperature_c)
        series[k] = array.measure_cell_currents(slice(None), 0.2, integration_s) / (0.2 * g) - 1.0
    return series


def test_flicker_has_a_one_over_f_spectrum_of_the_configured_level():
    flicker = 0.01
    parameters = quiet(TIO2_PASSIVE_8X8.parameters, read_noise_flicker=flicker, **QUIET_READS)
    # Each read integrates over its whole interval, as a sampling instrument does (no aliasing).
    series = read_series(parameters, 8192, integration_s=1 / RATE_HZ)
    frequency, density = signal.welch(series, fs=RATE_HZ, nperseg=2048, axis=0)
    band = (frequency > 0.5) & (frequency < 100.0)
    mean_density = density[band].mean(axis=1)
    slope = np.polyfit(np.log10(frequency[band]), np.log10(mean_density), 1)[0]
    assert slope == pytest.approx(-1.0, abs=0.15)
    assert np.median(mean_density * frequency[band]) == pytest.approx(flicker**2, rel=0.35)


def test_repeated_reads_do_not_average_flicker_away_as_they_do_white_noise():
    def mean_of_ten_over_one(parameters) -> float:
        series = read_series(parameters, 2000, devices=64, interval_s=1e-3)
        means = series.reshape(200, 10, 64).mean(axis=1)
        return float(means.std() / series.std())

    white = quiet(TIO2_PASSIVE_8X8.parameters, **dict(QUIET_READS, read_noise_rel=0.01))
    flicker = quiet(TIO2_PASSIVE_8X8.parameters, read_noise_flicker=0.01, **QUIET_READS)
    assert mean_of_ten_over_one(white) == pytest.approx(1 / math.sqrt(10), rel=0.1)
    assert mean_of_ten_over_one(flicker) > 0.8


def test_a_longer_integration_lowers_flicker_only_logarithmically():
    parameters = quiet(TIO2_PASSIVE_8X8.parameters, read_noise_flicker=0.01, **QUIET_READS)
    short = read_series(parameters, 400, devices=64, interval_s=10.0, integration_s=1e-6).std()
    long = read_series(parameters, 400, devices=64, interval_s=10.0, integration_s=1.0).std()
    assert 0.5 < long / short < 0.95  # white noise would fall by sqrt(1e6) = 1000


def test_telegraph_devices_sit_on_two_levels_and_flip_at_their_rate():
    rate_per_s, interval_s = 2.0, 0.01
    parameters = quiet(
        TIO2_PASSIVE_8X8.parameters,
        read_noise_rtn_fraction=1.0,
        read_noise_rtn_amplitude=0.05,
        read_noise_rtn_rate_per_s=rate_per_s,
        **QUIET_READS,
    )
    array = population_array(parameters, 256)
    fluctuations = array._fluctuations
    fluctuations.rtn_rate_per_s[:] = rate_per_s  # one rate for every device: the flip share is one number
    g = array.conductance_s().ravel()
    levels = []
    for _ in range(2000):
        array.advance(interval_s, 25.0)
        levels.append(array.measure_cell_currents(slice(None), 0.2) / (0.2 * g) - 1.0)
    levels = np.array(levels)
    half = 0.5 * fluctuations.rtn_amplitude
    np.testing.assert_allclose(np.abs(levels), np.broadcast_to(half, levels.shape), rtol=1e-9)
    flips = np.mean(np.sign(levels[1:]) != np.sign(levels[:-1]))
    assert flips == pytest.approx(0.5 * (1 - math.exp(-2 * rate_per_s * interval_s)), rel=0.1)


def test_fluctuations_are_off_in_the_presets_and_draw_nothing():
    array = population_array(TIO2_PASSIVE_8X8.parameters, 8)
    assert array._fluctuations is None


@given(st.floats(1e-9, 1e3), st.floats(1e-6, 1e2))
def test_averaging_factor_falls_from_one_with_the_window_and_never_below_the_long_window_limit(
    integration_s, tau_s
):
    factor = float(averaging_factor(integration_s, np.array([tau_s]))[0])
    assert 0 < factor <= 1
    assert factor >= float(averaging_factor(integration_s * 2, np.array([tau_s]))[0])
    u = integration_s / tau_s
    if u > 100:
        assert factor == pytest.approx(math.sqrt(2 / u), rel=0.02)


def test_flicker_level_follows_conductance_by_its_exponent():
    parameters = quiet(
        TIO2_PASSIVE_8X8.parameters,
        read_noise_flicker=0.01,
        read_noise_flicker_exponent=-0.5,
        read_noise_flicker_reference_s=100e-6,
        **QUIET_READS,
    )
    array = population_array(parameters, 64)
    g_s = np.repeat([50e-6, 200e-6], 32)
    array.set_conductance_s(g_s.reshape(1, -1))
    deviation = np.empty((200, 64))
    for k in range(200):  # reads far apart: every fluctuator decorrelated between them
        array.advance(1e4, parameters.reference_temperature_c)
        deviation[k] = array.measure_cell_currents(slice(None), 0.2) / (0.2 * g_s) - 1.0
    low, high = deviation[:, :32].std(), deviation[:, 32:].std()
    # Hooge-like: four times the conductance, half the relative 1/f level; 100 uS sits at the level given.
    assert high / low == pytest.approx(4**-0.5, rel=0.15)
    assert math.sqrt(low * high) == pytest.approx(0.01 * math.sqrt(math.log(10) * 9), rel=0.2)
