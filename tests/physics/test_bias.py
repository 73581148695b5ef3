"""Biasing schemes: the voltage every cell sees, disturbance by programming order, line currents."""

from __future__ import annotations

import numpy as np
import pytest

from labrram.bench.factory import direct_simulated_bench
from labrram.config import parse_config
from labrram.physics import ArrayKind, BiasScheme, program_targets, sense_targets
from labrram.procedures.program import disturbance_by_order, program_array
from labrram.procedures.tuning import AlibartSettings


def cell_map(scheme: BiasScheme, v: float = 3.0) -> np.ndarray:
    index, voltages = program_targets(ArrayKind.PASSIVE, scheme, 4, 5, 1, 2, v)
    assert index == slice(None)
    return voltages.reshape(4, 5)


def test_v_third_puts_plus_or_minus_v_over_three_on_every_unselected_cell():
    cells = cell_map(BiasScheme.V_THIRD)
    assert cells[1, 2] == pytest.approx(3.0)
    unselected = np.delete(np.delete(cells, 1, axis=0), 2, axis=1)
    np.testing.assert_allclose(unselected, -1.0)  # opposite polarity, V/3
    np.testing.assert_allclose(np.delete(cells[1], 2), 1.0)  # same row
    np.testing.assert_allclose(np.delete(cells[:, 2], 1), 1.0)  # same column


def test_v_half_spares_cells_off_the_selected_lines():
    cells = cell_map(BiasScheme.V_HALF)
    assert cells[1, 2] == pytest.approx(3.0)
    np.testing.assert_allclose(np.delete(cells[1], 2), 1.5)
    np.testing.assert_allclose(np.delete(cells[:, 2], 1), 1.5)
    np.testing.assert_allclose(np.delete(np.delete(cells, 1, axis=0), 2, axis=1), 0.0)


def test_one_t_one_r_reaches_only_the_selected_device():
    index, voltages = program_targets(ArrayKind.ONE_T_ONE_R, BiasScheme.V_THIRD, 4, 5, 1, 2, 2.0)
    assert list(index) == [7] and list(voltages) == [2.0]


def test_v_third_read_collects_the_half_selected_currents_of_the_column():
    index, voltages = sense_targets(ArrayKind.PASSIVE, BiasScheme.V_THIRD, 3, 3, 0, 1, 0.3)
    assert list(index) == [1, 4, 7]
    np.testing.assert_allclose(voltages, [0.3, 0.1, 0.1])
    index, grounded = sense_targets(ArrayKind.PASSIVE, BiasScheme.GROUNDED, 3, 3, 0, 1, 0.3)
    assert list(index) == [1]  # the grounded neighbours carry no current
    np.testing.assert_allclose(grounded, [0.3])


def test_v_third_read_current_includes_neighbours():
    config = parse_config(
        {
            "bench": {"name": "b", "seed": 2},
            "sample": {
                "chip": "c",
                "preset": "tio2-passive-8x8",
                "overrides": {"read_noise_rel": 0.0, "read_noise_floor_a": 0.0},
                "arrays": [{"rows": 8, "cols": 8, "read_scheme": "V/3"}],
            },
        }
    )
    bench = direct_simulated_bench(config)
    truth = bench.chip.arrays["A1"].conductance_s()
    bench.select(3, 4)
    measured = bench.read(0.2).conductance_s
    expected = truth[3, 4] + (truth[:, 4].sum() - truth[3, 4]) / 3
    assert measured == pytest.approx(expected, rel=1e-3)


def test_earlier_programmed_devices_are_disturbed_more_under_v_third():
    early, late = [], []
    for seed in range(3):
        config = parse_config(
            {
                "bench": {"name": "b", "seed": seed},
                "sample": {
                    "chip": "c",
                    "preset": "tio2-passive-8x8",
                    "overrides": {"stuck_hrs_fraction": 0.0, "stuck_lrs_fraction": 0.0},
                },
            }
        )
        bench = direct_simulated_bench(config)
        targets = np.random.default_rng(seed).uniform(150e-6, 450e-6, (8, 8))
        table = disturbance_by_order(program_array(bench, "A1", targets, AlibartSettings()))
        early += [abs(v) for n, values in table.items() if n >= 40 for v in values]
        late += [abs(v) for n, values in table.items() if n <= 10 for v in values]
    assert np.median(early) > 1.5 * np.median(late)
