"""What simulated TSP instruments share: ``print(...)`` of values, the error queue, identity.

TSP (Lua) prints numbers in the instruments' default exponent form, e.g. ``1.00000e+00``, and the values
of one ``print(a, b)`` separated by tabs; syntax errors are code -285 and run-time errors -286, with the
queue reporting (0, "Queue Is Empty") when empty. A line is one chunk: its statements (separated by ``;``)
run in order, and the first that fails ends the chunk, so nothing after it runs or prints. A global
variable (``name = expression``) keeps a value for later chunks, as the instrument's script space does.
"""

from __future__ import annotations

import re

from labrram.drivers.simulated.emulator import CommandError, SimulatedInstrument

TSP_SYNTAX_ERROR = -285
TSP_RUNTIME_ERROR = -286
PRINT = re.compile(r"^print\((.*)\)$")
STRING_ARGUMENT = re.compile(r'^"([^"]*)"$')
PRECISION = re.compile(r"^format\.asciiprecision\s*=\s*(\d+)$")
RESERVED = {"and", "break", "do", "else", "elseif", "end", "false", "for", "function", "if", "in", "local"}
RESERVED |= {"nil", "not", "or", "repeat", "return", "then", "true", "until", "while"}
ON_NODE = re.compile(r"^node\[(\d+)\]\.(.+)$")
GLOBAL_ASSIGNMENT = re.compile(r"^([A-Za-z_]\w*)\s*=\s*(.+)$")
NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def tsp_number(value: float, digits: int = 6) -> str:
    """A number the way TSP prints it: ``digits`` significant digits (format.asciiprecision)."""
    return f"{value:.{max(1, digits) - 1}e}"


def split_top_level(text: str, separator: str) -> list[str]:
    """Parts of ``text`` between separators outside quotes, parentheses and brackets (stripped)."""
    if '"' not in text and (separator == ";" or "(" not in text):  # nothing can hide a separator
        return [part.strip() for part in text.split(separator)]
    parts, depth, quoted, start = [], 0, False, 0
    for token in re.finditer(rf'["()\[\]{re.escape(separator)}]', text):
        character = token.group()
        if character == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif character in "([":
            depth += 1
        elif character in ")]":
            depth -= 1
        elif depth == 0:
            parts.append(text[start : token.start()])
            start = token.end()
    parts.append(text[start:])
    return [part.strip() for part in parts]


def string_argument(text: str, command: str) -> str:
    """The content of a quoted TSP string argument."""
    match = STRING_ARGUMENT.match(text.strip())
    if match is None:
        raise CommandError(TSP_SYNTAX_ERROR, f"TSP Syntax error at line 1: string expected near '{command}'")
    return match.group(1)


class SimulatedTSPInstrument(SimulatedInstrument):
    """A TSP instrument: ``print(expr)`` queries, the error queue, ``*IDN?``."""

    identity = "Keithley Instruments Inc., Model 2600B, 0, 1.0 (simulated)"

    def __init__(self) -> None:
        super().__init__()
        self.digits = 6
        self.variables: dict[str, str] = {}  # global variables of scripts and chunks, as they print
        self.node = 1  # its TSP-Link node number
        self.linked: dict[int, SimulatedTSPInstrument] = {}
        self.printer: SimulatedTSPInstrument = self  # whose format prints its values (a master's)

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

    def _on_node(self, text: str) -> tuple[SimulatedTSPInstrument, str] | None:
        """The instrument and command of ``node[N].<command>`` (None for a command of its own)."""
        remote = ON_NODE.match(text) if text.startswith("node[") else None
        if remote is None:
            return None
        number = int(remote.group(1))
        target = self if number == self.node else self.linked.get(number)
        if target is None:
            raise CommandError(
                TSP_RUNTIME_ERROR,
                f"TSP Runtime error at line 1: attempt to index node[{number}] (a nil value)",
            )
        return target, remote.group(2)

    def statements(self, command: str) -> list[str]:
        parts = split_top_level(command, ";")
        if len(parts) > 1 and not parts[-1]:
            parts.pop()  # a separator may end the chunk
        if "" in parts:  # TSP's Lua 5.0 has no empty statement: the chunk does not compile
            raise CommandError(TSP_SYNTAX_ERROR, "TSP Syntax error at line 1: unexpected symbol near ';'")
        return parts

    def number(self, value: float) -> str:
        """A number as this instrument (or its TSP-Link master) prints it now."""
        return tsp_number(value, self.printer.digits)

    def handle(self, command: str) -> str | None:
        remote = self._on_node(command)
        if remote is not None:
            instrument, statement = remote
            instrument.handle(statement)
            return None
        if command == "*IDN?":
            return self.identity
        precision = PRECISION.match(command) if command.startswith("format.") else None
        if precision:
            digits = int(precision.group(1))
            if not 1 <= digits <= 16:
                raise CommandError(-222, "Data out of range")
            self.digits = digits
            return None
        if command == "errorqueue.clear()":
            self.errors.clear()
            return None
        assigned = GLOBAL_ASSIGNMENT.match(command)
        if assigned and assigned.group(1) not in RESERVED:
            self.variables[assigned.group(1)] = self.evaluate(assigned.group(2).strip(), command)
            return None
        printed = PRINT.match(command)
        if printed:
            expressions = split_top_level(printed.group(1), ",")
            if expressions == [""]:
                return ""  # print() prints an empty line
            return "\t".join(self.evaluate(expression, command) for expression in expressions)
        return self.execute(command)

    def evaluate(self, expression: str, command: str) -> str:
        """The printed value of an expression."""
        remote = self._on_node(expression)
        if remote is not None:
            return remote[0].evaluate(remote[1], command)
        if expression in self.variables:
            return self.variables[expression]
        if NUMBER.match(expression):
            return self.number(float(expression))
        if expression == "errorqueue.count":
            return tsp_number(len(self.errors))
        if expression == "errorqueue.next()":
            if not self.errors:
                return f"{tsp_number(0)}\tQueue Is Empty\t{tsp_number(0)}\t{tsp_number(0)}"
            code, message = self.errors.popleft()
            return f"{tsp_number(code)}\t{message}\t{tsp_number(20)}\t{tsp_number(0)}"
        raise CommandError(TSP_RUNTIME_ERROR, f"TSP Runtime error at line 1: cannot evaluate '{expression}'")

    def execute(self, command: str) -> str | None:
        """Run a statement; return what it prints, if anything."""
        raise CommandError(
            TSP_SYNTAX_ERROR, f"TSP Syntax error at line 1: unexpected symbol near '{command}'"
        )
