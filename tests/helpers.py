"""Helpers shared by the tests: quiet parameter sets and population arrays."""

from __future__ import annotations

import dataclasses

import numpy as np

from labrram.physics import ArrayKind, CrossbarArray, DeviceParameters


def quiet(parameters: DeviceParameters, **changes: float) -> DeviceParameters:
    """Parameters without stuck, virgin or worn devices, so a test sees the switching alone."""
    base: dict[str, float] = {
        "stuck_hrs_fraction": 0.0,
        "stuck_lrs_fraction": 0.0,
        "virgin_fraction": 0.0,
        "endurance_cycles": 1e12,
    }
    base.update(changes)
    return dataclasses.replace(parameters, **base)


def population_array(parameters: DeviceParameters, size: int = 4096, seed: int = 0) -> CrossbarArray:
    """A 1 x size 1T1R array: every device can be driven with its own voltage."""
    return CrossbarArray(parameters, 1, size, ArrayKind.ONE_T_ONE_R, np.random.default_rng(seed))


def at_fraction(array: CrossbarArray, fraction: float) -> None:
    """Put every device at ``fraction`` of its own window."""
    pop = array.population
    array.set_conductance_s(pop.g_min_s + fraction * (pop.g_max_s - pop.g_min_s))
