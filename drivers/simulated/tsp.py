"""Simulated Keithley TSP instruments: every message runs as a chunk of a real Lua 5.1 interpreter.

TSP is Lua with the instrument's objects in its global space. Each emulator keeps one sandboxed Lua
runtime (no files, processes or modules) holding the shared TSP library (``lua/tsp_base.lua``: print and
its number format, errorqueue, timer, delay, status, display, scripts...) and its own objects, backed by
Python state where the simulated physics needs it. A line is one chunk: a syntax error queues -285, a
run-time error -286 with Lua's message, and the chunk stops there (what it printed before stays).
``loadscript``/``loadandrunscript`` ... ``endscript`` collect the lines between into a named script,
and the IEEE 488.2 common commands (``*IDN?``, ``*RST``, ``*CLS``, ``*OPC?``, ``*STB?``, ``*ESR?``...)
are answered before Lua sees a line, as the instruments do.

On TSP-Link the master's runtime holds every node's objects as ``node[N]``: commands for a node travel in
the master's messages, its errors reach the master's queue and its numbers print in the master's format.
"""

from __future__ import annotations

import math
import re
from importlib import resources
from typing import Any

from lupa import lua51

from labrram.drivers.simulated.clock import ManualClock, Timebase
from labrram.drivers.simulated.emulator import CommandError, SimulatedInstrument

TSP_SYNTAX_ERROR = -285
TSP_RUNTIME_ERROR = -286
MAX_INSTRUCTIONS = 100_000_000  # Lua instructions one chunk may run (a second or so): beyond, it is stopped
COMPILED_CHUNKS = 512  # compiled lines kept for reuse
MAX_DELAY_S = 1e9  # about 30 years of simulated waiting in one call: beyond it is a mistake, not a test
LUA_LOCATION = re.compile(r"^(?:\[string \"[^\"]*\"\]|[\w.]+):(\d+): ", re.MULTILINE)
SCRIPT_START = re.compile(r"^(loadscript|loadandrunscript)(?:\s+([A-Za-z_]\w*))?\s*$")
# Standard event status bits (IEEE 488.2): operation complete, query, device, execution, command errors.
OPC_BIT, QUERY_ERROR_BIT, DEVICE_ERROR_BIT, EXECUTION_ERROR_BIT, COMMAND_ERROR_BIT = 1, 4, 8, 16, 32
# Status byte bits: error available, message available, event summary, master summary.
EAV_BIT, MAV_BIT, ESB_BIT, MSS_BIT = 4, 16, 32, 64


def _library(name: str) -> str:
    return (resources.files("labrram.drivers.simulated") / "lua" / name).read_text(encoding="utf-8")


def tsp_number(value: float, digits: int = 6) -> str:
    """A number the way TSP prints it: ``digits`` significant digits (format.asciiprecision)."""
    return f"{value:.{max(1, digits) - 1}e}"


