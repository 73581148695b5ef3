"""A simulated Keithley 2600B: two SMU channels in TSP (``lua/keithley2600b.lua``) on Python state.

Each SMU keeps its source function, levels, limits, NPLC, ranges and output state here, where the
physics reads them; everything else a TSP script can set (filters, display, buffer modes...) lives in
Lua. What the terminals are connected to is a ``Load``: asked for the current at a level (a DC
measurement lasting the integration time) or during a pulse. The simulated wiring gives each SMU the
array lines the switching matrix connects it to; a plain resistor load serves tests. Currents are
clipped at the limit, as compliance does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from labrram.drivers.keithley2600b import CURRENT_RANGES_A, OVERRANGE_READING
from labrram.drivers.simulated.clock import ManualClock, Timebase
from labrram.drivers.simulated.emulator import CommandError
from labrram.drivers.simulated.tsp import MAX_DELAY_S, TSP_RUNTIME_ERROR, SimulatedTSPInstrument

__all__ = ["MAX_DELAY_S", "Load", "ManualClock", "Resistor", "SMUState", "Simulated2600B", "Timebase"]

LINE_FREQUENCY_HZ = 50.0
MAX_SOURCE_V = 200.0
MAX_SOURCE_A = 1.5
OUTPUT_DCAMPS, OUTPUT_DCVOLTS = 0, 1
PROBE_V = 0.1
SMU_FIELDS = {
    "level_v": "source.levelv",
    "level_i": "source.leveli",
    "limit_a": "source.limiti",
    "limit_v": "source.limitv",
    "nplc": "measure.nplc",
}  # the level at which a current source first learns its load's conductance


class Load(Protocol):
    """What an SMU's terminals see."""

    def measure(self, level_v: float, duration_s: float, limit_a: float) -> float:
        """Current (A) drawn at ``level_v`` after a measurement of ``duration_s`` (under ``limit_a``)."""

    def current(self, level_v: float, duration_s: float) -> float:
        """Current (A) at ``level_v`` over ``duration_s`` while another source acts (nothing switches)."""

    def pulse(self, level_v: float, width_s: float, limit_a: float) -> float:
        """Current (A) at the end of a pulse of ``level_v`` lasting ``width_s``."""

    def rest(self, level_v: float, duration_s: float) -> None:
        """Let ``duration_s`` pass at ``level_v`` (the pulse's off time)."""

    def stress(self, duration_s: float) -> None:
        """Let the present levels act for ``duration_s`` (a delay with outputs on)."""


@dataclass
class Resistor:
    """A plain resistor load (siemens), for tests."""

    conductance_s: float

    def measure(self, level_v: float, duration_s: float, limit_a: float = math.inf) -> float:
        return self.conductance_s * level_v

    def current(self, level_v: float, duration_s: float) -> float:
        return self.conductance_s * level_v

    def pulse(self, level_v: float, width_s: float, limit_a: float) -> float:
        return self.conductance_s * level_v

    def rest(self, level_v: float, duration_s: float) -> None:
        return None

    def stress(self, duration_s: float) -> None:
        return None


@dataclass
class SMUState:
    """The settings of one SMU that the physics depends on."""

    load: Load
    func: int = OUTPUT_DCVOLTS
    level_v: float = 0.0
    level_i: float = 0.0
    limit_a: float = 100e-3
    limit_v: float = 20.0
    nplc: float = 1.0
    output: bool = False
    range_i: float | None = None  # a fixed current measure range (A); None: autorange
    range_v: float | None = None
    source_range_v: float = 200e-3
    source_range_i: float = 100e-9
    source_autorange_v: bool = True
    source_autorange_i: bool = True
    last_i: float = 0.0  # the last current measured (autorange picked its range for it)
    compliance: bool = False  # whether the last measurement found the source at its limit

    def reset(self) -> None:
        fresh = SMUState(self.load)
        for name in vars(fresh):
            setattr(self, name, getattr(fresh, name))

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


def _out_of_range(path: str, value: float) -> CommandError:
    return CommandError(-222, f"Parameter data out of range: {path} {value:g}")


