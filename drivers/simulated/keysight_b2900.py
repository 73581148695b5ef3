"""A simulated Keysight B2900 SMU: the SCPI subset of DC and pulsed sourcing, on Loads like the 2600B's.

Headers are accepted in short or long form (``:SOUR1:VOLT`` or ``:SOURce1:VOLTage``), several commands
per message separated by ``;``. Bad headers and values go to the error queue with the SCPI codes
(-113 undefined header, -222 data out of range, -104 data type error, -109 missing parameter).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from labrram.drivers.simulated.emulator import CommandError, SimulatedInstrument
from labrram.drivers.simulated.keithley2600b import Load, ManualClock, Timebase

LONG_FORMS = {
    "SOURCE": "SOUR", "VOLTAGE": "VOLT", "CURRENT": "CURR", "FUNCTION": "FUNC", "SHAPE": "SHAP",
    "PULSE": "PULS", "DELAY": "DEL", "WIDTH": "WIDT", "SENSE": "SENS", "PROTECTION": "PROT",
    "OUTPUT": "OUTP", "MEASURE": "MEAS", "FETCH": "FETC", "ARRAY": "ARR", "TRIGGER": "TRIG",
    "INITIATE": "INIT", "SYSTEM": "SYST", "ERROR": "ERR",
}  # fmt: skip
NODE = re.compile(r"^([A-Z*]+?)(\d*)$")
CHANNEL_LIST = re.compile(r"^\(@([12])\)$")
MEASUREMENT_S = 1 / 50  # 1 power-line cycle at 50 Hz


@dataclass
class B2900State:
    """One channel's settings."""

    load: Load
    shape: str = "DC"
    level_v: float = 0.0
    peak_v: float = 0.0
    delay_s: float = 0.0
    width_s: float = 1e-3
    limit_a: float = 1e-4
    output: bool = False
    last_current_a: float | None = None

    def reset(self) -> None:
        self.shape, self.level_v, self.peak_v, self.delay_s, self.width_s = "DC", 0.0, 0.0, 0.0, 1e-3
        self.limit_a, self.output, self.last_current_a = 1e-4, False, None


def _normalize(header: str) -> tuple[str, int]:
    """Short-form header and the channel number a node carried (1 if none)."""
    nodes, channel = [], 1
    for node in header.lstrip(":").upper().split(":"):
        match = NODE.match(node)
        if match is None:
            raise CommandError(-113, "Undefined header")
        name, number = match.groups()
        nodes.append(LONG_FORMS.get(name, name))
        if number:
            channel = int(number)
    if channel not in (1, 2):
        raise CommandError(-114, "Header suffix out of range")
    return ":".join(nodes), channel


def _number(text: str, low: float, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CommandError(-104, "Data type error") from None
    if not low <= value <= high:
        raise CommandError(-222, "Data out of range")
    return value


class SimulatedB2900(SimulatedInstrument):
    """Channels 1 and 2 of a B2902A on their loads."""

    identity = "Keysight Technologies,B2902A,MY00000000,5.0.0 (simulated)"

    def __init__(self, load_1: Load, load_2: Load, timebase: Timebase | None = None) -> None:
        super().__init__()
        self.channel = {1: B2900State(load_1), 2: B2900State(load_2)}
        self.timebase = timebase if timebase is not None else ManualClock()

    def split(self, message: str) -> list[str]:
        return [part.strip() for line in super().split(message) for part in line.split(";") if part.strip()]

    def handle(self, command: str) -> str | None:
        header, _, argument = command.partition(" ")
        argument = argument.strip()
        query = header.endswith("?")
        name, number = _normalize(header.rstrip("?"))
        if argument and CHANNEL_LIST.match(argument):
            number = int(CHANNEL_LIST.match(argument).group(1))
        state = self.channel[number]
        if name in ("*IDN", "*OPC") and query:
            return self.identity if name == "*IDN" else "1"
        if name == "*RST" and not query:
            for channel in self.channel.values():
                channel.reset()
            return None
        if name == "*CLS" and not query:
            self.errors.clear()
            return None
        if name == "SYST:ERR" and query:
            if not self.errors:
                return '+0,"No error"'
            code, message = self.errors.popleft()
            return f'{code:+d},"{message}"'
        settings = {
            "SOUR:VOLT": ("level_v", -210.0, 210.0),
            "SOUR:VOLT:TRIG": ("peak_v", -210.0, 210.0),
            "SOUR:PULS:DEL": ("delay_s", 0.0, 99999.9),
            "SOUR:PULS:WIDT": ("width_s", 50e-6, 100.0),
            "SENS:CURR:PROT": ("limit_a", 1e-12, 3.03),
        }
        if name in settings:
            attribute, low, high = settings[name]
            if query:
                return f"{getattr(state, attribute):+.6E}"
            if not argument:
                raise CommandError(-109, "Missing parameter")
            setattr(state, attribute, _number(argument, low, high))
            return None
        if name == "SOUR:FUNC:SHAP":
            if query:
                return state.shape
            if argument.upper() not in ("DC", "PULS", "PULSE"):
                raise CommandError(-224, "Illegal parameter value")
            state.shape = "DC" if argument.upper() == "DC" else "PULS"
            return None
        if name == "SOUR:FUNC:MODE" and not query:
            if argument.upper() not in ("VOLT", "VOLTAGE"):
                raise CommandError(-224, "Illegal parameter value")
            return None
        if name == "OUTP":
            if query:
                return "1" if state.output else "0"
            if argument.upper() not in ("ON", "OFF", "1", "0"):
                raise CommandError(-224, "Illegal parameter value")
            state.output = argument.upper() in ("ON", "1")
            return None
        if name == "INIT" and not query:
            if state.output and state.shape == "PULS":
                self.timebase.advance(state.delay_s)
                current = state.load.pulse(state.peak_v, state.width_s, state.limit_a)
                state.last_current_a = max(-state.limit_a, min(state.limit_a, current))
            return None
        if name == "FETC:ARR:CURR" and query:
            if state.last_current_a is None:
                raise CommandError(-230, "Data corrupt or stale")
            return f"{state.last_current_a:+.6E}"
        if name == "MEAS:CURR" and query:
            if not state.output:
                return f"{0.0:+.6E}"
            current = state.load.measure(state.level_v, MEASUREMENT_S)
            return f"{max(-state.limit_a, min(state.limit_a, current)):+.6E}"
        raise CommandError(-113, "Undefined header")
