"""Tuning strategies and options: log-step ramp, absolute band, start from the off state, presets."""

from __future__ import annotations

import pytest

from labrram.bench import DeviceAddress
from labrram.errors import ParameterError
from labrram.procedures.tuning import TUNING_PRESETS, AlibartSettings, preset_for, tune_device
from labrram.records import Pulse, PulseKind, Read
from tests.procedures.test_tuning import ScriptedBench, chip_bench

DEVICE = DeviceAddress("A1", 0, 0)


def test_log_step_grows_by_the_log_of_distance_over_change_and_restarts_after_a_big_jump():
    settings = AlibartSettings(strategy="log-step", successive_reads=1, log_gain_v=0.2)
    # target 100 uS: 90 -> 91 (change 1, distance 9: +0.2*log10(9)) -> 98.5 (change 7.5 >= 1.5: restart)
    bench = ScriptedBench([90e-6, 91e-6, 98.5e-6, 100.2e-6])
    records = list(tune_device(bench, DEVICE, 100e-6, settings))
    assert bench.amplitudes[0] == pytest.approx(0.8)
    assert bench.amplitudes[1] == pytest.approx(0.8 + min(0.2 * 0.954243, 0.2), rel=1e-4)
    assert bench.amplitudes[2] == pytest.approx(0.8)  # restarted: the last change reached the target
    assert records[-1].values["success"]


def test_absolute_band_replaces_the_relative_tolerance():
    settings = AlibartSettings(tolerance_s=5e-6, successive_reads=2)
    bench = ScriptedBench([104e-6, 96e-6])
    result = list(tune_device(bench, DEVICE, 100e-6, settings))[-1]
    assert result.values["success"] and bench.amplitudes == []
    assert settings.band(100e-6) == pytest.approx((95e-6, 105e-6))


def test_reset_first_drives_the_device_to_the_off_state_before_tuning():
    bench = chip_bench({"stuck_hrs_fraction": 0.0, "stuck_lrs_fraction": 0.0})
    device = DeviceAddress("A1", 1, 1)
    list(tune_device(bench, device, 400e-6, AlibartSettings()))  # somewhere high
    records = list(tune_device(bench, device, 300e-6, TUNING_PRESETS["seed-002-from-off"]))
    first_set = next(i for i, r in enumerate(records) if isinstance(r, Pulse) and r.kind is PulseKind.SET)
    resets = [r for r in records[:first_set] if isinstance(r, Pulse)]
    assert resets and all(r.kind is PulseKind.RESET and r.amplitude_v == -2.4 for r in resets)
    last_read_before = [r for r in records[:first_set] if isinstance(r, Read)][-1]
    assert last_read_before.conductance_s <= 110e-6
    assert records[-1].values["success"]


def test_seed_002_presets_carry_the_papers_values():
    preset = TUNING_PRESETS["seed-002"]
    assert (preset.set_start_v, preset.set_stop_v, preset.reset_start_v, preset.reset_stop_v) == (
        0.8,
        2.0,
        -1.1,
        -2.4,
    )
    assert (preset.width_s, preset.read_voltage_v, preset.tolerance, preset.successive_reads) == (
        200e-9,
        0.2,
        0.01,
        10,
    )


@pytest.mark.parametrize(
    ("changes", "name"),
    [
        ({"strategy": "bisection"}, "strategy"),
        ({"tolerance_s": -1.0}, "tolerance_s"),
        ({"width_s": 0.0}, "width_s"),
        ({"successive_reads": 0}, "successive_reads"),
        ({"read_voltage_v": 0.0}, "read_voltage_v"),
    ],
)
def test_bad_settings_name_the_parameter(changes, name):
    with pytest.raises(ParameterError) as error:
        AlibartSettings(**changes)
    assert error.value.name == name


def test_bad_target_names_the_parameter():
    with pytest.raises(ParameterError, match="target_s"):
        list(tune_device(ScriptedBench([]), DEVICE, -1.0, AlibartSettings()))


def test_benches_that_cannot_make_200_ns_pulses_get_the_smu_preset():
    assert preset_for(0.0) == "seed-002"
    assert preset_for(100e-6) == "smu-100us"
    assert TUNING_PRESETS["smu-100us"].width_s >= 100e-6
