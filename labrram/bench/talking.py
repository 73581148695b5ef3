"""Driver failures as the benches report them: InstrumentError naming instrument, command and message."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from labrram.errors import InstrumentError, LabrramError


@contextmanager
def talking(instrument: str, command: str, driver: Any = None) -> Iterator[None]:
    """Turn a driver failure (timeout, unexpected reply, refusal, lost transport) into InstrumentError,
    with what the instrument's error queue says when ``driver`` (or its parent instrument) can tell."""
    try:
        yield
    except LabrramError:
        raise
    except Exception as error:
        message = f"{type(error).__name__}: {error}"
        queued: list[tuple[int, str]] = []
        if driver is not None:
            with contextlib.suppress(Exception):
                queued = getattr(driver, "parent", driver).check_errors()
        if queued:
            message += "; the instrument reports " + "; ".join(f"{code}: {text}" for code, text in queued)
        raise InstrumentError(instrument, command, message) from error
