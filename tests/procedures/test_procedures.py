"""Multilevel, retention, pulse trains, IV, endurance and array programming on the simulated chip."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from labrram.bench import DeviceAddress
from labrram.bench.factory import direct_simulated_bench
from labrram.config import parse_config
from labrram.errors import ParameterError
from labrram.physics import HFO2_1T1R, TIO2_PASSIVE_8X8
from labrram.procedures.endurance import EnduranceSettings, endurance
from labrram.procedures.forming import FormingSettings, form_devices
from labrram.procedures.iv import IVSettings, iv_sweep
from labrram.procedures.multilevel import MultilevelSettings, place_levels, program_levels
from labrram.procedures.program import array_programming
from labrram.procedures.pulse_train import PulseTrainSettings, pulse_train
from labrram.procedures.retention import RetentionSettings, retention_test
from labrram.procedures.tuning import AlibartSettings, tune_devices
from labrram.records import Progress, Pulse, PulseKind, Read, Result, RunStarted


def bench(preset: str, overrides: dict | None = None, size: int = 8, seed: int = 2):
    quiet = {"stuck_hrs_fraction": 0.0, "stuck_lrs_fraction": 0.0}
    return direct_simulated_bench(
        parse_config(
            {
                "bench": {"name": "b", "seed": seed},
                "sample": {
                    "chip": "c",
                    "preset": preset,
                    "overrides": {**quiet, **(overrides or {})},
                    "arrays": [{"rows": size, "cols": size}],
                },
                "safety": {"max_positive_v": 3.6, "max_negative_v": 3.0, "max_compliance_a": 1e-3},
            }
        )
    )


def devices(size: int = 8) -> list[DeviceAddress]:
    return [DeviceAddress("A1", r, c) for r in range(size) for c in range(size)]


def results(records, kind: str) -> list[Result]:
    return [r for r in records if isinstance(r, Result) and r.kind == kind]


@pytest.mark.parametrize("preset", ["hfo2-1t1r", "tio2-passive-8x8"])
def test_multilevel_levels_are_separable_right_after_programming(preset):
    hfo2 = preset == "hfo2-1t1r"
    b = bench(preset, {"relaxation_spread_s": 0.0, "relaxation_drift_s": 0.0})
    all_devices = devices()
    if hfo2:
        list(form_devices(b, all_devices, FormingSettings()))
    parameters = (HFO2_1T1R if hfo2 else TIO2_PASSIVE_8X8).parameters
    margin = 0.15 * (parameters.g_max_s - parameters.g_min_s)
    plan = place_levels(8, parameters.g_min_s + margin, parameters.g_max_s - margin, "linear")
    assert plan.separable()
    assignment = {d: i % 8 for i, d in enumerate(all_devices)}
    settings = MultilevelSettings(method="compliance" if hfo2 else "tuning")
    records = list(program_levels(b, assignment, plan, settings))
    levels = results(records, "level")
    assert len(levels) == 64
    assert sum(r.values["success"] for r in levels) >= 60
    achieved = {level: [] for level in range(8)}
    for r in levels:
        if r.values["success"]:
            achieved[r.values["level"]].append(r.values["achieved_s"])
    for lower, upper in zip(range(7), range(1, 8), strict=True):
        assert max(achieved[lower]) < min(achieved[upper])  # read windows do not overlap
    assert all(r.values["energy_j"] > 0 and r.values["iterations"] > 0 for r in levels)


def test_variable_width_bins_are_wider_where_the_spread_is_larger():
    plan = place_levels(6, 50e-6, 225e-6, "variable-width")
    widths = np.array(plan.half_widths_s)
    assert widths[0] > widths[-1]  # Milo: sigma falls with G
    assert plan.separable()
    linear = place_levels(6, 50e-6, 225e-6, "linear")
    assert plan.centers_s[0] == pytest.approx(linear.centers_s[0])
    assert plan.centers_s[-1] == pytest.approx(linear.centers_s[-1])


def test_reset_level0_accepts_anything_below_its_edge():
    plan = place_levels(4, 60e-6, 200e-6, "reset-level0", reset_conductance_s=15e-6)
    assert plan.bin(0)[0] == 0.0 and plan.bin(0)[1] < plan.bin(1)[0]
    with pytest.raises(ParameterError, match="reset_conductance_s"):
        place_levels(4, 60e-6, 200e-6, "reset-level0")


def test_retention_spreads_grow_with_log_time_and_bakes_speed_it_up():
    def spreads(temperature_c):
        b = bench("hfo2-1t1r", size=8)
        all_devices = devices()
        list(form_devices(b, all_devices, FormingSettings()))
        # Programmed near a third of the window, where HfO2 relaxes most (Levy tech B).
        plan = place_levels(2, 90e-6, 200e-6, "linear")
        programmed = results(
            program_levels(b, dict.fromkeys(all_devices, 0), plan, MultilevelSettings()), "level"
        )
        start = {r.device: r.values["achieved_s"] for r in programmed}
        settings = RetentionSettings(duration_s=1e4, first_s=1.0, points=5, temperature_c=temperature_c)
        points = results(retention_test(b, all_devices, settings), "retention")
        assert b.temperature_c == 25.0  # put back after the bake
        by_point = {}
        for r in points:
            by_point.setdefault(r.values["point"], []).append(r.values["conductance_s"] - start[r.device])
        return [np.std(v) for _, v in sorted(by_point.items())], points

    room, points = spreads(None)
    assert all(later > earlier for earlier, later in itertools.pairwise(room))
    elapsed = sorted({round(r.values["elapsed_s"]) for r in points if r.device == points[0].device})
    assert elapsed[0] >= 1 and elapsed[-1] >= 1e4 - 1
    baked, _ = spreads(150.0)
    assert baked[-1] > room[-1]


def test_pulse_trains_walk_the_window_up_and_down():
    b = bench("tio2-passive-8x8")
    settings = PulseTrainSettings(set_count=40, reset_count=40, cycles=2)
    records = list(pulse_train(b, DeviceAddress("A1", 3, 3), settings))
    reads = [r.conductance_s for r in records if isinstance(r, Read)]
    pulses = [r for r in records if isinstance(r, Pulse)]
    assert len(pulses) == settings.start_reset_pulses + 2 * 80
    assert len(reads) == 1 + 2 * 80
    assert reads[40] > reads[0] + 50e-6  # after the SET train
    assert reads[80] < reads[40] - 50e-6  # after the RESET train
    summary = results(records, "pulse_train")[0].values
    assert summary["max_s"] >= reads[40] and summary["min_s"] <= reads[80]


def test_iv_staircase_is_ohmic_at_low_bias_and_stops_at_the_cutoff():
    b = bench("tio2-passive-8x8")
    device = DeviceAddress("A1", 2, 5)
    settings = IVSettings(v_max=0.3, v_min=-0.3, step_v=0.1, compliance_a=1e-3)
    points = [r.values for r in iv_sweep(b, device, settings) if isinstance(r, Result) and r.kind == "iv"]
    voltages = [p["voltage_v"] for p in points]
    assert voltages == pytest.approx([0.1, 0.2, 0.3, 0.2, 0.1, -0.1, -0.2, -0.3, -0.2, -0.1])
    conductances = [p["current_a"] / p["voltage_v"] for p in points]
    assert np.std(conductances) / np.mean(conductances) < 1e-6  # below every threshold: no switching
    cut = IVSettings(v_max=2.0, v_min=-0.2, step_v=0.1, cutoff_a=2e-4)
    points = [r.values for r in iv_sweep(b, device, cut) if isinstance(r, Result) and r.kind == "iv"]
    outward = [p for p in points if p["voltage_v"] > 0]
    peak = max(p["voltage_v"] for p in outward)
    assert peak < 2.0 and abs(next(p for p in outward if p["voltage_v"] == peak)["current_a"]) >= 2e-4


def test_endurance_detects_the_failure_of_a_worn_device():
    b = bench("tio2-passive-8x8", {"endurance_cycles": 300.0, "endurance_d2d": 0.0})
    settings = EnduranceSettings(cycles=2000, read_every=50)
    records = list(endurance(b, [DeviceAddress("A1", 0, 0)], settings))
    end = results(records, "endurance_end")[0].values
    assert end["ended"] == "failed" and 300 <= end["cycles"] <= 500
    checks = results(records, "endurance")
    assert (
        checks[0].values["set_conductance_s"] > settings.min_ratio * checks[0].values["reset_conductance_s"]
    )


def test_array_programming_reports_stuck_devices_and_leaves_them_out_of_the_database():
    b = bench("tio2-passive-8x8", {"stuck_hrs_fraction": 0.1, "stuck_lrs_fraction": 0.1}, seed=5)
    stuck_map = b.chip.arrays["A1"].stuck_map()
    targets = np.full((8, 8), 300e-6)
    records = list(array_programming(b, "A1", targets, AlibartSettings(max_pulses=300)))
    assert isinstance(records[0], RunStarted)
    reported = {(r.device.row, r.device.col): r.values["state"] for r in results(records, "stuck")}
    truly = {
        (int(r), int(c)): "HRS" if stuck_map[r, c] == 1 else "LRS"
        for r, c in zip(*np.nonzero(stuck_map), strict=True)
    }
    assert reported == truly
    assert any(isinstance(r, Progress) and r.eta_s is not None for r in records)


def test_a_resumed_run_skips_the_devices_already_done():
    b = bench("tio2-passive-8x8")
    targets = {d: 250e-6 for d in devices()[:6]}
    first = []
    for record in tune_devices(b, targets, AlibartSettings()):
        first.append(record)
        if len(results(first, "tuning")) == 3:
            break  # the run is interrupted here
    done = {r.device for r in results(first, "tuning")}
    second = list(tune_devices(b, targets, AlibartSettings(), done=done))
    again = {r.device for r in results(second, "tuning")}
    assert not again & done and again | done == set(targets)
    progress = [r for r in second if isinstance(r, Progress)]
    assert [p.done for p in progress] == [4, 5, 6] and progress[-1].total == 6


def test_pulse_kinds_follow_the_polarity():
    b = bench("tio2-passive-8x8")
    records = list(
        pulse_train(b, DeviceAddress("A1", 0, 1), PulseTrainSettings(set_count=2, reset_count=2, cycles=1))
    )
    trained = [r for r in records if isinstance(r, Pulse)][-4:]
    assert [r.kind for r in trained] == [PulseKind.SET, PulseKind.SET, PulseKind.RESET, PulseKind.RESET]
