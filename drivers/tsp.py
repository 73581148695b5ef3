"""What Keithley TSP instruments (2600B, 707B) share: the error queue, read the TSP way."""

from __future__ import annotations

from pymeasure.instruments import Instrument

from labrram.drivers.errors import RaisesQueuedErrors


class TSPErrorQueueMixin(RaisesQueuedErrors):
    """``next_error``/``check_errors`` over TSP's ``errorqueue``, and a check that raises.

    TSP prints numbers in exponent form and an error as tab-separated code, message, severity and
    node; an empty queue reports code 0 ("Queue Is Empty").
    """

    @property
    def next_error(self) -> tuple[int, str]:
        """The oldest error of the queue as (code, message); (0, ...) when the queue is empty."""
        fields = self.ask("print(errorqueue.next())").strip().split("\t")
        code = int(float(fields[0]))
        message = fields[1].strip().strip('"') if len(fields) > 1 else ""
        return code, message

    def error_count(self) -> int:
        """How many errors wait in the queue."""
        return int(float(self.ask("print(errorqueue.count)")))

    def check_errors(self) -> list[tuple[int, str]]:
        """Read and return every queued error, oldest first."""
        return [self.next_error for _ in range(self.error_count())]

    def clear_errors(self) -> None:
        """Empty the error queue."""
        self.write("errorqueue.clear()")


class TSPInstrument(TSPErrorQueueMixin, Instrument):
    """A Keithley TSP instrument: newline-terminated messages, identity, ``reset()``, the error queue."""

    def __init__(self, adapter, name: str, **kwargs) -> None:
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\n")
        super().__init__(adapter, name, includeSCPI=False, **kwargs)

    @property
    def id(self) -> str:
        """Identification string (manufacturer, model, serial, firmware)."""
        return self.ask("*IDN?").strip()

    def reset(self) -> None:
        """Return to the power-on state (sources at 0 V and off, crosspoints open)."""
        self.write("reset()")
