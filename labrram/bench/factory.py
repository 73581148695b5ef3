"""Build the bench a configuration describes."""

from __future__ import annotations

import numpy as np

from labrram.bench.simulated import SimulatedBench
from labrram.config import BenchConfig
from labrram.physics.array import CrossbarArray
from labrram.physics.chip import SimulatedChip


def simulated_chip(config: BenchConfig) -> SimulatedChip:
    """The simulated chip of a configuration's sample, seeded by ``bench.seed``."""
    sample = config.sample
    rng = np.random.default_rng(config.seed)
    arrays = {
        geometry.name: CrossbarArray(sample.parameters, geometry.rows, geometry.cols, geometry.kind, rng)
        for geometry in sample.arrays
    }
    return SimulatedChip(arrays, temperature_c=sample.temperature_c)


def direct_simulated_bench(config: BenchConfig) -> SimulatedBench:
    """A bench that drives the simulated chip directly (no instrument drivers)."""
    return SimulatedBench(
        simulated_chip(config),
        {geometry.name: geometry for geometry in config.sample.arrays},
        config.safety,
        read_duration_s=config.read_duration_s,
        default_compliance_a=config.sample.preset.default_compliance_a,
    )
