"""The base of every simulated instrument: commands in, replies out, errors in a queue.

An emulator takes the same command strings the real instrument does (one message may hold several
commands), answers queries by queueing a reply for the next read, and puts an entry in its error queue
for anything malformed or unknown instead of failing, as the instrument would.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque


class CommandError(Exception):
    """A command the instrument refuses: the code and message it would queue."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class NoReplyError(Exception):
    """A read with no reply waiting: the instrument would let the read time out."""


class SimulatedInstrument(ABC):
    """Parses commands like the instrument; replies wait in order for reads."""

    max_errors = 100  # like the instruments, a full queue drops the newest entries
    terminator = "\n"  # what ends each reply on the wire

    def __init__(self) -> None:
        self.errors: deque[tuple[int, str]] = deque()
        self._replies: deque[str] = deque()

    def write(self, message: str) -> None:
        """Execute every command of a message; an error ends the rest of its statement group."""
        for group in self.split(message):
            try:
                for command in self.statements(group):
                    reply = self.handle(command)
                    if reply is not None:
                        self._replies.append(reply)
            except CommandError as error:
                self.queue_error(error.code, error.message)

    def has_reply(self) -> bool:
        """Whether a reply waits to be read."""
        return bool(self._replies)

    def read(self) -> str:
        """The oldest waiting reply."""
        if not self._replies:
            raise NoReplyError("no reply is waiting: the read would time out")
        return self._replies.popleft()

    def queue_error(self, code: int, message: str) -> None:
        if len(self.errors) < self.max_errors:
            self.errors.append((code, message))

    def split(self, message: str) -> list[str]:
        """The commands of one message (one per line by default)."""
        return [line.strip() for line in message.replace("\r", "\n").split("\n") if line.strip()]

    def statements(self, command: str) -> list[str]:
        """The statements of one command, run in order until one fails (just the command by default).

        Raises CommandError if the command as a whole is malformed: then none of it runs.
        """
        return [command]

    @abstractmethod
    def handle(self, command: str) -> str | None:
        """Execute one command; return its reply, if it has one; raise CommandError to refuse it."""
