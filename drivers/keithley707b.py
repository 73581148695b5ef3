"""Keithley 707B switching matrix (TSP): close, open and query crosspoints.

Crosspoints are named slot, row letter and two-digit column, e.g. "1A01" (slot 1, row A, column 1);
several go in one comma-separated list. PyMeasure has no driver for the 707B. Closing and opening print
the error count in the same message (`TSPInstrument.run_checked`): the reply says the relays have
switched and the command was accepted. ``open_all`` is a plain write, for the safe state.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from labrram.drivers.tsp import TSPInstrument

CROSSPOINT = re.compile(r"^[1-6][A-H](0[1-9]|1[0-2])$")


def crosspoint_list(crosspoints: Iterable[str]) -> str:
    """The TSP channel-list string for crosspoints, each checked ("1A01" ... "6H12")."""
    names = [c.strip().upper() for c in crosspoints]
    if not names:
        raise ValueError("no crosspoint given")
    for name in names:
        if not CROSSPOINT.match(name):
            raise ValueError(f"{name!r} is not a 707B crosspoint (slot 1-6, row A-H, column 01-12)")
    return ",".join(names)


def parse_closed(reply: str) -> set[str]:
    """Crosspoints in a ``channel.getclose`` reply: ';'-separated names, or ``nil`` for none."""
    reply = reply.strip()
    if reply in ("", "nil"):
        return set()
    return {name for name in reply.split(";") if name}


class Keithley707B(TSPInstrument):
    """Keithley 707B: crosspoints close, open, exclusive-close, closed-set query, error queue."""

    def __init__(self, adapter, name: str = "Keithley 707B switching matrix", **kwargs) -> None:
        super().__init__(adapter, name, **kwargs)

    def close_crosspoints(self, crosspoints: Iterable[str]) -> None:
        """Close crosspoints, keeping the others as they are; returns once the relays have switched."""
        self.run_checked([f'channel.close("{crosspoint_list(crosspoints)}")'])

    def exclusive_close(self, crosspoints: Iterable[str]) -> None:
        """Close exactly these crosspoints and open every other one; returns once they have switched."""
        self.run_checked([f'channel.exclusiveclose("{crosspoint_list(crosspoints)}")'])

    def open_crosspoints(self, crosspoints: Iterable[str]) -> None:
        """Open crosspoints; returns once the relays have switched."""
        self.run_checked([f'channel.open("{crosspoint_list(crosspoints)}")'])

    def open_all(self) -> None:
        """Open every crosspoint of every slot."""
        self.write('channel.open("allslots")')

    @property
    def closed_crosspoints(self) -> set[str]:
        """The crosspoints closed now, over all slots."""
        return parse_closed(self.ask('print(channel.getclose("allslots"))'))
