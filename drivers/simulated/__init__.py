"""Simulated instruments: emulators that take the real command sets and drive the simulated chip."""

from labrram.drivers.simulated.emulator import CommandError, NoReplyError, SimulatedInstrument
from labrram.drivers.simulated.keithley707b import Simulated707B

__all__ = ["CommandError", "NoReplyError", "Simulated707B", "SimulatedInstrument"]
