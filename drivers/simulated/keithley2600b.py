"""A simulated Keithley 2600B: SMU state behind the TSP commands the driver sends.

Each SMU keeps its source function, level, current limit, NPLC and output state. What its terminals are
connected to is a ``Load``: asked for the current at a level (a DC measurement lasting the integration
time) or during a pulse. The simulated wiring gives each SMU the array lines the switching matrix
connects it to; a plain resistor load serves tests. Currents are clipped at the limit, as compliance does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from labrram.drivers.keithley2600b import CURRENT_RANGES_A, OVERRANGE_READING
from labrram.drivers.simulated.emulator import CommandError
from labrram.drivers.simulated.tsp import TSP_RUNTIME_ERROR, SimulatedTSPInstrument

LINE_FREQUENCY_HZ = 50.0
ASSIGNMENT = re.compile(
    r"^smu([ab])\.(source\.levelv|source\.limiti|measure\.nplc|source\.output|source\.func"
    r"|measure\.rangei|measure\.autorangei)\s*=\s*(.+)$"
)
PULSE = re.compile(r"^PulseVMeasureI\(smu([ab]),\s*([^,]+),\s*([^,]+),\s*([^,]+),\s*([^,]+),\s*([^,)]+)\)$")
PRINT_BUFFER = re.compile(r"^printbuffer\(1,\s*1,\s*smu([ab])\.nvbuffer1\.readings\)$")
# An SMU constant, reached on any channel of any TSP-Link node (they are the same numbers everywhere).
CONSTANT = re.compile(r"^(?:node\[\d+\]\.)?smu[ab]\.((?:OUTPUT|AUTORANGE)_\w+)$")
SWITCH_STATE = {"OUTPUT_ON": "1", "OUTPUT_OFF": "0", "AUTORANGE_ON": "1", "AUTORANGE_OFF": "0"}
DELAY = re.compile(r"^delay\((.+)\)$")
MAX_DELAY_S = 1e9  # about 30 years of simulated waiting in one call: beyond it is a mistake, not a test
CLEAR_BUFFER = re.compile(r"^smu[ab]\.nvbuffer1\.clear\(\)$")
MEASURE = re.compile(r"^smu([ab])\.measure\.i\(\)$")
MEASURE_INTO = re.compile(r"^smu([ab])\.measure\.i\(smu([ab])\.nvbuffer1\)$")
READING = re.compile(r"^smu([ab])\.nvbuffer1\.readings\[\s*(\d+)\s*\]$")
READ_BACK = re.compile(
    r"^smu([ab])\.(source\.levelv|source\.limiti|measure\.nplc|source\.output|measure\.rangei"
    r"|measure\.autorangei)$"
)


class Load(Protocol):
    """What an SMU's terminals see."""

    def measure(self, level_v: float, duration_s: float) -> float:
        """Current (A) drawn at ``level_v`` during a measurement of ``duration_s``."""

    def pulse(self, level_v: float, width_s: float, limit_a: float) -> float:
        """Current (A) at the end of a pulse of ``level_v`` lasting ``width_s``."""

    def rest(self, level_v: float, duration_s: float) -> None:
        """Let ``duration_s`` pass at ``level_v`` (the pulse's off time)."""


@dataclass
class Resistor:
    """A plain resistor load (siemens), for tests."""

    conductance_s: float

    def measure(self, level_v: float, duration_s: float) -> float:
        return self.conductance_s * level_v

    def pulse(self, level_v: float, width_s: float, limit_a: float) -> float:
        return self.conductance_s * level_v

    def rest(self, level_v: float, duration_s: float) -> None:
        return None


@dataclass
class SMUState:
    """The settings of one SMU."""

    load: Load
    level_v: float = 0.0
    limit_a: float = 100e-3
    nplc: float = 1.0
    output: bool = False
    buffer: list[float] = field(default_factory=list)
    range_i: float | None = None  # a fixed current measure range (A); None: autorange
    last_i: float = 0.0  # the last current measured (autorange picked its range for it)

    def reset(self) -> None:
        self.level_v, self.limit_a, self.nplc, self.output = 0.0, 100e-3, 1.0, False
        self.range_i, self.last_i = None, 0.0
        self.buffer.clear()

    def measure_range_a(self) -> float:
        """The current measure range in use: the fixed one, or the one autorange chose last."""
        return self.range_i if self.range_i is not None else range_holding(self.last_i)

    def reading(self, current_a: float) -> float:
        """What the SMU reports for a current: 9.91e37 beyond full scale of a fixed range."""
        self.last_i = current_a
        if self.range_i is not None and abs(current_a) > self.range_i:
            return OVERRANGE_READING
        return current_a


def range_holding(current_a: float) -> float:
    """The smallest current range (A) whose full scale holds ``current_a``."""
    return next((r for r in CURRENT_RANGES_A if abs(current_a) <= r), CURRENT_RANGES_A[-1])


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise CommandError(
            TSP_RUNTIME_ERROR, f"TSP Runtime error at line 1: number expected, got '{text}'"
        ) from None


