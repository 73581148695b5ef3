"""`labrram fit --part read-noise`: white and 1/f read noise recovered from simulated read series, and
fitted to Levy's tech A 400 Hz series."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import numpy as np
import pytest

from labrram.analysis.fit_report import KS_ALPHA
from labrram.analysis.read_noise_model_fit import ReadSeries, fit_read_noise_model
from labrram.cli import main
from labrram.errors import AnalysisError
from labrram.physics import HFO2_1T1R
from tests.helpers import population_array, quiet

RATE_HZ = 400.0
TRUTH = {
    "read_noise_rel": 0.005,
    "read_noise_floor_a": 2e-8,  # 0.1 uS at 0.2 V
    "read_noise_floor_integration_s": 1 / RATE_HZ,
    "read_noise_flicker": 0.004,
    "relaxation_spread_s": 0.0,
    "relaxation_drift_s": 0.0,
}
LEVY_A = Path(__file__).resolve().parents[3] / "shared" / "data" / "levy-rram-relaxation"
LEVY_A_SERIES = LEVY_A / "techA_read_noise_timeseries.csv"


def read_series(parameters, devices: int = 20, reads: int = 2048) -> ReadSeries:
    """Devices spread over the window, each read ``reads`` times at RATE_HZ, integrating each interval."""
    array = population_array(parameters, devices)
    array.set_conductance_s(np.linspace(30e-6, 240e-6, devices).reshape(1, -1))
    values = np.empty((reads, devices))
    for k in range(reads):
        array.advance(1 / RATE_HZ, parameters.reference_temperature_c)
        values[k] = array.measure_cell_currents(slice(None), 0.2, 1 / RATE_HZ) / 0.2
    keys = np.repeat(np.arange(devices).astype(str)[None, :], reads, axis=0)
    times = np.repeat((np.arange(reads) / RATE_HZ)[:, None], devices, axis=1)
    return ReadSeries.from_reads(keys.ravel(), times.ravel(), values.ravel(), {})


def test_fit_recovers_white_and_flicker_noise_it_was_simulated_with():
    parameters = quiet(HFO2_1T1R.parameters, **TRUTH)
    preset = dataclasses.replace(HFO2_1T1R, parameters=parameters)
    fit = fit_read_noise_model(read_series(parameters), preset, "truth", rounds=20)
    assert fit.overrides["read_noise_flicker"] == pytest.approx(0.004, rel=0.25)
    assert fit.overrides["read_noise_rel"] == pytest.approx(0.005, rel=0.2)
    assert fit.overrides["read_noise_floor_a"] == pytest.approx(2e-8, rel=0.5)
    assert fit.check is not None and fit.check.p_value > KS_ALPHA
    assert fit.overrides["read_noise_flicker_exponent"] == pytest.approx(0.0, abs=0.25)  # as simulated


def test_fit_recovers_a_flicker_level_that_falls_with_conductance():
    truth = dict(TRUTH, read_noise_flicker_exponent=-0.8, read_noise_flicker_reference_s=100e-6)
    parameters = quiet(HFO2_1T1R.parameters, **truth)
    preset = dataclasses.replace(HFO2_1T1R, parameters=parameters)
    fit = fit_read_noise_model(read_series(parameters), preset, "falling", rounds=20)
    assert fit.overrides["read_noise_flicker_exponent"] == pytest.approx(-0.8, abs=0.2)
    assert fit.overrides["read_noise_flicker"] == pytest.approx(0.004, rel=0.25)
    _, low, high = fit.uncertainty["read_noise_flicker_exponent"]
    assert low < -0.8 < high
    assert fit.check is not None and fit.check.p_value > KS_ALPHA


def test_white_noise_alone_gives_no_flicker_and_a_flat_spectrum():
    parameters = quiet(HFO2_1T1R.parameters, **dict(TRUTH, read_noise_flicker=0.0))
    preset = dataclasses.replace(HFO2_1T1R, parameters=parameters)
    fit = fit_read_noise_model(read_series(parameters, devices=10), preset, "white", rounds=0)
    assert fit.overrides["read_noise_flicker"] < 0.0005
    slopes = [row["spectral_slope"] for row in fit.tables["series"]]
    assert np.median(slopes) == pytest.approx(0.0, abs=0.15)


def test_series_shorter_than_a_spectrum_needs_are_refused():
    with pytest.raises(AnalysisError, match="series"):
        ReadSeries.from_reads(np.zeros(100).astype(str), np.arange(100.0), np.full(100, 1e-4), {})


@pytest.mark.skipif(
    not LEVY_A_SERIES.exists(), reason="../shared/data/levy-rram-relaxation is not beside the checkout"
)
def test_levy_tech_a_series_from_the_command_line(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'noise.db'}"
    assert main(["db", "import", str(LEVY_A_SERIES), "--format", "levy-noise", "--database", url]) == 0
    out = tmp_path / "noise.toml"
    command = ["fit", "--preset", "hfo2-1t1r", "--part", "read-noise", "--database", url]
    assert main([*command, "--out", str(out), "--bootstrap", "10"]) == 0
    printed = capsys.readouterr().out
    assert "(read-noise) fitted to 5 devices" in printed
    # Levy tech A: 1/f-like spectra whose relative level falls with G.
    written = tomllib.loads(out.read_text())
    assert -1.2 < written["sample"]["overrides"]["read_noise_flicker_exponent"] < -0.5
