"""Instrument drivers (PyMeasure over PyVISA) and the simulated instruments that speak their languages."""
