"""Instrument drivers (PyMeasure over PyVISA) and the simulated instruments that speak their languages."""

from labrram.drivers.keithley707b import Keithley707B
from labrram.drivers.keithley2600b import Keithley2600B
from labrram.drivers.keysight_b1500 import KeysightB1500A
from labrram.drivers.keysight_b2900 import KeysightB2900

__all__ = ["Keithley707B", "Keithley2600B", "KeysightB1500A", "KeysightB2900"]
