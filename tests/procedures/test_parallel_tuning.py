"""Tuning independent devices in parallel: the sequential procedure's rules, all devices in one step."""

from __future__ import annotations

import numpy as np
import pytest

from labrram.bench import DeviceAddress
from labrram.bench.base import DeviceBlock
from labrram.bench.factory import direct_simulated_bench
from labrram.config import parse_config
from labrram.db import Recorder, Selection, open_database, pulses, reads, results, runs
from labrram.errors import LabrramError, SafetyLimitError
from labrram.procedures.parallel_tuning import parallel_tuning_run, tune_parallel
from labrram.procedures.tuning import AlibartSettings, tune_device
from labrram.records import Pulse, PulseBlock, Read, ReadBlock, Result
from tests.bench.cases import suite_config

SETTINGS = AlibartSettings(
    width_s=1e-6, set_start_v=0.6, set_stop_v=1.2, reset_start_v=-1.0, reset_stop_v=-1.8, max_pulses=400
)


def hfo2_bench(side: int = 8, seed: int = 3, **overrides: float):
    """Formed HfO2 1T1R devices (transistor-isolated: independent)."""
    return direct_simulated_bench(
        parse_config(
            {
                "bench": {"name": "b", "seed": seed},
                "sample": {
                    "chip": "c",
                    "preset": "hfo2-1t1r",
                    "overrides": {"virgin_fraction": 0.0, **overrides},
                    "arrays": [{"name": "M1", "rows": side, "cols": side}],
                },
                "safety": {"max_positive_v": 3.0, "max_negative_v": 3.0, "max_compliance_a": 1e-3},
            }
        )
    )


@pytest.mark.parametrize(
    ("target_s", "settings"),
    [
        (80e-6, SETTINGS),
        (140e-6, SETTINGS),
        (60e-6, AlibartSettings(**{**vars(SETTINGS), "reset_first": True, "off_conductance_s": 40e-6})),
        (120e-6, AlibartSettings(**{**vars(SETTINGS), "strategy": "log-step"})),
    ],
)
def test_one_device_in_parallel_is_exactly_the_sequential_tuning(target_s, settings):
    device = DeviceAddress("M1", 2, 5)
    sequential = list(tune_device(hfo2_bench(), device, target_s, settings))
    parallel = list(parallel_tuning_run(hfo2_bench(), {device: target_s}, settings))
    measured = [r for r in sequential if isinstance(r, Pulse | Read)]
    blocks = [r for r in parallel if isinstance(r, ReadBlock | PulseBlock)]
    assert [record for block in blocks for record in block.records()] == measured
    (result,) = [r for r in parallel if isinstance(r, Result)]
    assert result.values == sequential[-1].values


def test_many_devices_reach_their_targets_as_the_sequential_procedure_does():
    bench = hfo2_bench(side=16)
    rng = np.random.default_rng(0)
    targets = {
        DeviceAddress("M1", r, c): float(rng.uniform(60e-6, 150e-6)) for r in range(16) for c in range(16)
    }
    columns = tune_parallel(bench, targets, SETTINGS)
    assert columns.outcome.success.mean() > 0.95
    stuck = bench.chip.arrays["M1"].stuck_map().ravel() != 0
    assert not columns.outcome.success[stuck].any() and columns.outcome.unresponsive[stuck].all()
    reads_per_device = np.bincount(columns.read_device, minlength=len(targets))
    pulses_per_device = np.bincount(columns.pulse_device, minlength=len(targets))
    assert (pulses_per_device == columns.outcome.pulses).all()
    assert (reads_per_device[columns.outcome.success] >= SETTINGS.successive_reads).all()
    for k in np.flatnonzero(columns.outcome.success)[
        :20
    ]:  # the last ten reads of a tuned device are in its band
        own = columns.read_current_a[columns.read_device == k][-10:] / SETTINGS.read_voltage_v
        assert np.all(np.abs(own / columns.targets_s[k] - 1) <= SETTINGS.tolerance)