def _checked(path: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        shown = "nil" if value is None else type(value).__name__
        raise CommandError(
            TSP_RUNTIME_ERROR, f"TSP Runtime error at line 1: {path} takes a number, got {shown}"
        )
    if not low <= value <= high:
        raise _out_of_range(path, value)
    return float(value)


class Simulated2600B(SimulatedTSPInstrument):
    """SMU A and B of a 2636B on their loads; its timer and ``delay`` run on the shared timebase."""

    identity = "Keithley Instruments Inc., Model 2636B, 0000000, 4.0.0 (simulated)"
    model = "2636B"
    lua_files = ("keithley2600b.lua",)
    min_pulse_s = 100e-6

    def __init__(self, load_a: Load, load_b: Load, timebase: Timebase | None = None) -> None:
        self.smu = {"a": SMUState(load_a), "b": SMUState(load_b)}
        self._unreported_sweeps = 0  # a bit per SMU whose sweep ended unseen by a status read
        self._setters_of: dict[int, dict[str, Callable[[Any], None]]] = {}
        super().__init__(timebase)

    def lua_objects(self, tsp: Any, lua: Any) -> dict[str, Any]:
        return {f"smu{channel}": tsp.smu(f"smu{channel}", self._hooks(channel, lua)) for channel in self.smu}

    def _hooks(self, channel: str, lua: Any) -> Any:
        smu = self.smu[channel]
        bit = 1 if channel == "a" else 2

        def swept() -> None:
            self._unreported_sweeps |= bit

        getters = self._getters(smu)
        self._setters_of[id(smu)] = self._setters(smu)
        return lua.table_from(
            {
                "get": lambda path: getters[path](),
                "set": lambda path, value: self._set(smu, path, value),
                "measure": lambda: self._measure_iv(smu),
                "pulse": lambda bias, level, ton, toff: self._pulse(smu, bias, level, ton, toff),
                "hold": self.hold,
                "now": self._timer_now,
                "reset": smu.reset,
                "swept": swept,
            }
        )

    def _timer_now(self) -> float:
        return self.timebase.now_s - self._timer_zero_s

    # -- attributes ----------------------------------------------------------------------------------
    @staticmethod
    def _getters(smu: SMUState) -> dict[str, Callable[[], float | bool]]:
        return {
            "source.func": lambda: smu.func,
            "source.levelv": lambda: smu.level_v,
            "source.leveli": lambda: smu.level_i,
            "source.limiti": lambda: smu.limit_a,
            "source.limitv": lambda: smu.limit_v,
            "source.output": lambda: float(smu.output),
            "source.rangev": lambda: smu.source_range_v,
            "source.rangei": lambda: smu.source_range_i,
            "source.autorangev": lambda: float(smu.source_autorange_v),
            "source.autorangei": lambda: float(smu.source_autorange_i),
            "source.compliance": lambda: smu.compliance,
            "measure.nplc": lambda: smu.nplc,
            "measure.rangei": smu.measure_range_a,
            "measure.autorangei": lambda: float(smu.range_i is None),
            "measure.rangev": lambda: smu.range_v if smu.range_v is not None else smu.source_range_v,
            "measure.autorangev": lambda: float(smu.range_v is None),
        }

    @staticmethod
    def _setters(smu: SMUState) -> dict[str, Callable[[Any], None]]:
        def assign(name: str, low: float, high: float) -> Callable[[Any], None]:
            path = SMU_FIELDS[name]
            return lambda value: setattr(smu, name, _checked(path, value, low, high))

        def autorange_i(value: Any) -> None:
            on = _checked("measure.autorangei", value, 0, 2)
            smu.range_i = None if on else smu.measure_range_a()  # off: stay on the present range

        def source_range(name: str, auto: str, path: str, high: float) -> Callable[[Any], None]:
            def set_range(value: Any) -> None:
                setattr(smu, name, _checked(path, value, 0, high))
                setattr(smu, auto, False)

            return set_range

        return {
            "source.func": lambda value: setattr(smu, "func", int(_checked("source.func", value, 0, 1))),
            "source.levelv": assign("level_v", -MAX_SOURCE_V, MAX_SOURCE_V),
            "source.leveli": assign("level_i", -MAX_SOURCE_A, MAX_SOURCE_A),
            "source.limiti": assign("limit_a", 1e-9, MAX_SOURCE_A),
            "source.limitv": assign("limit_v", 20e-3, MAX_SOURCE_V),
            "source.output": lambda value: setattr(
                smu, "output", _checked("source.output", value, 0, 2) == 1
            ),
            "source.rangev": source_range(
                "source_range_v", "source_autorange_v", "source.rangev", MAX_SOURCE_V
            ),
            "source.rangei": source_range(
                "source_range_i", "source_autorange_i", "source.rangei", MAX_SOURCE_A
            ),
            "source.autorangev": lambda value: setattr(
                smu, "source_autorange_v", bool(_checked("source.autorangev", value, 0, 1))
            ),
            "source.autorangei": lambda value: setattr(
                smu, "source_autorange_i", bool(_checked("source.autorangei", value, 0, 1))
            ),
            "measure.nplc": assign("nplc", 0.001, 25),
            "measure.rangei": lambda value: setattr(
                smu,
                "range_i",
                range_holding(_checked("measure.rangei", value, -CURRENT_RANGES_A[-1], CURRENT_RANGES_A[-1])),
            ),
            "measure.autorangei": autorange_i,
            "measure.rangev": lambda value: setattr(
                smu, "range_v", _checked("measure.rangev", value, 0, MAX_SOURCE_V)
            ),
            "measure.autorangev": lambda value: setattr(
                smu, "range_v", None if _checked("measure.autorangev", value, 0, 2) else smu.source_range_v
            ),
        }

    def _set(self, smu: SMUState, path: str, value: Any) -> None:
        """Set an SMU attribute from TSP (checked as the instrument checks it)."""
        self._setters_of[id(smu)][path](value)

    # -- physics -------------------------------------------------------------------------------------
    def _pulse(
        self, smu: SMUState, bias: float, level: float, ton: float, toff: float
    ) -> tuple[float, float]:
        """One pulse of ``level`` for ``ton`` from ``bias``; the current at its end and when it ended."""
        if not (ton >= self.min_pulse_s and toff >= self.min_pulse_s):
            raise CommandError(TSP_RUNTIME_ERROR, "TSP Runtime error at line 1: pulse timing out of range")
        for name, value in (("bias", bias), ("level", level)):
            _checked(name, value, -MAX_SOURCE_V, MAX_SOURCE_V)
        current = smu.load.pulse(level, ton, smu.limit_a)
        reading = smu.reading(max(-smu.limit_a, min(smu.limit_a, current)))
        stamp_s = self._timer_now()
        smu.load.rest(bias, toff)
        return reading, stamp_s

    def _measure_iv(self, smu: SMUState) -> tuple[float, float, float]:
        """One measurement over the integration time: (current, voltage, when), 0 when the output is off."""
        duration_s = smu.nplc / LINE_FREQUENCY_HZ
        if not smu.output:
            self.timebase.advance(duration_s)
            return 0.0, 0.0, self._timer_now()
        if smu.func == OUTPUT_DCVOLTS:
            current = smu.load.measure(smu.level_v, duration_s, smu.limit_a)
            smu.compliance = abs(current) > smu.limit_a
            voltage = smu.level_v
            if smu.compliance:
                voltage *= smu.limit_a / abs(current)
                current = math.copysign(smu.limit_a, current)
            return smu.reading(current), voltage, self._timer_now()
        probe = smu.load.measure(PROBE_V, duration_s, smu.limit_a)
        conductance_s = abs(probe) / PROBE_V
        voltage = (
            smu.level_i / conductance_s if conductance_s > 0 else math.copysign(smu.limit_v, smu.level_i)
        )
        smu.compliance = abs(voltage) > smu.limit_v
        if smu.compliance:
            voltage = math.copysign(smu.limit_v, voltage)
        current = conductance_s * voltage if smu.compliance else smu.level_i
        return smu.reading(current), voltage, self._timer_now()

    # -- instrument ----------------------------------------------------------------------------------
    def hold(self, seconds: float) -> None:
        """Time passes with the outputs at their levels: a level above a device's threshold switches it."""
        self.smu["a"].load.stress(seconds)  # the wiring applies every source's level at once
        self.timebase.advance(seconds)

    def bus_trigger(self) -> None:
        self.tsp.fire_triggers()

    def sweeping_condition(self) -> int:
        bits, self._unreported_sweeps = self._unreported_sweeps, 0
        return bits

    def reset_state(self) -> None:
        for smu in self.smu.values():
            smu.reset()
        self.printer.tsp.reset_smus()
