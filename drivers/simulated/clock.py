"""Simulated time: what an emulator's timer reads and its ``delay`` advances (a chip's clock or its own)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Timebase(Protocol):
    """A clock that simulated instruments read and advance."""

    now_s: float

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass."""


@dataclass
class ManualClock:
    """A clock advanced only by the instruments (when no chip keeps time)."""

    now_s: float = 0.0

    def advance(self, seconds: float) -> None:
        self.now_s += seconds
