"""`labrram fit --part relaxation`: the relaxation model recovered from the simulator it came from, and
fitted to Levy's tech B relaxation data."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labrram.analysis.fit_report import KS_ALPHA
from labrram.analysis.relaxation_model_fit import RetentionReads, fit_relaxation_model, tail_weight
from labrram.cli import main
from labrram.errors import AnalysisError
from labrram.physics import HFO2_1T1R, TIO2_PASSIVE_8X8
from tests.helpers import population_array, quiet

TRUTH = {
    "relaxation_t0_s": 5e-3,
    "relaxation_spread_s": 3e-6,
    "relaxation_level_flatness": 0.1,
    "relaxation_level_peak": 0.25,
    "relaxation_level_sharpness": 5.0,
    "relaxation_drift_s": -0.4e-6,
    "relaxation_drift_tilt_s": 0.6e-6,
    "relaxation_tail_dof": 4.0,
}
TIMES_S = (0.01, 0.1, 1.0, 10.0, 100.0, 1e3, 1e4)
LEVY_B = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "levy-rram-relaxation" / "techB_relaxation.csv"
)


def retention_reads(parameters, devices: int = 3000, seed: int = 0) -> RetentionReads:
    """Devices programmed across the window, read right after and at TIMES_S."""
    array = population_array(parameters, devices, seed)
    rng = np.random.default_rng(seed + 1)
    array.set_conductance_s(rng.uniform(parameters.g_min_s, parameters.g_max_s, (1, devices)))
    every = slice(None)
    device, elapsed, conductance = [], [], []
    now = 0.0
    for time_s in (0.0, *TIMES_S):
        array.advance(time_s - now, parameters.reference_temperature_c)
        now = time_s
        device.append(np.arange(devices))
        elapsed.append(np.full(devices, time_s))
        conductance.append(array.measure_cell_currents(every, 0.2) / 0.2)
    return RetentionReads.from_reads(
        np.concatenate(device), np.concatenate(elapsed), np.concatenate(conductance)
    )


@pytest.fixture(scope="module")
def truth():
    parameters = quiet(HFO2_1T1R.parameters, read_noise_rel=0.001, read_noise_floor_a=1e-9, **TRUTH)
    fit = fit_relaxation_model(
        retention_reads(parameters), dataclasses.replace(HFO2_1T1R, parameters=parameters), "truth", rounds=10
    )
    return parameters, fit


def test_fit_recovers_the_relaxation_it_was_simulated_with(truth):
    _, fit = truth
    fitted = fit.overrides
    assert fitted["relaxation_t0_s"] == pytest.approx(5e-3, rel=0.6)  # a grid of 8 points per decade
    assert fitted["relaxation_spread_s"] == pytest.approx(3e-6, rel=0.12)
    assert fitted["relaxation_level_peak"] == pytest.approx(0.25, abs=0.05)
    assert fitted["relaxation_level_sharpness"] == pytest.approx(5.0, rel=0.35)
    assert fitted["relaxation_level_flatness"] == pytest.approx(0.1, abs=0.08)
    assert fitted["relaxation_drift_s"] == pytest.approx(-0.4e-6, abs=0.15e-6)
    assert fitted["relaxation_drift_tilt_s"] == pytest.approx(0.6e-6, abs=0.4e-6)
    assert 3.0 <= fitted["relaxation_tail_dof"] <= 6.0
    assert fit.check is not None and fit.check.p_value > KS_ALPHA


def test_tail_weight_tells_student_t_from_normal():
    rng = np.random.default_rng(0)
    assert tail_weight(rng.standard_normal(200_000)) == pytest.approx(3.45, rel=0.02)
    assert tail_weight(rng.standard_t(3.0, 200_000)) > 4.0


def test_too_few_reads_are_refused():
    parameters = quiet(TIO2_PASSIVE_8X8.parameters)
    reads = retention_reads(parameters, devices=12)
    with pytest.raises(AnalysisError, match="groups"):
        fit_relaxation_model(reads, TIO2_PASSIVE_8X8, "few", rounds=0)


@pytest.mark.skipif(
    not LEVY_B.exists(), reason="../shared/data/levy-rram-relaxation is not beside the checkout"
)
def test_levy_tech_b_relaxation_peaks_near_a_third_of_the_window_more_sharply_than_the_preset():
    frame = pd.read_csv(LEVY_B)
    reads = RetentionReads.from_reads(
        frame["addr"].to_numpy(), frame["time_s"].to_numpy(), frame["g_S"].to_numpy()
    )
    fit = fit_relaxation_model(reads, HFO2_1T1R, "Levy tech B", window_s=(0.0, 128e-6), rounds=0)
    fitted = fit.overrides
    assert 0.25 < fitted["relaxation_level_peak"] < 0.4
    assert fitted["relaxation_level_sharpness"] > 4.0  # falls off faster than (27/4) x (1 - x)^2
    assert fitted["relaxation_tail_dof"] <= 3.0  # heavy tails
    widest = max(fit.tables["spread"], key=lambda row: row["measured_sd_s"] if row["time_s"] > 5e3 else 0)
    assert widest["fitted_sd_s"] == pytest.approx(widest["measured_sd_s"], rel=0.2)
    # The lowest level spreads far more than the peaked shape allows: the held-out check says so.
    assert fit.check.p_value <= KS_ALPHA


@pytest.mark.skipif(
    not LEVY_B.exists(), reason="../shared/data/levy-rram-relaxation is not beside the checkout"
)
def test_fit_relaxation_from_the_command_line(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'levy.db'}"
    assert main(["db", "import", str(LEVY_B), "--format", "levy-relaxation", "--database", url]) == 0
    out = tmp_path / "relaxation.toml"
    command = ["fit", "--preset", "hfo2-1t1r", "--part", "relaxation", "--window", "0,128e-6"]
    assert main([*command, "--database", url, "--out", str(out), "--bootstrap", "3"]) == 0
    assert "hfo2-1t1r@1 (relaxation) fitted to 4000 devices" in capsys.readouterr().out
    assert "relaxation_level_sharpness" in out.read_text()
