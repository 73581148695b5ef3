"""A small quiet simulated bench and its sample, for the database tests."""

from __future__ import annotations

from labrram.bench import DeviceAddress
from labrram.bench.factory import direct_simulated_bench
from labrram.config import BenchConfig, parse_config


def small_config(seed: int = 3, chip: str = "db-chip") -> BenchConfig:
    return parse_config(
        {
            "bench": {"name": "db-bench", "seed": seed},
            "sample": {
                "chip": chip,
                "preset": "tio2-passive-8x8",
                "overrides": {"stuck_hrs_fraction": 0.0, "stuck_lrs_fraction": 0.0},
                "arrays": [{"name": "A1", "rows": 4, "cols": 4}],
            },
        }
    )


def small_bench(seed: int = 3):
    return direct_simulated_bench(small_config(seed))


def targets(count: int = 16) -> dict[DeviceAddress, float]:
    devices = [DeviceAddress("A1", r, c) for c in range(4) for r in range(4)][:count]
    return {d: 150e-6 + 20e-6 * i for i, d in enumerate(devices)}
