"""The tuning loop run inside the simulated chip against the same loop stepped by the procedure."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from labrram.bench import DeviceAddress
from labrram.bench.factory import direct_simulated_bench
from labrram.config import parse_config
from labrram.procedures.program import program_array
from labrram.procedures.tuning import AlibartSettings, tune_device
from labrram.records import DeviceTrace, Progress, Result

# Every term of the step model, wear within a few cycles, forming, thermal activation: what the loop
# must reproduce beyond the presets.
EVERY_OPTION = {
    "set_state_exponent": 1.7,
    "reset_state_growth": -0.4,
    "set_c2c_growth": 0.5,
    "subthreshold_fraction": 0.3,
    "subthreshold_slope_v": 0.1,
    "min_switching_time_s": 1e-7,
    "switching_activation_energy_ev": 0.2,
    "polarity_memory_depth": 0.5,
    "polarity_memory_pulses": 3.0,
    "endurance_cycles": 20.0,
    "virgin_fraction": 0.2,
    "relaxation_drift_tilt_s": 1e-6,
}


def bench(overrides: dict, seed: int, temperature_c: float = 25.0, **bench_keys: object):
    """A direct simulated bench on a two-array TiO2 chip (the second array ages alongside)."""
    config = parse_config(
        {
            "bench": {"name": "b", "seed": seed, **bench_keys},
            "sample": {
                "chip": "c",
                "preset": "tio2-passive-8x8@1",
                "overrides": overrides,
                "temperature_c": temperature_c,
                "arrays": [{"name": "A1", "rows": 12, "cols": 10}, {"name": "A2", "rows": 2, "cols": 2}],
            },
        }
    )
    return direct_simulated_bench(config, runs_loops=True)


def expanded(record) -> list:
    """A record, or a trace as the Reads and Pulses it stands for."""
    return list(record.records()) if isinstance(record, DeviceTrace) else [record]


def tuned(bench, targets, rules: AlibartSettings, traced: bool) -> list:
    """Every record of tuning ``targets`` (device -> target), traces spelled out as their records."""
    records = []
    for device, target_s in targets.items():
        for record in tune_device(bench, device, target_s, rules, traced=traced):
            records.extend(expanded(record))
    return records


def state(bench) -> tuple:
    chip = bench.chip
    arrays = chip.arrays.values()
    return (
        chip.now_s,
        [(a._effective_age_s, a._clock_s, a._rng.bit_generator.state) for a in arrays],
        [a._compliance_rng.bit_generator.state for a in arrays],
        [a.estimated_conductance_s().tolist() for a in arrays],
        [a.cycles().tolist() for a in arrays],
        [a.stuck_map().tolist() for a in arrays],
    )


@settings(max_examples=12, deadline=None)
@given(
    options=st.booleans(),
    strategy=st.sampled_from(["alibart", "log-step"]),
    unresponsive=st.sampled_from([0, 3, 50]),
    read_voltage_v=st.sampled_from([0.2, 0.35]),  # 0.35 V: reads that disturb the selected row
    pulse_off_s=st.sampled_from([0.0, 1e-6]),
    temperature_c=st.sampled_from([25.0, 85.0]),
    seed=st.integers(0, 2**16),
)
@example(True, "alibart", 50, 0.35, 1e-6, 85.0, 3)  # every option, disturbing reads, off time, heat
@example(False, "log-step", 3, 0.2, 0.0, 25.0, 4)  # the preset as it is
def test_the_loop_inside_the_chip_takes_the_steps_the_procedure_takes(
    options, strategy, unresponsive, read_voltage_v, pulse_off_s, temperature_c, seed
):
    overrides = EVERY_OPTION if options else {}
    rules = AlibartSettings(
        strategy=strategy, unresponsive_pulses=unresponsive, read_voltage_v=read_voltage_v, max_pulses=400
    )
    rng = np.random.default_rng(seed)
    targets = {
        DeviceAddress("A1", int(r), int(c)): float(rng.uniform(150e-6, 450e-6))
        for r, c in rng.integers(0, 10, (5, 2))
    }
    inside, stepped = (bench(overrides, seed, temperature_c) for _ in "ab")
    inside.pulse_off_s = stepped.pulse_off_s = pulse_off_s
    assert tuned(inside, targets, rules, traced=True) == tuned(stepped, targets, rules, traced=False)
    assert state(inside) == state(stepped)


def test_a_traced_tuning_yields_one_trace_and_its_result():
    inside = bench({}, 1)
    device = DeviceAddress("A1", 3, 4)
    records = list(tune_device(inside, device, 300e-6, AlibartSettings(), traced=True))
    assert [type(r).__name__ for r in records] == ["DeviceTrace", "Result"]
    trace, result = records
    pulses = int(np.count_nonzero(trace.kind))
    assert result.values["pulses"] == pulses > 0
    assert result.values["achieved_s"] == trace.current_a[-1] / trace.voltage_v[-1]
    assert np.all(np.diff(trace.t_s) > 0)


@pytest.mark.parametrize(
    ("overrides", "bench_keys"),
    [
        ({"read_noise_flicker": 0.01}, {}),  # 1/f noise: its own draws, not in the loop
        ({"relaxation_tail_dof": 5.0}, {}),  # Student-t relaxation increments
        ({}, {"read_current_range_a": 1e-3}),  # a fixed read range: over range is an error mid-loop
    ],
)
def test_what_the_loop_does_not_cover_is_stepped(overrides, bench_keys):
    stepping = bench(overrides, 2, **bench_keys)
    stepping.select(1, 1, "A1")
    assert stepping.run_tuning_loop(300e-6, AlibartSettings(), (297e-6, 303e-6)) is None


def test_a_loop_whose_ramps_break_a_safety_limit_is_left_to_the_stepped_procedure():
    inside = bench({}, 2)
    inside.select(1, 1, "A1")
    beyond = AlibartSettings(set_stop_v=3.5)
    assert inside.run_tuning_loop(300e-6, beyond, (297e-6, 303e-6)) is None


def test_a_bench_that_does_not_run_loops_leaves_them_to_the_procedure():
    stepping = bench({}, 2)
    stepping.runs_loops = False
    stepping.select(1, 1, "A1")
    assert stepping.run_tuning_loop(300e-6, AlibartSettings(), (297e-6, 303e-6)) is None
    records = list(tune_device(stepping, DeviceAddress("A1", 1, 1), 300e-6, AlibartSettings(), traced=True))
    assert {type(r).__name__ for r in records} == {"Read", "Pulse", "Result"}


def test_programming_an_array_in_the_chip_gives_the_stepped_records():
    """Weights programmed in order (disturbance Results from the reads after) are the same either way."""
    targets_s = np.random.default_rng(5).uniform(150e-6, 450e-6, (12, 10))
    targets_s[::3, ::2] = np.nan  # devices left out
    runs, traces = [], []
    for runs_loops in (True, False):
        programming = bench({}, 6)
        programming.runs_loops = runs_loops
        records = list(program_array(programming, "A1", targets_s, AlibartSettings(max_pulses=300)))
        traces.append(sum(isinstance(r, DeviceTrace) for r in records))
        runs.append([x for r in records if not isinstance(r, Progress) for x in expanded(r)])
    assert traces == [np.isfinite(targets_s).sum(), 0]
    assert runs[0] == runs[1]
    assert any(isinstance(r, Result) and r.kind == "disturbance" for r in runs[0])