class SimulatedTSPInstrument(SimulatedInstrument):
    """A TSP instrument on its own Lua runtime; subclasses add their objects with `lua_objects`."""

    identity = "Keithley Instruments Inc., Model 2600B, 0, 1.0 (simulated)"
    model = "2600B"
    lua_files: tuple[str, ...] = ()  # the instrument's own library files, run after the base

    def __init__(self, timebase: Timebase | None = None) -> None:
        super().__init__()
        self.timebase: Timebase = timebase if timebase is not None else ManualClock()
        self._timer_zero_s = self.timebase.now_s
        self.node = 1  # its TSP-Link node number
        self.linked: dict[int, SimulatedTSPInstrument] = {}
        self.printer: SimulatedTSPInstrument = self  # whose runtime runs its commands (a master's)
        self._event_status = 0
        self._script: tuple[str, str, list[str]] | None = None  # (start keyword, name, lines) being loaded
        # Latin-1 both ways: every byte a script makes (string.char(200)) comes back as one character.
        self._lua = lua51.LuaRuntime(
            encoding="latin-1", unpack_returned_tuples=True, register_eval=False, register_builtins=False
        )
        self._loaded_files: set[str] = set()
        self._compiled: dict[str, tuple[Any, str | None]] = {}
        self._load = self._lua.eval("function(s, n) local f, e = loadstring(s, n); return f or false, e end")
        self._digits = 6
        self._tostring = self._lua.eval("tostring")
        hooks = {
            "emit": self._emit,
            "print": self._print,
            "text": self._text,
            "get_digits": lambda: float(self._digits),
            "set_digits": self._set_digits,
            "fail": self._fail,
            "error_count": lambda: len(self.errors),
            "error_next": self._next_error,
            "error_clear": self.errors.clear,
            "timer_reset": self._timer_reset,
            "timer_t": lambda: self.timebase.now_s - self._timer_zero_s,
            "delay": self.delay,
            "complete": self.complete,
            "opc": self._operation_complete,
            "reset": self.reset,
            "model": lambda: self.model,
            "sweeping": lambda: float(self.sweeping_condition()),
            "status_byte": lambda: float(self.status_byte()),
            "event_status": lambda: float(self._event_status),
            "node_count": lambda: float(1 + len(self.linked)),
        }
        self.tsp = self._lua.execute(_library("tsp_base.lua"), self._lua.table_from(hooks))
        self.tsp.limit(MAX_INSTRUCTIONS)
        self._install(self.node, self, as_globals=True)

    # -- TSP-Link ------------------------------------------------------------------------------------
    def link(self, node: int, instrument: SimulatedTSPInstrument) -> None:
        """Put another TSP instrument on this one's TSP-Link as node ``node``, with this one as master.

        The master then takes ``node[N].<command>`` for it; the node's errors go to the master's queue
        and its values print in the master's format.
        """
        if node == self.node or not 1 <= node <= 32:
            raise ValueError(f"TSP-Link node {node} must differ from the master's ({self.node}) and be 1-32")
        instrument.node = node
        instrument.printer = self
        self.linked[node] = instrument
        self._install(node, instrument, as_globals=False)

    def _install(self, node: int, instrument: SimulatedTSPInstrument, as_globals: bool) -> None:
        """Build an instrument's objects in this runtime: as ``node[N]``, and as globals for its own."""
        for name in instrument.lua_files:
            if name not in self._loaded_files:
                self._lua.execute(_library(name), self.tsp)
                self._loaded_files.add(name)
        objects = instrument.lua_objects(self.tsp, self._lua)
        globals_ = self._lua.globals()
        globals_.node[node] = self._lua.table_from(objects)
        if as_globals:
            for name, value in objects.items():
                globals_[name] = value

    def lua_objects(self, tsp: Any, lua: Any) -> dict[str, Any]:
        """The instrument's TSP objects by global name, built with the runtime's ``tsp`` library."""
        return {}

    # -- messages ------------------------------------------------------------------------------------
    def write(self, message: str) -> None:
        """Run every line of a message: a chunk of Lua, a line of a script being loaded, or a common command.

        Instruments take ASCII: anything else arrives as '?'.
        """
        message = message.encode("ascii", "replace").decode("ascii")
        for line in self.split(message):
            if self._script is not None:
                self._script_line(line)
            elif (start := SCRIPT_START.match(line)) is not None:
                self._script = (start.group(1), start.group(2) or "", [])
            elif line.startswith("*"):
                self._common(line)
            else:
                self.run(line, "=line")

    def handle(self, command: str) -> str | None:
        raise NotImplementedError("TSP instruments run whole lines as Lua chunks (see write)")

    def run(self, source: str, chunk_name: str) -> None:
        """Run TSP source as one chunk; its errors go to the queue with the instrument's codes.

        Compiled chunks are kept by their text (drivers send the same lines again and again).
        """
        compiled = self._compiled.get(source)
        if compiled is None:
            compiled = self._load(source, chunk_name)
            if len(self._compiled) >= COMPILED_CHUNKS:
                self._compiled.clear()
            self._compiled[source] = compiled
        chunk, problem = compiled
        if chunk is False:
            self.queue_error(TSP_SYNTAX_ERROR, "TSP Syntax error " + _located(problem))
            self._event_status |= COMMAND_ERROR_BIT
            return
        try:
            self.tsp.ticks = 0
            chunk()
        except CommandError as error:
            self.queue_error(error.code, error.message)
            self._event_status |= EXECUTION_ERROR_BIT
        except lua51.LuaError as error:
            self.queue_error(TSP_RUNTIME_ERROR, "TSP Runtime error " + _located(str(error)))
            self._event_status |= EXECUTION_ERROR_BIT

    def _script_line(self, line: str) -> None:
        keyword, name, lines = self._script  # type: ignore[misc]
        if line.strip() != "endscript":
            lines.append(line)
            return
        self._script = None
        source = "\n".join(lines)
        try:
            script = self.tsp.script(name, source)
            if keyword == "loadandrunscript":
                script.run()
        except CommandError as error:
            self.queue_error(error.code, error.message)
        except lua51.LuaError as error:
            self.queue_error(TSP_RUNTIME_ERROR, "TSP Runtime error " + _located(str(error)))

    def _common(self, line: str) -> None:
        """IEEE 488.2 common commands, which TSP instruments take outside Lua."""
        command = line.split()[0].upper()
        if command == "*IDN?":
            self._emit(self.identity)
        elif command == "*RST":
            self.reset()
        elif command == "*CLS":
            self.errors.clear()
            self._event_status = 0
        elif command == "*OPC?":
            self.complete()
            self._emit("1")
        elif command == "*OPC":
            self._operation_complete()
        elif command == "*WAI":
            self.complete()
        elif command == "*STB?":
            self._emit(str(self.status_byte()))
        elif command == "*ESR?":
            self._emit(str(self._event_status))
            self._event_status = 0
        elif command == "*TRG":
            self.bus_trigger()
        elif command == "*TST?":
            self._emit("0")
        elif command in ("*ESE", "*SRE", "*ESE?", "*SRE?"):
            if command.endswith("?"):
                self._emit("0")
        else:
            self.queue_error(-113, "Undefined header")
            self._event_status |= COMMAND_ERROR_BIT

    # -- hooks the Lua library calls -----------------------------------------------------------------
    def _emit(self, text: str) -> None:
        self.printer._replies.append(str(text))

    def _print(self, *values: Any) -> None:
        self._replies.append("\t".join(map(self._text, values)))

    def _text(self, value: Any) -> str:
        """A value as TSP prints it: numbers in exponent form at the present precision."""
        if type(value) is float or type(value) is int:
            if math.isfinite(value):
                return f"{value:.{self._digits - 1}e}"
            return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        if value is None:
            return "nil"
        if value is True or value is False:
            return "true" if value else "false"
        if isinstance(value, str):
            return value
        return str(self._tostring(value))

    def _set_digits(self, value: Any) -> None:
        if type(value) not in (int, float) or value != int(value) or not 1 <= value <= 16:
            raise CommandError(-222, "Parameter data out of range: format.asciiprecision takes 1 to 16")
        self._digits = int(value)

    @staticmethod
    def _fail(code: float, message: str) -> None:
        raise CommandError(int(code), str(message))

    def _next_error(self) -> tuple[float, str, float, float]:
        if not self.errors:
            return 0.0, "Queue Is Empty", 0.0, 0.0
        code, message = self.errors.popleft()
        return float(code), message, 20.0, float(self.node)

    def _timer_reset(self) -> None:
        self._timer_zero_s = self.timebase.now_s

    def _operation_complete(self) -> None:
        self.complete()
        self._event_status |= OPC_BIT

    def delay(self, seconds: float) -> None:
        """Hold for ``seconds`` of simulated time (TSP ``delay``), the outputs as they are."""
        if not 0 <= seconds <= MAX_DELAY_S:  # also refuses NaN and infinity
            raise CommandError(
                TSP_RUNTIME_ERROR,
                f"TSP Runtime error at line 1: delay {seconds:g} s out of range 0-{MAX_DELAY_S:g}",
            )
        self.hold(seconds)

    def hold(self, seconds: float) -> None:
        """Let ``seconds`` pass with the outputs as they are (instruments with outputs stress their load)."""
        self.timebase.advance(seconds)

    def complete(self) -> None:
        """Finish every overlapped operation (a sweep waiting to report its end)."""

    def bus_trigger(self) -> None:
        """A ``*TRG`` (the bus trigger event)."""

    def sweeping_condition(self) -> int:
        """The operation-sweeping condition register (a bit per SMU sweeping)."""
        return 0

    def status_byte(self) -> int:
        """The status byte: errors waiting, replies waiting, standard events enabled or not."""
        byte = EAV_BIT if self.errors else 0
        byte |= MAV_BIT if self.has_reply() else 0
        byte |= ESB_BIT if self._event_status else 0
        return byte

    def reset(self) -> None:
        """Power-on state of the instrument and of every TSP-Link node (``reset()``, ``*RST``)."""
        for instrument in (self, *self.linked.values()):
            instrument.reset_state()

    def reset_state(self) -> None:
        """Put this instrument's own state back to power-on."""

    # -- what the drivers' tests look at -------------------------------------------------------------
    @property
    def digits(self) -> int:
        """Significant digits of printed numbers (``format.asciiprecision``)."""
        return self.printer._digits

    def number(self, value: float) -> str:
        """A number as this instrument (or its TSP-Link master) prints it now."""
        return tsp_number(value, self.digits)


def _located(message: str) -> str:
    """Lua's ``name:N: text`` as TSP words it: ``at line N: text`` (the stack trace left out)."""
    message = message.split("\nstack traceback:")[0].strip()
    located = LUA_LOCATION.match(message)
    if located is None:
        return f"at line 1: {message}"
    return f"at line {located.group(1)}: {message[located.end() :]}"
