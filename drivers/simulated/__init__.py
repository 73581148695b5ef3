"""Simulated instruments: emulators that take the real command sets and drive the simulated chip."""

from labrram.drivers.simulated.emulator import CommandError, NoReplyError, SimulatedInstrument
from labrram.drivers.simulated.keithley707b import Simulated707B
from labrram.drivers.simulated.keithley2600b import Load, Resistor, Simulated2600B
from labrram.drivers.simulated.keysight_b1500 import SimulatedB1500A
from labrram.drivers.simulated.keysight_b2900 import SimulatedB2900

__all__ = [
    "CommandError",
    "Load",
    "NoReplyError",
    "Resistor",
    "Simulated707B",
    "Simulated2600B",
    "SimulatedB1500A",
    "SimulatedB2900",
    "SimulatedInstrument",
]
