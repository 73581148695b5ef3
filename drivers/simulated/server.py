"""Simulated instruments on loopback TCP: each emulator on a raw socket, as a LAN instrument on port 5025.

Clients (pyvisa-py, as ``TCPIP0::127.0.0.1::<port>::SOCKET``) send commands ended by LF, CR or CR LF and
read terminated replies; a message over a megabyte is dropped with an input-overrun error in the
instrument's queue. One client at a time per instrument: a second connection is closed at once, with
nothing sent on it. The server binds to 127.0.0.1 unless told otherwise. One lock serializes every emulator
of a lab, since they share one simulated chip. Stopping the server drops its clients' connections too,
as switching the instruments off would.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import socketserver
import threading
from collections.abc import Iterator, Mapping

from labrram.drivers.simulated.emulator import SimulatedInstrument

MAX_MESSAGE = 1 << 20  # bytes: a longer message overruns the input buffer
INPUT_OVERRUN = -363
TERMINATORS = re.compile(rb"\r\n|\r|\n|\0")  # NUL: KXCI's
logger = logging.getLogger(__name__)


class _InstrumentHandler(socketserver.BaseRequestHandler):
    server: _InstrumentTCPServer

    def handle(self) -> None:
        if not self.server.client_slot.acquire(blocking=False):
            # Taken: close at once, sending nothing a client could mistake for a reply.
            logger.warning("%s: refused a second client (%s)", self.server.name, self.client_address[0])
            return
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # small replies, sent at once
        self.server.connections.add(self.request)
        try:
            for message in _messages(self.request, self.server.emulator):
                with self.server.lab_lock:
                    self.server.emulator.write(message)
                    replies = []
                    while self.server.emulator.has_reply():
                        replies.append(self.server.emulator.read())
                if replies:
                    terminator = self.server.emulator.terminator
                    self.request.sendall("".join(r + terminator for r in replies).encode("ascii", "replace"))
        except OSError:  # the connection was dropped (by the client, or by stopping the server)
            pass
        finally:
            self.server.connections.discard(self.request)
            self.server.client_slot.release()


def _messages(connection: socket.socket, emulator: SimulatedInstrument) -> Iterator[str]:
    """Messages ended by LF, CR, CR LF or NUL; a message longer than MAX_MESSAGE is dropped with an error
    in the instrument's queue (-363, input buffer overrun), as an instrument's input buffer would."""
    pending = b""
    overrun = False
    while chunk := connection.recv(65536):
        if hasattr(socket, "TCP_QUICKACK"):  # acknowledge at once: clients write several lines in a row
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        pending += chunk
        *complete, pending = TERMINATORS.split(pending)
        for raw in complete:
            if overrun:
                overrun = False  # the tail of the dropped message
                continue
            if raw:
                yield raw.decode("ascii", errors="replace")
        if len(pending) > MAX_MESSAGE:
            if not overrun:
                emulator.queue_error(INPUT_OVERRUN, "Input buffer overrun: message dropped")
            overrun, pending = True, b""


class _InstrumentTCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], emulator: SimulatedInstrument, lab_lock: threading.Lock, name: str
    ) -> None:
        super().__init__(address, _InstrumentHandler)
        self.name = name
        self.emulator = emulator
        self.lab_lock = lab_lock
        self.client_slot = threading.Lock()
        self.connections: set[socket.socket] = set()

    def drop_connections(self) -> None:
        """Cut every client off, as an instrument switched off would."""
        for connection in list(self.connections):
            with contextlib.suppress(OSError):  # already gone
                connection.shutdown(socket.SHUT_RDWR)


class InstrumentServer:
    """Serves emulators on consecutive ports from ``port`` (0: any free ports)."""

    def __init__(
        self, emulators: Mapping[str, SimulatedInstrument], host: str = "127.0.0.1", port: int = 0
    ) -> None:
        lock = threading.Lock()
        self._servers: dict[str, _InstrumentTCPServer] = {}
        for offset, (name, emulator) in enumerate(emulators.items()):
            self._servers[name] = _InstrumentTCPServer(
                (host, port + offset if port else 0), emulator, lock, name
            )
        self._threads: list[threading.Thread] = []

    @property
    def resources(self) -> dict[str, str]:
        """VISA resource names of the served instruments (pyvisa-py raw sockets)."""
        return {
            name: f"TCPIP0::{server.server_address[0]}::{server.server_address[1]}::SOCKET"
            for name, server in self._servers.items()
        }

    def start(self) -> InstrumentServer:
        for server in self._servers.values():
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop listening and drop every client connection."""
        for server in self._servers.values():
            server.drop_connections()  # at once: stopping the accept loop takes up to half a second
            server.shutdown()
            server.drop_connections()  # and any client that came in meanwhile
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> InstrumentServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine's loopback interface."""
    try:
        return socket.gethostbyname(host).startswith("127.")
    except OSError:
        return False
