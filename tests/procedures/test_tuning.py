"""Alibart tuning: the exact amplitude schedule on a scripted bench, and convergence on the chip."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest

from labrram.bench import ArrayGeometry, Bench, DeviceAddress, SafetyLimits
from labrram.bench.factory import direct_simulated_bench
from labrram.config import parse_config
from labrram.physics import ArrayKind
from labrram.procedures.tuning import AlibartSettings, tune_device
from labrram.records import Pulse, PulseKind, Read, Result


class ScriptedBench(Bench):
    """A bench whose reads return a fixed sequence of conductances and that logs every pulse."""

    def __init__(self, conductances_s: Iterable[float]) -> None:
        geometry = ArrayGeometry("A1", 2, 2, ArrayKind.ONE_T_ONE_R)
        super().__init__({"A1": geometry}, SafetyLimits())
        self._reads = iter(conductances_s)
        self.amplitudes: list[float] = []
        self._t = 0.0

    def now(self) -> float:
        return self._t

    def _route(self, device: DeviceAddress) -> None:
        pass

    def _apply_pulse(self, device, amplitude_v, width_s, compliance_a) -> tuple[float, float]:
        self.amplitudes.append(amplitude_v)
        started_s, self._t = self._t, self._t + width_s
        return started_s, 0.0

    def _measure(self, device, voltage_v) -> tuple[float, float]:
        started_s, self._t = self._t, self._t + 1e-5
        return started_s, next(self._reads) * voltage_v

    def _wait(self, seconds: float) -> None:
        self._t += seconds

    def _safe_state(self) -> None:
        pass


SETTINGS = AlibartSettings(
    set_start_v=1.0,
    set_stop_v=1.02,
    set_step_v=0.01,
    reset_start_v=-1.0,
    reset_stop_v=-1.01,
    reset_step_v=0.01,
    successive_reads=3,
)
DEVICE = DeviceAddress("A1", 0, 1)
TARGET = 100e-6


def run(reads: list[float], settings: AlibartSettings = SETTINGS) -> tuple[list, ScriptedBench]:
    bench = ScriptedBench(reads)
    return list(tune_device(bench, DEVICE, TARGET, settings)), bench


def test_set_ramp_climbs_and_clamps_then_reset_restarts_it():
    low, high, ok = 90e-6, 110e-6, 100e-6
    records, bench = run([low, low, low, low, high, high, low, ok, ok, ok])
    assert bench.amplitudes == pytest.approx([1.0, 1.01, 1.02, 1.02, -1.0, -1.01, 1.0])
    kinds = [r.kind for r in records if isinstance(r, Pulse)]
    assert kinds == [PulseKind.SET] * 4 + [PulseKind.RESET] * 2 + [PulseKind.SET]
    result = records[-1]
    assert isinstance(result, Result) and result.values["success"]
    assert result.values["pulses"] == 7


def test_an_out_of_band_read_restarts_the_successive_count():
    ok, low = 100.5e-6, 98e-6
    records, bench = run([ok, ok, low, ok, ok, ok])
    assert bench.amplitudes == [1.0]
    assert sum(isinstance(r, Read) for r in records) == 6
    assert records[-1].values["success"]


def test_the_pulse_budget_ends_a_hopeless_tuning_as_a_failure():
    settings = AlibartSettings(max_pulses=5, successive_reads=3)
    records, bench = run([50e-6] * 20, settings)
    assert len(bench.amplitudes) == 5
    result = records[-1]
    assert result.values == {**result.values, "success": False, "pulses": 5, "achieved_s": 50e-6}


@pytest.mark.parametrize(
    "changes",
    [{"set_start_v": 2.5, "set_stop_v": 2.0}, {"reset_start_v": 0.5}, {"tolerance": 0.0}],
)
def test_inconsistent_settings_are_rejected(changes):
    with pytest.raises(ValueError):
        AlibartSettings(**changes)


def chip_bench(stuck: dict[str, float]):
    return direct_simulated_bench(
        parse_config(
            {
                "bench": {"name": "b", "seed": 21},
                "sample": {"chip": "c", "preset": "tio2-passive-8x8", "overrides": stuck},
            }
        )
    )


def test_tuning_reaches_targets_across_the_window_on_the_simulated_chip():
    bench = chip_bench({"stuck_hrs_fraction": 0.0, "stuck_lrs_fraction": 0.0})
    for (row, col), target in zip(
        [(0, 0), (3, 5), (7, 2), (5, 7)], [150e-6, 250e-6, 350e-6, 450e-6], strict=True
    ):
        records = list(tune_device(bench, DeviceAddress("A1", row, col), target, AlibartSettings()))
        result = records[-1]
        assert result.values["success"], (row, col, result.values)
        assert abs(result.values["achieved_s"] / target - 1) <= 0.01
        reads = [r.conductance_s for r in records if isinstance(r, Read)]
        assert all(abs(g / target - 1) <= 0.01 for g in reads[-10:])


def test_stuck_devices_are_reported_as_failures_after_the_unresponsive_pulses():
    bench = chip_bench({"stuck_hrs_fraction": 1.0, "stuck_lrs_fraction": 0.0})
    for limit in (0, 50):
        settings = AlibartSettings(max_pulses=300, unresponsive_pulses=limit)
        records = list(tune_device(bench, DeviceAddress("A1", 2, 2), 300e-6, settings))
        amplitudes = [r.amplitude_v for r in records if isinstance(r, Pulse)]
        climb = amplitudes.index(2.0)  # up the 0.8-2 V ramp in 5 mV steps (summed in floating point)
        assert 240 <= climb <= 241
        result = records[-1]
        assert not result.values["success"]
        assert result.values["unresponsive"] is bool(limit)
        assert result.values["pulses"] == len(amplitudes) == (climb + limit if limit else 300)
        assert result.values["achieved_s"] < 110e-6
    truth = bench.chip.arrays["A1"].conductance_s()
    assert np.all(truth <= 100e-6)


def test_a_device_that_still_moves_at_the_ramps_end_is_not_unresponsive():
    settings = AlibartSettings(
        set_start_v=1.0, set_stop_v=1.02, set_step_v=0.01, successive_reads=3, unresponsive_pulses=4
    )
    _, bench = run([50e-6] * 10, settings)
    assert len(bench.amplitudes) == 2 + 4  # two up the ramp, four at its end without a change
    climbing = [50e-6 + k * 5e-6 for k in range(8)] + [100e-6] * 3  # 5 uS a pulse: beyond the 2 uS band
    records, bench = run(climbing, settings)
    assert records[-1].values["success"] and not records[-1].values["unresponsive"]
    assert len(bench.amplitudes) == 8
