"""A simulated Keysight B1500A: the FLEX subset of DC spot and pulsed spot on SMU channels, on Loads.

Commands are separated by ``;`` or new lines and answered with CR LF. Data come back in the FMT 1 form
``NAI+1.23456E-04`` (status N, channel letter, data type I). Errors go to the ``ERRX?`` queue with the
B1500's codes (100 undefined command, 120 incorrect parameter, 150 channel not connected).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from labrram.drivers.simulated.emulator import CommandError, SimulatedInstrument
from labrram.drivers.simulated.keithley2600b import Load, ManualClock, Timebase

CHANNELS = range(1, 11)
COMMAND = re.compile(r"^([A-Z]+\??)\s*(.*)$")
MEASUREMENT_S = 1 / 50


@dataclass
class FlexChannel:
    """One SMU slot."""

    load: Load
    connected: bool = False
    level_v: float = 0.0
    compliance_a: float = 1e-4


class SimulatedB1500A(SimulatedInstrument):
    """SMUs in slots 1-10 (``loads`` maps the slots that hold one)."""

    identity = "Agilent Technologies,B1500A,0,A.06.00 (simulated)"
    terminator = "\r\n"

    def __init__(self, loads: dict[int, Load], timebase: Timebase | None = None) -> None:
        super().__init__()
        self.channels = {slot: FlexChannel(load) for slot, load in loads.items()}
        self.timebase = timebase if timebase is not None else ManualClock()
        self.mode: tuple[int, int] | None = None
        self.timing = (0.0, 1e-3, 5e-3)
        self.pulse: tuple[int, float, float, float] | None = None

    def split(self, message: str) -> list[str]:
        return [part.strip() for line in super().split(message) for part in line.split(";") if part.strip()]

    def _channel(self, text: str) -> FlexChannel:
        try:
            slot = int(text)
        except ValueError:
            raise CommandError(120, "Incorrect parameter value.") from None
        if slot not in self.channels:
            raise CommandError(120, "Incorrect parameter value.")
        return self.channels[slot]

    def _numbers(self, text: str, count: int) -> list[float]:
        parts = [p.strip() for p in text.split(",")] if text.strip() else []
        if len(parts) != count:
            raise CommandError(120, "Incorrect parameter value.")
        try:
            return [float(p) for p in parts]
        except ValueError:
            raise CommandError(120, "Incorrect parameter value.") from None

    def handle(self, command: str) -> str | None:
        match = COMMAND.match(command.upper())
        if match is None:
            raise CommandError(100, "Undefined GPIB command.")
        name, arguments = match.groups()
        if name == "*IDN?":
            return self.identity
        if name == "ERRX?":
            if not self.errors:
                return '0,"No Error."'
            code, message = self.errors.popleft()
            return f'{code},"{message}"'
        if name in ("*RST", "CL", "DZ"):
            for channel in self.channels.values():
                channel.connected, channel.level_v = (
                    (False, 0.0) if name != "DZ" else (channel.connected, 0.0)
                )
            return None
        if name == "CN":
            for slot in arguments.split(",") if arguments else [str(s) for s in self.channels]:
                self._channel(slot).connected = True
            return None
        if name == "FMT":
            return None
        if name == "DV":
            slot, _, volts, compliance = self._numbers(arguments, 4)
            channel = self._connected(int(slot))
            if abs(volts) > 200 or not 0 < abs(compliance) <= 1:
                raise CommandError(120, "Incorrect parameter value.")
            channel.level_v, channel.compliance_a = volts, abs(compliance)
            return None
        if name == "TI":
            slot, _ = self._numbers(arguments, 2)
            channel = self._connected(int(slot))
            current = channel.load.measure(channel.level_v, MEASUREMENT_S)
            return _element(int(slot), _limited(current, channel.compliance_a))
        if name == "MM":
            mode, slot = self._numbers(arguments, 2)
            if mode not in (1, 3):
                raise CommandError(120, "Incorrect parameter value.")
            self._channel(str(int(slot)))
            self.mode = (int(mode), int(slot))
            return None
        if name == "PT":
            hold, width, period = self._numbers(arguments, 3)
            if not (500e-6 <= width <= 2 and 5e-3 <= period <= 5 and period >= width + 2e-3 and hold >= 0):
                raise CommandError(120, "Incorrect parameter value.")
            self.timing = (hold, width, period)
            return None
        if name == "PV":
            slot, _, base, peak, compliance = self._numbers(arguments, 5)
            self._channel(str(int(slot)))
            if max(abs(base), abs(peak)) > 200 or not 0 < abs(compliance) <= 1:
                raise CommandError(120, "Incorrect parameter value.")
            self.pulse = (int(slot), base, peak, abs(compliance))
            return None
        if name == "XE":
            return self._execute()
        raise CommandError(100, "Undefined GPIB command.")

    def _connected(self, slot: int) -> FlexChannel:
        channel = self._channel(str(slot))
        if not channel.connected:
            raise CommandError(150, "Channel not connected.")
        return channel

    def _execute(self) -> str | None:
        if self.mode is None or self.mode[0] != 3 or self.pulse is None or self.pulse[0] != self.mode[1]:
            raise CommandError(120, "Incorrect parameter value.")
        slot, base, peak, compliance = self.pulse
        channel = self._connected(slot)
        hold, width, period = self.timing
        channel.load.rest(base, hold)
        current = channel.load.pulse(peak, width, compliance)
        channel.load.rest(base, period - width)
        return _element(slot, _limited(current, compliance))


def _limited(current: float, compliance: float) -> float:
    return max(-compliance, min(compliance, current))


def _element(slot: int, value: float) -> str:
    """One FMT 1 data element: status N, channel letter, type I, the value."""
    return f"N{chr(ord('A') + slot - 1)}I{value:+.5E}"
