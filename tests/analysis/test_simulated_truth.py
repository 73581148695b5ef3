"""Fitted statistics recover the simulated chip's own parameters, through the database and back.

Each test measures a simulated chip with known parameters, records through the Recorder into SQLite, fits
from the database and compares with the truth the chip holds (its stuck map, its relaxation constants,
its activation energy, its read noise), within stated tolerances.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from labrram.analysis.model import DeviceModel
from labrram.analysis.retention import RetentionModel
from labrram.analysis.sources import retention_data
from labrram.bench import DeviceAddress
from labrram.bench.factory import direct_simulated_bench
from labrram.config import parse_config
from labrram.db import Recorder, Selection, open_database
from labrram.physics import ArrayKind, CrossbarArray
from labrram.physics.population import NOT_STUCK, STUCK_HRS
from labrram.procedures.program import array_programming
from labrram.procedures.retention import RetentionSettings, retention_test
from labrram.procedures.tuning import AlibartSettings
from labrram.records import Read, Record, Result, RunStarted

QUIET = {
    "virgin_fraction": 0.0,
    "stuck_hrs_fraction": 0.0,
    "stuck_lrs_fraction": 0.0,
    "endurance_cycles": 1e12,
}


def bench_of(preset: str, arrays: list[tuple[str, int, int]], seed: int, **overrides: float):
    config = parse_config(
        {
            "bench": {"name": "truth", "seed": seed},
            "sample": {
                "chip": f"truth-{preset}-{seed}",
                "preset": preset,
                "overrides": overrides,
                "arrays": [{"name": n, "rows": r, "cols": c} for n, r, c in arrays],
            },
        }
    )
    return config, direct_simulated_bench(config)


def record(engine, config, stream: Iterator[Record]) -> int:
    return Recorder(engine, config.name, config.sample).record(stream)


def test_stuck_devices_found_by_array_programming_are_the_chips_stuck_devices(tmp_path):
    config, bench = bench_of(
        "tio2-passive-8x8",
        [("A1", 8, 8), ("A2", 8, 8)],
        seed=21,
        stuck_hrs_fraction=0.12,
        stuck_lrs_fraction=0.12,
    )
    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    rng = np.random.default_rng(0)
    settings = AlibartSettings(max_pulses=150)
    for array in ("A1", "A2"):
        record(engine, config, array_programming(bench, array, rng.uniform(150e-6, 450e-6, (8, 8)), settings))
    model = DeviceModel.from_database(engine, components=("stuck",), window_s=(100e-6, 500e-6))
    truth = np.concatenate([bench.chip.arrays[a].stuck_map().ravel() for a in ("A1", "A2")])
    assert model.stuck.devices == 128
    assert model.stuck.stuck["HRS"] == int(np.sum(truth == STUCK_HRS))
    assert model.stuck.stuck["LRS"] == int(np.sum((truth != NOT_STUCK) & (truth != STUCK_HRS)))
    # The preset's HRS-stuck conductances are uniform in 10-100 uS; the fitted ones lie there.
    hrs = model.stuck.conductances["HRS"].values
    assert np.all((hrs > 9.9e-6) & (hrs < 100.2e-6))


def _program_levels(bench, devices: list[DeviceAddress], levels_s: list[float]) -> None:
    """Put each device at its level directly (the test is about relaxation, not tuning)."""
    crossbar = bench.chip.arrays["M1"]
    g = crossbar.conductance_s()
    for i, device in enumerate(devices):
        g[device.row, device.col] = levels_s[i % len(levels_s)]
    crossbar.set_conductance_s(g)


def _true_relaxation(parameters, level_s: float, times_s: np.ndarray, devices: int = 4000):
    """The chip's own relaxation at a level: 4000 fresh devices of the same technology, evaluated at the
    same times as the test reads them, their true conductances (no read) compared with the first.

    Returns the mean drift per unit ln t and the variance of the shift at each time (plus two reads'
    noise, as a measured shift holds).
    """
    crossbar = CrossbarArray(parameters, 1, devices, ArrayKind.ONE_T_ONE_R, np.random.default_rng(99))
    crossbar.set_conductance_s(np.full((1, devices), level_s))
    crossbar.advance(1.0, 25.0)
    first = crossbar.conductance_s().ravel()
    shifts = []
    for t in times_s:
        crossbar.advance(t - 1.0 - (crossbar._effective_age_s - 1.0), 25.0)
        shifts.append(crossbar.conductance_s().ravel() - first)
    shifts = np.array(shifts)
    noise = 2 * ((parameters.read_noise_rel * level_s) ** 2 + (parameters.read_noise_floor_a / 0.2) ** 2)
    slope = np.polyfit(np.log(times_s), shifts.mean(axis=1), 1)[0]
    return slope, shifts.var(axis=1) + noise


def test_retention_drift_and_spread_growth_are_the_chips_relaxation_constants(tmp_path):
    config, bench = bench_of(
        "hfo2-1t1r", [("M1", 18, 18)], seed=22, relaxation_drift_s=-1.5e-6, relaxation_spread_s=2e-6, **QUIET
    )
    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    devices = [DeviceAddress("M1", r, c) for r in range(18) for c in range(18)]
    # Levels far enough apart that a second of relaxation does not mix them (the first read sorts them).
    levels_s = [40e-6, 100e-6, 160e-6]
    _program_levels(bench, devices, levels_s)
    schedule = RetentionSettings(duration_s=1e4, first_s=1.0, points=9)
    record(engine, config, retention_test(bench, devices, schedule))
    data = retention_data(engine, Selection()).data
    model = RetentionModel.fit(data["device_key"], data["elapsed_s"], data["conductance_s"], levels=3)
    fitted = sorted(model.levels, key=lambda level: level.g0_s)
    assert len(fitted) == 3
    for level, programmed_s in zip(fitted, levels_s, strict=True):
        drift, variance = _true_relaxation(config.sample.parameters, programmed_s, level.times_s)
        # The mean shift per unit ln t is the chip's (tolerance: 4 s.e. + 10%).
        tolerance = 4 * level.mean_fit.slope_se + 0.1 * abs(drift)
        assert level.mean_fit.slope == pytest.approx(drift, abs=tolerance)
        # The fitted spread law follows the chip's variance from 10 s on (108 devices a level: a sample
        # variance is good to ~14%, so 40% at any time point; before 10 s the variance is a few uS^2 of
        # read noise and relaxation, where a straight line's intercept dominates).
        assert level.variance(level.times_s[2:]) == pytest.approx(variance[2:], rel=0.4)
        assert level.variance(level.times_s[-1]) > 3 * level.variance(level.times_s[0])


def _bake(bench, devices: list[DeviceAddress], temperature_c: float, bake_s: float) -> Iterator[Record]:
    """1 s after programming read at room temperature, bake, read again (as a hot-plate bake is done)."""
    programmed_s = bench.now()
    yield RunStarted("retention", {"bake_c": temperature_c}, tuple(devices))
    bench.wait(1.0)
    for phase, temperature in (("before", 25.0), ("after", temperature_c)):
        if phase == "after":
            bench.temperature_c = temperature_c
            bench.wait(bake_s)
            bench.temperature_c = 25.0
        for device in devices:
            bench.select(device.row, device.col, device.array)
            read = bench.read(0.2)
            yield Read.of(read)
            elapsed = read.t_s - programmed_s
            yield Result(
                device,
                "retention",
                {"elapsed_s": elapsed, "conductance_s": read.conductance_s, "temperature_c": temperature},
            )


def test_bakes_give_back_the_chips_activation_energy(tmp_path):
    config, bench = bench_of(
        "hfo2-1t1r",
        [("M1", 24, 24)],
        seed=23,
        relaxation_drift_s=0.0,
        relaxation_spread_s=3e-6,
        activation_energy_ev=1.0,
        read_noise_rel=0.001,
        **QUIET,
    )
    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    devices = [DeviceAddress("M1", r, c) for r in range(24) for c in range(24)]
    levels_s = [90e-6]
    _program_levels(bench, devices, levels_s)
    record(
        engine,
        config,
        retention_test(bench, devices, RetentionSettings(duration_s=1e4, first_s=1.0, points=9)),
    )
    for temperature_c in (60.0, 110.0, 160.0):
        _program_levels(bench, devices, levels_s)
        record(engine, config, _bake(bench, devices, temperature_c, 1000.0))
    data = retention_data(engine, Selection()).data
    retention = RetentionModel.fit(
        data["device_key"], data["elapsed_s"], data["conductance_s"], data["temperature_c"], levels=1
    )
    assert {p["temperature_c"] for p in retention.bake_points} == {60.0, 110.0, 160.0}
    # The spread law is logarithmic in time, so a 10% error in a measured variance moves the equivalent
    # time by a large factor: Ea is recovered to within three of its standard errors (~0.1 eV here).
    assert retention.activation_energy_ev == pytest.approx(
        1.0, abs=3 * retention.activation_energy_se_ev + 0.05
    )
    assert retention.activation_energy_se_ev < 0.3


def test_read_noise_is_the_chips_read_noise(tmp_path):
    config, bench = bench_of(
        "tio2-passive-8x8",
        [("A1", 8, 8)],
        seed=24,
        relaxation_drift_s=0.0,
        relaxation_spread_s=0.0,
        read_noise_rel=0.01,
        read_noise_floor_a=4e-8,
        **QUIET,
    )
    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    crossbar = bench.chip.arrays["A1"]
    crossbar.set_conductance_s(np.random.default_rng(1).uniform(100e-6, 500e-6, (8, 8)))
    devices = [DeviceAddress("A1", r, c) for r in range(8) for c in range(8)]
    times = tuple(float(t) for t in range(1, 41))
    record(engine, config, retention_test(bench, devices, RetentionSettings(times_s=times)))
    noise = DeviceModel.from_database(engine, components=("read_noise",)).read_noise
    assert noise.rel == pytest.approx(0.01, rel=0.1)
    # The floor (4e-8 A at 0.2 V = 0.2 uS) is small beside 1% of 100-500 uS; it is bounded, not pinned.
    assert noise.floor_s < 1.0e-6
