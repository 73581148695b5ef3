"""`labrram fit`'s step-model estimates: recovered from the simulator they came from, checked on held-out
devices, flagged where the model cannot follow, and written as overrides a bench file takes."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labrram.analysis.crosssim_responses import crosssim_responses
from labrram.analysis.fit_report import KS_ALPHA
from labrram.analysis.responses import PULSE_KINDS, PulseResponses
from labrram.analysis.step_estimates import Window
from labrram.analysis.step_model_fit import fit_step_model, held_out_checks
from labrram.config import load_config
from labrram.errors import AnalysisError, ConfigError
from labrram.physics import TIO2_PASSIVE_8X8
from tests.helpers import population_array, quiet

TRUTH = {
    "set_state_exponent": 1.8,
    "set_state_growth": 1.2,
    "set_c2c": 0.3,
    "set_c2c_growth": 0.8,
    "reset_state_exponent": 1.4,
    "reset_state_growth": 0.5,
    "reset_c2c": 0.35,
    "reset_c2c_growth": 0.0,
    "polarity_memory_depth": 0.5,
    "polarity_memory_pulses": 3.0,
    "set_rate_d2d": 0.3,
    "reset_rate_d2d": 0.3,
    "set_threshold_d2d_v": 0.0,
    "reset_threshold_d2d_v": 0.0,
}
WIDTH_S = 500e-9
TAOX = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "crosssim-lookup-tables" / "TaOx_all_subsampled"
)


def pulse_trains(
    parameters, devices: int = 120, cycles: int = 4, count: int = 30, seed: int = 0
) -> PulseResponses:
    """SET then RESET trains of identical pulses, a read after each, devices at 1.3, 1.4 and 1.5 V."""
    array = population_array(parameters, devices, seed)
    every = slice(None)
    amplitudes = np.array([1.3, 1.4, 1.5])[np.arange(devices) % 3]
    for _ in range(40):
        array.apply_voltage(every, -2.2, WIDTH_S)
    read = array.measure_cell_currents(every, 0.2) / 0.2
    columns: dict[str, list[np.ndarray]] = {"g": [], "delta": [], "kind": [], "amplitude": [], "since": []}
    for _ in range(cycles):
        for kind, voltage in (("SET", amplitudes), ("RESET", -amplitudes - 0.1)):
            for n in range(1, count + 1):
                array.apply_voltage(every, voltage, WIDTH_S)
                after = array.measure_cell_currents(every, 0.2) / 0.2
                columns["g"].append(read)
                columns["delta"].append(after - read)
                columns["kind"].append(np.full(devices, PULSE_KINDS.index(kind), dtype=np.int8))
                columns["amplitude"].append(voltage)
                columns["since"].append(np.full(devices, n))
                read = after
    size = devices * cycles * 2 * count
    return PulseResponses(
        g_before_s=np.concatenate(columns["g"]),
        delta_s=np.concatenate(columns["delta"]),
        kind=pd.Categorical.from_codes(np.concatenate(columns["kind"]), categories=PULSE_KINDS),
        amplitude_v=np.concatenate(columns["amplitude"]),
        width_s=np.full(size, WIDTH_S),
        compliance_a=np.full(size, np.nan),
        device_id=np.tile(np.arange(devices), size // devices),
        run_id=np.ones(size, dtype=np.int64),
        since_reversal=np.concatenate(columns["since"]),
    )


@pytest.fixture(scope="module")
def truth():
    parameters = quiet(TIO2_PASSIVE_8X8.parameters, **TRUTH)
    responses = pulse_trains(parameters)
    return parameters, responses, fit_step_model(responses, TIO2_PASSIVE_8X8, "simulated truth", rounds=30)


def shape(overrides: dict, prefix: str, x: np.ndarray) -> np.ndarray:
    u = 1.0 - x * (1.0 - 0.3)  # the preset's step ratio
    return u ** overrides[f"{prefix}_state_exponent"] * np.exp(overrides[f"{prefix}_state_growth"] * x)


def test_fit_recovers_the_step_model_it_was_simulated_with(truth):
    _, _, fit = truth
    fitted = fit.overrides
    x = np.array([0.1, 0.2, 0.3, 0.4, 0.5])  # SET trains cover about 0-0.6 of the window; RESET more
    for prefix in ("set", "reset"):
        # Exponent and growth trade off (and with the memory, over a train); the shape is what is determined.
        expected = shape(TRUTH, prefix, x) / shape(TRUTH, prefix, x[:1])
        got = shape(fitted, prefix, x) / shape(fitted, prefix, x[:1])
        np.testing.assert_allclose(got, expected, rtol=0.12)
        assert fitted[f"{prefix}_rate_per_s"] == pytest.approx(
            getattr(TIO2_PASSIVE_8X8.parameters, f"{prefix}_rate_per_s"), rel=0.2
        )
        assert fitted[f"{prefix}_rate_d2d"] == pytest.approx(0.3, abs=0.1)
    assert fitted["set_c2c"] == pytest.approx(0.3, abs=0.04)
    assert fitted["set_c2c_growth"] == pytest.approx(0.8, abs=0.25)
    assert fitted["reset_c2c"] == pytest.approx(0.35, abs=0.1)  # read noise and edge steps add a little
    assert fitted["polarity_memory_depth"] == pytest.approx(0.5, abs=0.05)
    assert fitted["polarity_memory_pulses"] == pytest.approx(3.0, abs=0.6)


def test_bootstrap_intervals_hold_the_estimates_and_are_not_degenerate(truth):
    _, _, fit = truth
    for name in ("set_c2c", "polarity_memory_depth", "reset_state_exponent", "set_rate_per_s"):
        sd, low, high = fit.uncertainty[name]
        assert low <= fit.overrides[name] <= high
        assert sd > 0 and high > low


def test_held_out_devices_agree_with_the_fit_and_not_with_the_preset(truth):
    parameters, responses, fit = truth
    assert fit.check.groups and fit.check.p_value > KS_ALPHA and len(fit.check.failing) <= 2
    # With all 120 devices held out the check has the power to reject the preset the data did not come from.
    windows = {kind: Window(100e-6, 500e-6, 0.3) for kind in ("SET", "RESET")}
    plain = held_out_checks(responses, quiet(TIO2_PASSIVE_8X8.parameters), windows, 10, seed=3, replay=True)
    right = held_out_checks(responses, parameters, windows, 10, seed=3, replay=True)
    assert plain.p_value <= KS_ALPHA and plain.mean_ks > 1.5 * plain.null_mean_ks
    assert right.p_value > 0.1


def test_drive_law_and_coverage_limits_are_flagged(truth):
    _, _, fit = truth
    assert any("does not pin the drive law" in flag for flag in fit.flags)  # 1.3-1.5 V: far above threshold
    assert "set_threshold_v" not in fit.overrides


def test_steps_against_the_pulse_are_flagged():
    noisy = quiet(TIO2_PASSIVE_8X8.parameters, read_noise_rel=0.02, **TRUTH)
    fit = fit_step_model(pulse_trains(noisy, devices=30), TIO2_PASSIVE_8X8, "noisy", rounds=0, held_out=0.0)
    assert any("go against the pulse's polarity" in flag for flag in fit.flags)


def test_too_little_of_the_window_is_refused():
    responses = pulse_trains(quiet(TIO2_PASSIVE_8X8.parameters, **TRUTH), devices=6, cycles=1, count=3)
    with pytest.raises(AnalysisError, match="progress bins"):
        fit_step_model(responses, TIO2_PASSIVE_8X8, "short", window_s=(1e-6, 10e-3), rounds=0)


def test_the_fit_file_is_toml_that_a_bench_file_takes(truth, tmp_path):
    _, _, fit = truth
    (tmp_path / "fit.toml").write_text(fit.to_toml())
    written = tomllib.loads((tmp_path / "fit.toml").read_text())
    assert written["fit"]["data_sha256"] == fit.data_sha256
    assert written["sample"]["preset"] == "tio2-passive-8x8@1"
    assert len(written["check"]["held_out"]) == len(fit.check.groups)
    assert written["check"]["held_out_p_value"] == pytest.approx(fit.check.p_value)
    drives = {(row["kind"], row["amplitude_v"]): row["drive_per_s"] for row in written["check"]["drive"]}
    assert drives[("SET", 1.5)] > drives[("SET", 1.4)] > drives[("SET", 1.3)] > 0  # the drive grows with V
    bench = tmp_path / "bench.toml"
    bench.write_text(
        '[bench]\nname = "b"\n[sample]\nchip = "c"\npreset = "tio2-passive-8x8@1"\nfitted = "fit.toml"\n'
        "[sample.overrides]\nset_c2c = 0.123\n"
    )
    parameters = load_config(bench).sample.parameters
    assert parameters.polarity_memory_depth == pytest.approx(fit.overrides["polarity_memory_depth"])
    assert parameters.set_c2c == 0.123  # the bench file's own overrides come last
    bench.write_text(bench.read_text().replace('"tio2-passive-8x8@1"', '"tio2-passive-8x8"'))
    with pytest.raises(
        ConfigError, match="fitted to preset 'tio2-passive-8x8@1', not to 'tio2-passive-8x8@2'"
    ):
        load_config(bench)


@pytest.mark.skipif(
    not TAOX.exists(), reason="../shared/data/crosssim-lookup-tables is not beside the checkout"
)
def test_measured_taox_tables_show_abrupt_set_and_a_reset_step_that_peaks_inside_the_window():
    folders = sorted(TAOX.iterdir(), key=lambda folder: int(folder.name))
    responses = crosssim_responses(folders, {"SET": (1.2, 1e-7), "RESET": (-1.5, 1e-7)})
    fit = fit_step_model(responses, TIO2_PASSIVE_8X8, "TaOx", window_s="data", rounds=0, replay=False)
    assert fit.devices == 41
    assert any("step further" in flag and flag.startswith("SET") for flag in fit.flags)
    # RESET: steps grow, then shrink toward the bound; the fitted shape rises at first and falls late.
    overrides = fit.overrides
    x = np.linspace(0.0, 1.0, 101)
    reset_shape = shape(overrides, "reset", x)
    peak = x[np.argmax(reset_shape)]
    assert 0.2 < peak < 0.8
    measured = [row["measured_mean_s"] for row in fit.tables["mean_step"] if row["kind"] == "RESET"]
    assert np.argmin(measured) not in (0, len(measured) - 1)  # the largest (most negative) step inside
    (reset_error,) = [
        row["rms_relative_error"] for row in fit.tables["shape_error"] if row["kind"] == "RESET"
    ]
    assert math.isfinite(reset_error)
