"""A simulated Keithley 707B switching matrix: crosspoint state behind the 707B's TSP commands.

The closed crosspoints are what the simulated wiring reads to decide which array lines each SMU
channel reaches.
"""

from __future__ import annotations

import re

from labrram.drivers.keithley707b import CROSSPOINT
from labrram.drivers.simulated.emulator import CommandError
from labrram.drivers.simulated.tsp import TSP_RUNTIME_ERROR, SimulatedTSPInstrument, string_argument

CHANNEL_CALL = re.compile(r"^channel\.(close|open|exclusiveclose|getclose)\((.*)\)$")


class Simulated707B(SimulatedTSPInstrument):
    """Crosspoints of up to six 8x12 matrix cards; every one open at power-on and after reset."""

    identity = "Keithley Instruments Inc., Model 707B, 0000000, 1.0 (simulated)"

    def __init__(self) -> None:
        super().__init__()
        self.closed: set[str] = set()

    def execute(self, command: str) -> None:
        if command in ("reset()", "*RST"):
            self.closed.clear()
            return None
        call = CHANNEL_CALL.match(command)
        if call is None or call.group(1) == "getclose":
            return super().execute(command)
        action, names = call.group(1), self._crosspoints(string_argument(call.group(2), command), command)
        if action == "close":
            self.closed |= names
        elif action == "exclusiveclose":
            self.closed = set(names)
        else:
            self.closed -= names
        return None

    def evaluate(self, expression: str, command: str) -> str:
        call = CHANNEL_CALL.match(expression)
        if call is not None and call.group(1) == "getclose":
            selection = self._crosspoints(string_argument(call.group(2), command), command)
            shown = sorted(self.closed & selection)
            return ";".join(shown) if shown else "nil"
        return super().evaluate(expression, command)

    def _crosspoints(self, channel_list: str, command: str) -> set[str]:
        """Crosspoint names of a channel list; ``allslots`` and ``slotN`` stand for whole cards."""
        names: set[str] = set()
        for item in (part.strip() for part in channel_list.split(",")):
            if item == "allslots":
                names |= _card(None)
            elif re.fullmatch(r"slot[1-6]", item):
                names |= _card(int(item[4]))
            elif CROSSPOINT.match(item):
                names.add(item)
            else:
                raise CommandError(
                    TSP_RUNTIME_ERROR, f"TSP Runtime error at line 1: invalid channel '{item}'"
                )
        return names


def _card(slot: int | None) -> set[str]:
    slots = range(1, 7) if slot is None else (slot,)
    return {f"{s}{row}{col:02d}" for s in slots for row in "ABCDEFGH" for col in range(1, 13)}
