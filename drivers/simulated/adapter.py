"""A PyMeasure adapter that hands messages straight to an emulator, in the same process.

For tests and for benches that want no transport at all; drivers cannot tell it from a VISA
connection: they write the same commands and read the same replies.
"""

from __future__ import annotations

from pymeasure.adapters import Adapter

from labrram.drivers.simulated.emulator import NoReplyError, SimulatedInstrument


class EmulatorAdapter(Adapter):
    """Messages go to ``emulator.write``; reads come from ``emulator.read`` (TimeoutError if none)."""

    def __init__(self, emulator: SimulatedInstrument, **kwargs) -> None:
        super().__init__(**kwargs)
        self.emulator = emulator

    def _write(self, command: str, **kwargs) -> None:
        self.emulator.write(command)

    def _read(self, **kwargs) -> str:
        try:
            return self.emulator.read()
        except NoReplyError as error:
            raise TimeoutError(str(error)) from None
