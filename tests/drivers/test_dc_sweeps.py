"""DC stimuli through the drivers change devices: a staircase sweep forms a virgin device under its
compliance, and a bipolar sweep traces SET/RESET hysteresis, as on a real RRAM bench."""

from __future__ import annotations

import numpy as np

from labrram.bench.factory import simulated_instrument_bench
from labrram.config import parse_config


def bench_with(overrides: dict[str, float]):
    config = parse_config(
        {
            "bench": {"name": "dc", "seed": 2, "read_duration_s": 1e-4},
            "sample": {
                "chip": "dc-chip",
                # Version 1: version 2's doubled relaxation spread moves a just-formed cell by ~2% between
                # the emulator's compliance solution (on the last evaluated conductances) and the read, so a
                # held current sits up to 2% under the limit; this test is about the SMU's DC behaviour.
                "preset": "tio2-passive-8x8@1",
                "overrides": {"stuck_hrs_fraction": 0.0, "stuck_lrs_fraction": 0.0, **overrides},
                "arrays": [{"name": "A1", "rows": 4, "cols": 4}],
            },
            "safety": {"max_positive_v": 3.0, "max_compliance_a": 1e-3},
        }
    )
    bench, lab = simulated_instrument_bench(config)
    bench.select(1, 2, "A1")  # the selected lines on smu1 a (row) and b (column), the others grounded
    return bench, lab


def sweep(bench, voltages_v: list[float], compliance_a: float) -> tuple[np.ndarray, np.ndarray]:
    """A list sweep with SweepVListMeasureI on the selected row's SMU: (source values, currents)."""
    smu = bench.roles["selected_row"].channel.parent
    listed = ", ".join(f"{v:.6g}" for v in voltages_v)
    smu.write(f"smua.source.limiti = {compliance_a:g}")
    smu.write(f"SweepVListMeasureI(smua, {{{listed}}}, 1e-3, {len(voltages_v)})")
    n = len(voltages_v)
    printed = smu.ask(f"printbuffer(1, {n}, smua.nvbuffer1.sourcevalues, smua.nvbuffer1.readings)")
    smu.write("smua.source.levelv = 0")
    assert smu.check_errors() == []
    values = np.array([float(v) for v in printed.split(",")])
    return values[0::2], values[1::2]


def test_a_staircase_sweep_forms_the_row_under_its_compliance_and_then_holds_the_limit():
    bench, lab = bench_with({"virgin_fraction": 1.0, "forming_voltage_v": 2.0, "forming_voltage_d2d_v": 0.05})
    crossbar = lab.chip.arrays["A1"]
    assert crossbar.conductance_s()[1, 2] < 2e-6  # virgin
    steps = list(np.round(np.arange(0.0, 2.5001, 0.1), 3))
    levels, currents = sweep(bench, steps, compliance_a=100e-6)
    formed = np.abs(currents) >= 0.99 * 100e-6
    formed_at = levels[np.argmax(formed)]
    assert 1.8 <= formed_at <= 2.2  # near the forming voltage, where the current jumps to the compliance
    assert np.all(formed[levels >= formed_at])  # from there the SMU holds its limit
    assert np.all(np.abs(currents[levels < 1.7]) < 10e-6)  # below, the row's four virgin cells
    g = crossbar.conductance_s()
    # The row's other cells share the sweep (their columns are grounded); the first to form takes the
    # current, and the SMU's voltage falls: what formed in the same step, under the compliance, is all.
    newly_formed = {tuple(rc) for rc in np.argwhere(g > 10e-6)}
    assert newly_formed and all(row == 1 for row, _ in newly_formed)
    assert np.all(g[g > 10e-6] <= 100e-6 / 0.4 * 2)  # each capped near I_cc / V_hold


def test_a_bipolar_sweep_traces_set_reset_hysteresis():
    bench, _ = bench_with({})
    up = list(np.round(np.arange(0.0, 1.5001, 0.1), 3))
    down = list(np.round(np.arange(-0.1, -1.6001, -0.1), 3))
    path = up + up[-2::-1] + down + down[-2::-1] + [0.0]
    levels, currents = sweep(bench, path, compliance_a=1e-3)
    conductance = np.where(levels != 0, currents / np.where(levels != 0, levels, 1), np.nan)
    # At +0.3 V: low conductance going up (before SET), high coming back down (after SET).
    at = np.flatnonzero(np.isclose(levels, 0.3))
    assert conductance[at[1]] > 1.5 * conductance[at[0]]
    # At -0.3 V: high going down (before RESET), low coming back (after RESET).
    at = np.flatnonzero(np.isclose(levels, -0.3))
    assert conductance[at[0]] > 1.5 * conductance[at[1]]
