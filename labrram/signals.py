"""Termination signals taken as an interrupt, so that SIGTERM and SIGHUP end a run as Ctrl-C does.

Each catchable signal (SIGINT, SIGTERM, SIGHUP) raises `Interrupted` once where the program is; the bench
then goes to its safe state and the run is marked aborted on the way out. Further signals are ignored
until that cleanup is over: a second Ctrl-C must not cut the safe state short.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType

CAUGHT = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class Interrupted(KeyboardInterrupt):
    """A run stopped by a signal; ``signal_number`` says which (exit status 128 + it, as shells report)."""

    def __init__(self, signal_number: int) -> None:
        self.signal_number = signal_number
        super().__init__(f"stopped by {signal.Signals(signal_number).name}")


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """Within the block, the first catchable signal raises `Interrupted`; later ones are ignored.

    Only the main thread can take signals: elsewhere the block changes nothing.
    """
    try:
        previous = {number: signal.getsignal(number) for number in CAUGHT}

        def interrupt(number: int, frame: FrameType | None) -> None:
            for caught in CAUGHT:
                signal.signal(caught, signal.SIG_IGN)
            raise Interrupted(number)

        for number in CAUGHT:
            signal.signal(number, interrupt)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
