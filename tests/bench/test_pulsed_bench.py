"""Seed 002's pulse bench (4200A-SCS PMU + 707B) beyond the shared suite: its own settings, its limits."""

from __future__ import annotations

import pytest

from labrram.bench import DeviceAddress
from labrram.bench.factory import simulated_instrument_bench
from labrram.errors import ConfigError, InstrumentError
from labrram.procedures.tuning import TUNING_PRESETS, preset_for, tune_devices
from labrram.records import Pulse, Result
from tests.bench.cases import PULSER_INSTRUMENTS, suite_config


def seed_002_config():
    """The suite's chip with seed 002's read: 10 us at 0.2 V on the 100 uA range."""
    config = suite_config(instruments=PULSER_INSTRUMENTS)
    return config.__class__(**{**vars(config), "read_duration_s": 10e-6, "read_current_range_a": 100e-6})


def test_seed_002_alibart_tuning_runs_through_the_drivers_with_200_ns_pulses():
    bench, lab = simulated_instrument_bench(seed_002_config())
    assert preset_for(bench.min_pulse_width_s) == "seed-002"
    settings = TUNING_PRESETS["seed-002"]
    g = lab.chip.arrays["A1"].conductance_s
    for device, target_s in {DeviceAddress("A1", 0, 0): 200e-6, DeviceAddress("A1", 1, 2): 300e-6}.items():
        records = list(tune_devices(bench, {device: target_s}, settings))
        pulses = [r for r in records if isinstance(r, Pulse)]
        assert pulses and {p.width_s for p in pulses} == {200e-9}
        assert all(p.compliance_a is None for p in pulses)  # a pulse generator limits nothing
        (result,) = [r.values for r in records if isinstance(r, Result) and r.kind == "tuning"]
        assert result["success"]
        # the last ten reads fell in the 1% band; the device itself is there to within its read noise
        assert g()[device.row, device.col] == pytest.approx(target_s, rel=0.02)


def test_a_pulse_asking_for_a_compliance_is_refused_and_leaves_the_bench_safe():
    bench, lab = simulated_instrument_bench(seed_002_config())
    bench.select(0, 0)
    before = lab.chip.arrays["A1"].conductance_s().copy()
    with pytest.raises(InstrumentError, match="no current compliance"):
        bench.pulse(1.5, 200e-9, compliance_a=1e-4)
    assert (lab.chip.arrays["A1"].conductance_s() == before).all()
    assert not lab.matrix.closed and not any(c.state.output for c in lab.pulser.pmu.values())


def test_a_read_beyond_the_fixed_range_is_taken_again_a_range_up():
    config = seed_002_config()
    bench, lab = simulated_instrument_bench(
        config.__class__(**{**vars(config), "read_current_range_a": 1e-6})
    )
    bench.select(0, 0)  # about 100 uS: 20 uA at 0.2 V, beyond 1 uA and 10 uA
    executed = []
    execute = lab.pulser._execute
    lab.pulser._execute = lambda: executed.append(1) or execute()
    read = bench.read(0.2)
    assert read.conductance_s == pytest.approx(lab.chip.arrays["A1"].conductance_s()[0, 0], rel=0.02)
    assert len(executed) == 3  # 1 uA, 10 uA, then 100 uA
    assert lab.pulser.pmu[2].range_a == pytest.approx(100e-6)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"smu1": {"driver": "keithley2600b", "resource": "GPIB0::26::INSTR"}}, "instruments.pulser"),
        ({"pulser": {"driver": "keithley2600b", "resource": "x"}}, "instruments.pulser.driver"),
    ],
)
def test_pulser_configuration_errors_name_the_key(change, key):
    with pytest.raises(ConfigError) as refused:
        suite_config(instruments={**PULSER_INSTRUMENTS, **change})
    assert refused.value.key == key


def test_a_pulser_bench_keeps_the_pmu_roles_on_rows_a_to_d():
    wiring = {
        "selected_row": {"smu": "smu1.a", "matrix_row": "E"},
        "selected_col": {"smu": "smu1.b", "matrix_row": "F"},
    }
    with pytest.raises(ConfigError, match="rows A-D"):
        suite_config(wiring=wiring, instruments=PULSER_INSTRUMENTS)
