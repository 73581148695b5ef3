"""A VISA library whose resources are emulators, for PyVISA in the same process.

``pyvisa.ResourceManager(library)`` and PyMeasure's ``VISAAdapter(name, visa_library=library)`` open its
resources (``GPIB0::26::INSTR``, ``TCPIP0::127.0.0.1::5025::SOCKET``, ...) like real ones: writes reach the
emulator, reads return its replies with the termination character, a read with no reply times out with
VI_ERROR_TMO. PyVISA caches libraries by path, so each library gets a path of its own.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from pymeasure.adapters import VISAAdapter
from pyvisa import constants, errors, rname
from pyvisa.highlevel import VisaLibraryBase
from pyvisa.util import LibraryPath

from labrram.drivers.simulated.emulator import NoReplyError, SimulatedInstrument

_paths = itertools.count()


class _Session:
    """One open resource: its emulator, its attributes, the bytes of a reply not read yet."""

    def __init__(self, name: str, emulator: SimulatedInstrument) -> None:
        self.emulator = emulator
        self.pending = b""
        self.attributes: dict[int, Any] = {
            constants.VI_ATTR_TMO_VALUE: 2000,
            constants.VI_ATTR_TERMCHAR: ord("\n"),
            constants.VI_ATTR_TERMCHAR_EN: constants.VI_TRUE,
            constants.VI_ATTR_SEND_END_EN: constants.VI_TRUE,
            constants.VI_ATTR_SUPPRESS_END_EN: constants.VI_FALSE,
            constants.VI_ATTR_RSRC_NAME: name,
            constants.VI_ATTR_RSRC_CLASS: name.rsplit("::", 1)[-1],
        }


class EmulatorVisaLibrary(VisaLibraryBase):
    """VISA resources backed by emulators; create with `EmulatorVisaLibrary.serving`."""

    sessions: dict[int, object]
    instruments: dict[str, SimulatedInstrument]

    @staticmethod
    def get_library_paths() -> tuple[LibraryPath, ...]:
        return (LibraryPath("labrram-simulated"),)

    @staticmethod
    def get_debug_info() -> dict[str, str]:
        return {"labrram": "simulated instruments, in process"}

    @classmethod
    def serving(cls, instruments: Mapping[str, SimulatedInstrument]) -> EmulatorVisaLibrary:
        """A library of its own (PyVISA caches by path) that serves these resource names."""
        library = cls(f"labrram-simulated-{next(_paths)}")
        for name, emulator in instruments.items():
            library.instruments[str(rname.parse_resource_name(name))] = emulator
        return library

    def _init(self) -> None:
        self.sessions = {}
        self.instruments = {}
        self._handles = itertools.count(1000)

    def _register(self, session: object) -> int:
        handle = next(self._handles)
        self.sessions[handle] = session
        return handle

    def open_default_resource_manager(self) -> tuple[int, constants.StatusCode]:
        return self._register(self), constants.StatusCode.success

    def list_resources(self, session: int, query: str = "?*::INSTR") -> tuple[str, ...]:
        found = rname.filter(list(self.instruments), query)
        if not found:
            raise errors.VisaIOError(constants.StatusCode.error_resource_not_found.value)
        return tuple(found)

    def open(
        self,
        session: int,
        resource_name: str,
        access_mode: constants.AccessModes = constants.AccessModes.no_lock,
        open_timeout: int = constants.VI_TMO_IMMEDIATE,
    ) -> tuple[int, constants.StatusCode]:
        try:
            name = str(rname.parse_resource_name(resource_name))
        except rname.InvalidResourceName:
            return 0, constants.StatusCode.error_invalid_resource_name
        emulator = self.instruments.get(name)
        if emulator is None:
            return 0, constants.StatusCode.error_resource_not_found
        return self._register(_Session(name, emulator)), constants.StatusCode.success

    def close(self, session: int) -> constants.StatusCode:
        if self.sessions.pop(session, None) is None:
            return constants.StatusCode.error_invalid_object
        return constants.StatusCode.success

    def _session(self, session: int) -> _Session:
        found = self.sessions.get(session)
        if not isinstance(found, _Session):
            raise errors.VisaIOError(constants.StatusCode.error_invalid_object.value)
        return found

    def write(self, session: int, data: bytes) -> tuple[int, constants.StatusCode]:
        self._session(session).emulator.write(data.decode("ascii", errors="replace"))
        return len(data), constants.StatusCode.success

    def read(self, session: int, count: int) -> tuple[bytes, constants.StatusCode]:
        current = self._session(session)
        if not current.pending:
            try:
                reply = current.emulator.read() + current.emulator.terminator
                current.pending = reply.encode("ascii", errors="replace")
            except NoReplyError:
                raise errors.VisaIOError(constants.StatusCode.error_timeout.value) from None
        chunk, current.pending = current.pending[:count], current.pending[count:]
        if not current.pending:
            return chunk, constants.StatusCode.success_termination_character_read
        return chunk, constants.StatusCode.success_max_count_read

    def get_attribute(self, session: int, attribute: int) -> tuple[Any, constants.StatusCode]:
        value = self._session(session).attributes.get(attribute)
        if value is None:
            return 0, constants.StatusCode.error_nonsupported_attribute
        return value, constants.StatusCode.success

    def set_attribute(self, session: int, attribute: int, attribute_state: Any) -> constants.StatusCode:
        self._session(session).attributes[attribute] = attribute_state
        return constants.StatusCode.success

    def clear(self, session: int) -> constants.StatusCode:
        current = self._session(session)
        current.pending = b""
        while current.emulator.has_reply():
            current.emulator.read()
        return constants.StatusCode.success

    def disable_event(self, session: int, event_type: int, mechanism: int) -> constants.StatusCode:
        return constants.StatusCode.success

    def discard_events(self, session: int, event_type: int, mechanism: int) -> constants.StatusCode:
        return constants.StatusCode.success


def visa_adapter(library: object, resource_name: str, termination: str = "\n") -> VISAAdapter:
    """A PyMeasure VISA adapter on a resource of ``library`` (simulated, "@py", ...): messages and replies
    end with ``termination`` (newline; NUL for KXCI)."""
    return VISAAdapter(
        resource_name, visa_library=library, read_termination=termination, write_termination=termination
    )
