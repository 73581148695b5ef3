"""Turning an instrument's error queue into InstrumentError, for every driver."""

from __future__ import annotations

from labrram.errors import InstrumentError


class RaisesQueuedErrors:
    """``raise_errors(command)``: read the queue (``check_errors``) and raise if anything was in it."""

    name: str

    def raise_errors(self, command: str) -> None:
        """Raise InstrumentError naming ``command`` if the instrument queued any error."""
        errors = self.check_errors()
        if errors:
            text = "; ".join(
                f"{int(code)}: {str(message).strip().strip(chr(34))}" for code, message in errors
            )
            raise InstrumentError(self.name, command, text)
