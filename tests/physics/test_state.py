"""A simulated chip saved and restored continues exactly where it stopped; another chip's state is refused."""

from __future__ import annotations

import numpy as np
import pytest

from labrram.bench import DeviceAddress
from labrram.bench.factory import bench_and_chip
from labrram.config import parse_config
from labrram.errors import ConfigError
from labrram.physics.state import load_chip, save_chip
from labrram.procedures.tuning import AlibartSettings, tune_device
from labrram.records import Read


def _config(preset: str = "hfo2-1t1r", rows: int = 4, overrides: dict | None = None):
    return parse_config(
        {
            "bench": {"name": "state", "seed": 12},
            "sample": {
                "chip": "state-chip",
                "preset": preset,
                "overrides": overrides or {},
                "arrays": [{"name": "M1", "rows": rows, "cols": 4}],
            },
        }
    )


def _reads(bench, device: DeviceAddress) -> list[float]:
    records = tune_device(bench, device, 80e-6, AlibartSettings(width_s=1e-6, max_pulses=40))
    return [r.conductance_s for r in records if isinstance(r, Read)]


MEMORY = {"polarity_memory_depth": 0.5, "polarity_memory_pulses": 4.0, "relaxation_tail_dof": 5.0}


@pytest.mark.parametrize("overrides", [None, MEMORY], ids=["preset", "polarity-memory-heavy-tails"])
def test_a_restored_chip_behaves_bit_for_bit_as_the_saved_one_would(tmp_path, overrides):
    bench, chip = bench_and_chip(_config(overrides=overrides))
    bench.select(0, 0, "M1")
    bench.pulse(2.95, 1e-6)  # forming (the preset forms near 2.8 V)
    _reads(bench, DeviceAddress("M1", 0, 0))
    bench.wait(100.0)
    save_chip(chip, tmp_path / "chip.npz")
    saved_at = chip.now_s
    expected = _reads(bench, DeviceAddress("M1", 1, 1)) + _reads(bench, DeviceAddress("M1", 0, 0))
    restored_bench, restored = bench_and_chip(_config(overrides=overrides))
    load_chip(restored, tmp_path / "chip.npz")
    assert restored.now_s == saved_at
    got = _reads(restored_bench, DeviceAddress("M1", 1, 1)) + _reads(
        restored_bench, DeviceAddress("M1", 0, 0)
    )
    assert got == expected
    assert np.array_equal(restored.arrays["M1"].population.virgin, chip.arrays["M1"].population.virgin)


def test_another_chips_state_is_refused(tmp_path):
    _, chip = bench_and_chip(_config())
    save_chip(chip, tmp_path / "chip.npz")
    _, other = bench_and_chip(_config(rows=5))
    with pytest.raises(ConfigError, match="different simulated chip"):
        load_chip(other, tmp_path / "chip.npz")