def test_a_parallel_run_records_like_a_sequential_one(tmp_path):
    bench = hfo2_bench()
    targets = {DeviceAddress("M1", r, c): 100e-6 for r in range(3) for c in range(4)}
    engine = open_database(f"sqlite:///{tmp_path / 'p.db'}")
    recorder = Recorder(engine, "b", bench_sample())
    run_id = recorder.record(parallel_tuning_run(bench, targets, SETTINGS))
    table = results(engine, "tuning", Selection(runs=[run_id]))
    assert len(table) == 12 and table["success"].all()
    assert sorted(zip(table["row"], table["col"], strict=True)) == sorted((d.row, d.col) for d in targets)


def bench_sample():
    """The sample the recorder files the run under."""
    return parse_config(
        {
            "bench": {"name": "b", "seed": 3},
            "sample": {"chip": "c", "preset": "hfo2-1t1r", "arrays": [{"name": "M1", "rows": 8, "cols": 8}]},
        }
    ).sample


def test_passive_arrays_and_unsafe_amplitudes_are_refused_before_anything_happens():
    passive = direct_simulated_bench(suite_config())
    block = DeviceBlock.of([DeviceAddress("A1", 0, 0), DeviceAddress("A1", 1, 1)])
    with pytest.raises(LabrramError, match="1T1R"):
        passive.pulse_devices(block, np.array([1.0, 1.0]), 1e-6)
    bench = hfo2_bench()
    before = bench.chip.arrays["M1"].conductance_s().copy()
    block = DeviceBlock.of([DeviceAddress("M1", 0, 0), DeviceAddress("M1", 1, 1)])
    with pytest.raises(SafetyLimitError, match="max_positive_v"):
        bench.pulse_devices(block, np.array([1.0, 3.5]), 1e-6)
    with pytest.raises(LabrramError, match="outside"):
        bench.read_devices(DeviceBlock("M1", np.array([0, 8]), np.array([0, 0])))
    assert (bench.chip.arrays["M1"].conductance_s() == before).all()


def test_a_parallel_run_cut_short_keeps_every_step_taken_and_resumes_the_unfinished_devices(tmp_path):
    bench = hfo2_bench()
    targets = {DeviceAddress("M1", r, c): 100e-6 for r in range(3) for c in range(4)}
    engine = open_database(f"sqlite:///{tmp_path / 'cut.db'}")
    steps = [0]
    pulse_devices = bench.pulse_devices

    def failing(*args, **kwargs):
        steps[0] += 1
        if steps[0] == 6:
            raise KeyboardInterrupt
        return pulse_devices(*args, **kwargs)

    bench.pulse_devices = failing
    with pytest.raises(KeyboardInterrupt):
        Recorder(engine, "b", bench_sample()).record(parallel_tuning_run(bench, targets, SETTINGS))
    assert len(pulses(engine, Selection(runs=[1]))) > 5 * 10  # five parallel pulses of the 12 devices
    assert len(reads(engine, Selection(runs=[1]))) >= 6 * 10
    assert runs(engine)["status"].iloc[0] == "aborted"
    bench.pulse_devices = pulse_devices
    recorder = Recorder(engine, "b", bench_sample())
    point = recorder.resume(1, "tuning")
    assert not point.completed  # no device had its concluding result: all are tuned again
    recorder.record(parallel_tuning_run(bench, targets, SETTINGS, point.completed))
    tuned = results(engine, "tuning", Selection(runs=[1]))
    assert len(tuned) == 12 and tuned["success"].sum() >= 11
    assert runs(engine)["status"].iloc[0] == "completed"


def test_a_resumed_run_whose_devices_are_all_done_takes_no_measurement():
    bench = hfo2_bench()
    device = DeviceAddress("M1", 0, 0)
    records = list(parallel_tuning_run(bench, {device: 1e-4}, SETTINGS, done={device}))
    assert [type(r).__name__ for r in records] == ["RunStarted", "Progress"]
    assert bench.chip.now_s == 0.0
