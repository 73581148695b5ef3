"""What Keithley TSP instruments (2600B, 707B) share: the error queue, read the TSP way."""

from __future__ import annotations

import math
from collections.abc import Sequence

from pymeasure.instruments import Instrument
from pymeasure.instruments.validators import strict_range

from labrram.drivers.errors import RaisesQueuedErrors


def tsp_value(value: float) -> str:
    """A number as sent to a TSP instrument: the shortest text that reads back as the same float.

    TSP (Lua) reads numbers in double precision, so nothing is rounded on the way (``%g`` would keep
    only 6 significant digits). Whole numbers go without a decimal point, as ``1`` or ``-2``.
    """
    number = float(value)
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)


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

    def run_checked(self, statements: Sequence[str], expressions: Sequence[str] = ()) -> list[str]:
        """Run statements and print expressions in one chunk, with the error count; raise if it is not 0.

        The instrument runs a line as one chunk and stops at the first failing statement, printing nothing
        after it (the read then times out); the count printed last also catches errors queued earlier.
        Waiting for the reply means the statements have been executed.
        """
        command = "; ".join([*statements, f"print({', '.join([*expressions, 'errorqueue.count'])})"])
        reply = self.ask(command)
        fields = reply.strip().split("\t")
        if len(fields) != len(expressions) + 1:
            raise ValueError(f"{self.name}: unexpected reply {reply!r} to {command!r}")
        if int(float(fields[-1])):
            self.raise_errors(command)
        return fields[:-1]

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

    def set_precision(self, digits: int) -> None:
        """Significant digits of every printed number (TSP ``format.asciiprecision``, 1-16)."""
        strict_range(digits, [1, 16])
        self.write(f"format.asciiprecision = {int(digits)}")

    def timer_s(self) -> float:
        """Seconds on the instrument's measurement timer (since power-on or ``timer.reset()``)."""
        return float(self.ask("print(timer.measure.t())"))

    def delay(self, seconds: float) -> None:
        """Hold the instrument for ``seconds`` (TSP ``delay``), outputs as they are; return when it is done.

        The reply that says so comes ``seconds`` later than usual: the connection's timeout is stretched
        by that much while it is awaited (else any wait longer than the timeout would fail).
        """
        if not (seconds >= 0 and math.isfinite(seconds)):
            raise ValueError(f"delay needs a finite, non-negative time, got {seconds}")
        connection = getattr(self.adapter, "connection", None)  # a VISA resource, when there is one
        timeout_ms = getattr(connection, "timeout", None)
        if timeout_ms is not None:
            connection.timeout = timeout_ms + 1000.0 * seconds
        try:
            self.run_checked([f"delay({tsp_value(seconds)})"])
        finally:
            if timeout_ms is not None:
                connection.timeout = timeout_ms
