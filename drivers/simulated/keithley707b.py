"""A simulated Keithley 707B switching matrix: the ``channel`` object in TSP over a set of closed relays.

The closed crosspoints are what the simulated wiring reads to decide which array lines each SMU
channel reaches. Channel lists take crosspoints, ranges (``"1A01:1B12"``: the rectangle of rows A-B and
columns 1-12 of slot 1), cards (``"slot2"``, ``"allslots"``) and channel patterns, as the 707B does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from labrram.drivers.simulated.clock import Timebase
from labrram.drivers.simulated.emulator import CommandError
from labrram.drivers.simulated.tsp import TSP_RUNTIME_ERROR, SimulatedTSPInstrument

CROSSPOINT = re.compile(r"^([1-6])([A-H])(0[1-9]|1[0-2])$")
PATTERN_NAME = re.compile(r"^[A-Za-z]\w{0,18}$")
ROWS = "ABCDEFGH"


class Simulated707B(SimulatedTSPInstrument):
    """Crosspoints of up to six 8x12 matrix cards; every one open at power-on and after reset."""

    identity = "Keithley Instruments Inc., Model 707B, 0000000, 1.0 (simulated)"
    model = "707B"
    lua_files = ("keithley707b.lua",)

    def __init__(self, timebase: Timebase | None = None) -> None:
        self.closed: set[str] = set()
        self.patterns: dict[str, frozenset[str]] = {}
        self.held: Callable[[float], None] = lambda seconds: None  # the wiring's stress, once wired
        super().__init__(timebase)

    def hold(self, seconds: float) -> None:
        """Time passes (``delay``) with every source on the matrix at its level."""
        self.held(seconds)
        self.timebase.advance(seconds)

    def lua_objects(self, tsp: Any, lua: Any) -> dict[str, Any]:
        hooks = {
            "close": lambda names: self.closed.update(self.crosspoints(names)),
            "open": lambda names: self.closed.difference_update(self.crosspoints(names)),
            "exclusiveclose": self._exclusive_close,
            "exclusiveslotclose": self._exclusive_slot_close,
            "getclose": lambda names: self._listed(self.closed & self.crosspoints(names)),
            "getstate": lambda names: ",".join(
                "1" if name in self.closed else "0" for name in sorted(self.crosspoints(names), key=_order)
            ),
            "pattern_set": self._set_pattern,
            "pattern_snapshot": lambda name: self._set_pattern(self._listed(self.closed) or "", name),
            "pattern_get": lambda name: self._listed(self._pattern(name)),
            "pattern_delete": lambda name: self.patterns.pop(self._pattern_key(name), None),
            "pattern_names": lambda: ",".join(sorted(self.patterns)),
        }
        return {"channel": tsp.matrix_channel(lua.table_from(hooks))}

    def reset_state(self) -> None:
        self.closed.clear()
        self.patterns.clear()

    def _exclusive_close(self, names: str) -> None:
        self.closed = set(self.crosspoints(names))

    def _exclusive_slot_close(self, names: str) -> None:
        chosen = self.crosspoints(names)
        slots = {name[0] for name in chosen}
        self.closed = {name for name in self.closed if name[0] not in slots} | chosen

    def _set_pattern(self, names: str, name: str) -> None:
        if not isinstance(name, str) or not PATTERN_NAME.match(name):
            raise CommandError(-1115, f"Parameter error: invalid pattern name {name!r}")
        self.patterns[name] = frozenset(self.crosspoints(names)) if names else frozenset()

    def _pattern_key(self, name: str) -> str:
        if name not in self.patterns:
            raise CommandError(-1115, f"Parameter error: no channel pattern {name!r}")
        return name

    def _pattern(self, name: str) -> frozenset[str]:
        return self.patterns[self._pattern_key(name)]

    @staticmethod
    def _listed(names: set[str] | frozenset[str]) -> str | None:
        """Crosspoints as the 707B lists them (slot, then row, then column; ';'-separated), None if none."""
        return ";".join(sorted(names, key=_order)) or None

    def crosspoints(self, channel_list: Any) -> set[str]:
        """Crosspoint names of a channel list."""
        if not isinstance(channel_list, str):
            raise CommandError(
                TSP_RUNTIME_ERROR, "TSP Runtime error at line 1: a channel list string expected"
            )
        names: set[str] = set()
        for item in (part.strip() for part in re.split(r"[,;]", channel_list)):
            if item == "allslots":
                names |= _card(None)
            elif re.fullmatch(r"slot[1-6]", item):
                names |= _card(int(item[4]))
            elif ":" in item:
                names |= _range(item)
            elif CROSSPOINT.match(item.upper()):
                names.add(item.upper())
            elif item in self.patterns:
                names |= self.patterns[item]
            else:
                raise CommandError(
                    TSP_RUNTIME_ERROR, f"TSP Runtime error at line 1: invalid channel '{item}'"
                )
        return names


def _order(name: str) -> tuple[str, str, str]:
    return name[0], name[1], name[2:]


def _range(item: str) -> set[str]:
    first, _, last = (part.strip().upper() for part in item.partition(":"))
    start, end = CROSSPOINT.match(first), CROSSPOINT.match(last)
    if start is None or end is None or start.group(1) != end.group(1) or _order(first) > _order(last):
        raise CommandError(TSP_RUNTIME_ERROR, f"TSP Runtime error at line 1: invalid channel range '{item}'")
    rows = ROWS[ROWS.index(start.group(2)) : ROWS.index(end.group(2)) + 1]
    low, high = sorted((int(start.group(3)), int(end.group(3))))
    return {f"{start.group(1)}{row}{col:02d}" for row in rows for col in range(low, high + 1)}


def _card(slot: int | None) -> set[str]:
    slots = range(1, 7) if slot is None else (slot,)
    return {f"{s}{row}{col:02d}" for s in slots for row in ROWS for col in range(1, 13)}
