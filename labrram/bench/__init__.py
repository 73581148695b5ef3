"""Benches: the interface procedures use to reach a chip, with safety limits and a safe state."""

from labrram.bench.base import ArrayGeometry, Bench, DeviceAddress, DeviceBlock, PulseResult, ReadResult
from labrram.bench.safety import SafetyLimits
from labrram.bench.simulated import SimulatedBench

__all__ = [
    "ArrayGeometry",
    "Bench",
    "DeviceAddress",
    "DeviceBlock",
    "PulseResult",
    "ReadResult",
    "SafetyLimits",
    "SimulatedBench",
]
