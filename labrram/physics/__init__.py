"""Device physics of simulated RRAM chips: vectorized, seeded, on a simulated clock."""

from labrram.physics.array import CrossbarArray
from labrram.physics.bias import cell_voltages, line_voltages, program_targets, sense_targets
from labrram.physics.chip import SimulatedChip
from labrram.physics.parameters import ArrayKind, BiasScheme, DeviceParameters
from labrram.physics.presets import HFO2_1T1R, PRESETS, TIO2_PASSIVE_8X8, ChipPreset, get_preset
from labrram.physics.retention import acceleration_factor

__all__ = [
    "HFO2_1T1R",
    "PRESETS",
    "TIO2_PASSIVE_8X8",
    "ArrayKind",
    "BiasScheme",
    "ChipPreset",
    "CrossbarArray",
    "DeviceParameters",
    "SimulatedChip",
    "acceleration_factor",
    "cell_voltages",
    "get_preset",
    "line_voltages",
    "program_targets",
    "sense_targets",
]