class Timebase(Protocol):
    """The clock behind the simulated instruments (the simulated chip's)."""

    now_s: float

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass."""


@dataclass
class ManualClock:
    """A clock that moves only when told, for emulators without a chip."""

    now_s: float = 0.0

    def advance(self, seconds: float) -> None:
        self.now_s += seconds


class Simulated2600B(SimulatedTSPInstrument):
    """SMU A and B of a 2636B on their loads; its timer and ``delay`` run on the shared timebase."""

    identity = "Keithley Instruments Inc., Model 2636B, 0000000, 4.0.0 (simulated)"
    min_pulse_s = 100e-6

    def __init__(self, load_a: Load, load_b: Load, timebase: Timebase | None = None) -> None:
        super().__init__()
        self.smu = {"a": SMUState(load_a), "b": SMUState(load_b)}
        self.timebase = timebase if timebase is not None else ManualClock()
        self._timer_zero_s = self.timebase.now_s

    def execute(self, command: str) -> str | None:
        buffer = PRINT_BUFFER.match(command) if command.startswith("printbuffer") else None
        if buffer:
            readings = self.smu[buffer.group(1)].buffer
            if not readings:
                raise CommandError(TSP_RUNTIME_ERROR, "TSP Runtime error at line 1: buffer is empty")
            return self.number(readings[0])
        if command in ("reset()", "*RST"):
            for smu in self.smu.values():
                smu.reset()
            return None
        if command == "timer.reset()":
            self._timer_zero_s = self.timebase.now_s
            return None
        delay = DELAY.match(command) if command.startswith("delay") else None
        if delay:
            seconds = _number(delay.group(1))
            if not 0 <= seconds <= MAX_DELAY_S:  # also refuses NaN and infinity
                raise CommandError(
                    TSP_RUNTIME_ERROR,
                    f"TSP Runtime error at line 1: delay {seconds:g} s out of range 0-{MAX_DELAY_S:g}",
                )
            self.timebase.advance(seconds)
            return None
        assignment = ASSIGNMENT.match(command)
        if assignment:
            self._assign(self.smu[assignment.group(1)], assignment.group(2), assignment.group(3))
            return None
        if CLEAR_BUFFER.match(command):
            self.smu[command[3]].buffer.clear()
            return None
        measured = MEASURE_INTO.match(command)
        if measured:
            self.smu[measured.group(2)].buffer.append(self._measure(self.smu[measured.group(1)]))
            return None
        pulse = PULSE.match(command)
        if pulse:
            self._pulse(self.smu[pulse.group(1)], *(_number(v) for v in pulse.groups()[1:]))
            return None
        return super().execute(command)

    def _assign(self, smu: SMUState, attribute: str, value: str) -> None:
        if attribute == "source.func":
            if CONSTANT.sub(r"\1", value.strip()) != "OUTPUT_DCVOLTS":
                raise CommandError(
                    TSP_RUNTIME_ERROR, f"TSP Runtime error at line 1: unsupported function {value}"
                )
            return
        value = value.strip()
        constant = CONSTANT.match(value)
        number = _number(SWITCH_STATE.get(constant.group(1), value) if constant else value)
        if attribute == "source.levelv":
            if abs(number) > 200:
                raise CommandError(-222, "Data out of range")
            smu.level_v = number
        elif attribute == "source.limiti":
            if not 1e-9 <= number <= 1.5:
                raise CommandError(-222, "Data out of range")
            smu.limit_a = number
        elif attribute == "measure.nplc":
            if not 0.001 <= number <= 25:
                raise CommandError(-222, "Data out of range")
            smu.nplc = number
        elif attribute == "measure.rangei":
            if abs(number) > CURRENT_RANGES_A[-1]:
                raise CommandError(-222, "Data out of range")
            smu.range_i = range_holding(number)  # a fixed range: autorange off
        elif attribute == "measure.autorangei":
            smu.range_i = None if number else smu.measure_range_a()  # off: stay on the present range
        else:
            smu.output = bool(number)

    def _pulse(
        self, smu: SMUState, bias: float, level: float, ton: float, toff: float, points: float
    ) -> None:
        if ton < self.min_pulse_s or toff < self.min_pulse_s or points < 1:
            raise CommandError(TSP_RUNTIME_ERROR, "TSP Runtime error at line 1: pulse timing out of range")
        for _ in range(int(points)):
            current = smu.load.pulse(level, ton, smu.limit_a)
            smu.buffer.append(smu.reading(max(-smu.limit_a, min(smu.limit_a, current))))
            smu.load.rest(bias, toff)

    def _measure(self, smu: SMUState) -> float:
        """One current measurement over the SMU's integration time, clipped at its limit (0 when off)."""
        if not smu.output:
            return 0.0
        current = smu.load.measure(smu.level_v, smu.nplc / LINE_FREQUENCY_HZ)
        return smu.reading(max(-smu.limit_a, min(smu.limit_a, current)))

    def evaluate(self, expression: str, command: str) -> str:
        if expression == "timer.measure.t()":
            return self.number(self.timebase.now_s - self._timer_zero_s)
        measured = MEASURE.match(expression)
        if measured:
            return self.number(self._measure(self.smu[measured.group(1)]))
        reading = READING.match(expression)
        if reading:
            readings, number = self.smu[reading.group(1)].buffer, int(reading.group(2))
            return self.number(readings[number - 1]) if 1 <= number <= len(readings) else "nil"
        read_back = READ_BACK.match(expression)
        if read_back:
            smu = self.smu[read_back.group(1)]
            values = {
                "source.levelv": smu.level_v,
                "source.limiti": smu.limit_a,
                "measure.nplc": smu.nplc,
                "source.output": float(smu.output),
                "measure.rangei": smu.measure_range_a(),
                "measure.autorangei": float(smu.range_i is None),
            }
            return self.number(values[read_back.group(2)])
        return super().evaluate(expression, command)
