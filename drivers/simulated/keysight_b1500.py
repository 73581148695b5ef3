"""A simulated Keysight B1500A: FLEX commands for DC force, spot and pulsed-spot measurement on SMUs.

Commands are separated by ``;`` or new lines and answered with CR LF. Taken: the IEEE 488.2 common
commands (``*IDN?``, ``*RST``, ``*CLS``, ``*OPC?``, ``*STB?``, ``*ESR?``, ``*TST?``, ``*WAI``), ``UNT?``
(the module in every slot), ``CN``/``CL``/``DZ``/``RZ``, ``DV``/``DI`` (force voltage or current, the
compliance and its polarity and range optional), ``TI``/``TV`` (high-speed spot), ``MM 1,ch...`` (spot)
and ``MM 3,ch`` with ``PT``/``PV`` (pulsed spot) run by ``XE``, ``FMT`` 1/2/11/12/21/22 (ASCII, with or
without the header), ``CMM``, ``RI``/``RV`` and the ADC, averaging, timer and wait settings (kept).
Data come back as the format says: ``NAI+1.23456E-04`` (FMT 1: status, channel letter, data type, 12
digits), ``NAI+1.234567E-04`` (FMT 11, 13 digits), ``000AI+1.234567E-04`` (FMT 21: a three-digit status,
8 for compliance); several elements separated by commas. Errors go to the ``ERRX?`` queue with the
B1500's codes (100 undefined command, 120 incorrect parameter, 150 channel not connected).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from labrram.drivers.simulated.clock import ManualClock, Timebase
from labrram.drivers.simulated.emulator import CommandError, SimulatedInstrument
from labrram.drivers.simulated.keithley2600b import Load

CHANNELS = range(1, 11)
COMMAND = re.compile(r"^(\*?[A-Z]+\??)\s*(.*)$")
MEASUREMENT_S = 1 / 50
PROBE_V = 0.1  # a current force first learns its load's conductance at this level
MODULE = "B1517A"  # high-resolution SMU, in every slot that holds a load
FORMATS = {1: (False, 12, True), 2: (False, 12, False), 11: (False, 13, True), 12: (False, 13, False)}
FORMATS |= {21: (True, 13, True), 22: (True, 13, False)}  # (3-digit status, digits, header)
COMPLIANCE_STATUS = 8  # "this unit reached its compliance setting"
# Settings taken and kept without effect on the simulation, with how many numbers each takes.
KEPT = {"AAD": (1, 2), "AIT": (2, 3), "AV": (1, 2), "AZ": (1, 1), "TSC": (1, 1), "BC": (0, 0), "TSR": (0, 1)}
KEPT |= {
    "WAT": (2, 3),
    "PAD": (1, 1),
    "FL": (1, 11),
    "CM": (1, 1),
    "RI": (2, 2),
    "RV": (2, 2),
    "ERSSP": (2, 2),
}
COMMANDS = ("*IDN?", "*RST", "*CLS", "*OPC?", "*OPC", "*STB?", "*ESR?", "*TST?", "*WAI", "UNT?", "ERRX?")
COMMANDS += (
    "ERR?",
    "CN",
    "CL",
    "DZ",
    "RZ",
    "FMT",
    "DV",
    "DI",
    "CMM",
    "TI",
    "TV",
    "MM",
    "PT",
    "PV",
    "XE",
    *KEPT,
)


@dataclass
class FlexChannel:
    """One SMU slot: its output, what it forces and its compliance."""

    load: Load
    connected: bool = False
    forcing: str = "V"  # "V" (DV) or "I" (DI)
    level_v: float = 0.0
    level_a: float = 0.0
    compliance_a: float = 1e-4
    compliance_v: float = 2.0
    zeroed: tuple[float, float] | None = None  # what DZ put aside for RZ

    @property
    def output(self) -> bool:
        return self.connected

    @property
    def limit_a(self) -> float:
        return self.compliance_a


class SimulatedB1500A(SimulatedInstrument):
    """SMUs in slots 1-10 (``loads`` maps the slots that hold one)."""

    identity = "Agilent Technologies,B1500A,0,A.06.00 (simulated)"
    terminator = "\r\n"

    def __init__(self, loads: dict[int, Load], timebase: Timebase | None = None) -> None:
        super().__init__()
        self.channels = {slot: FlexChannel(load) for slot, load in loads.items()}
        self.timebase = timebase if timebase is not None else ManualClock()
        self.mode: tuple[int, tuple[int, ...]] | None = None
        self.timing = (0.0, 1e-3, 5e-3)
        self.pulse: tuple[int, float, float, float] | None = None
        self.data_format = 1
        self._event_status = 0

    def split(self, message: str) -> list[str]:
        return [part.strip() for line in super().split(message) for part in line.split(";") if part.strip()]

    def queue_error(self, code: int, message: str) -> None:
        super().queue_error(code, message)
        self._event_status |= 32 if code == 100 else 16  # command or execution error

    def handle(self, command: str) -> str | None:
        match = COMMAND.match(command.upper())
        if match is None:
            raise CommandError(100, "Undefined GPIB command.")
        name, arguments = match.groups()
        common = self._common(name)
        if common is not None:
            return common or None
        if name == "UNT?":
            return ";".join(f"{MODULE},0" if slot in self.channels else "0,0" for slot in CHANNELS)
        if name == "ERRX?" or name == "ERR?":
            if not self.errors:
                return '0,"No Error."' if name == "ERRX?" else "0,0,0,0"
            code, message = self.errors.popleft()
            return f'{code},"{message}"' if name == "ERRX?" else f"{code},0,0,0"
        handler = getattr(self, f"_{name.lower()}", None)
        if handler is not None:
            return handler(arguments)
        if name in KEPT:
            self._numbers(arguments, *KEPT[name])
            return None
        raise CommandError(100, "Undefined GPIB command.")

    def _common(self, name: str) -> str | None:
        """IEEE 488.2 common commands: their reply, "" when they have none, None for other commands."""
        if not name.startswith("*"):
            return None
        if name == "*IDN?":
            return self.identity
        if name == "*RST":
            self._cl("")
            self.mode, self.pulse, self.data_format = None, None, 1
            return ""
        if name == "*CLS":
            self.errors.clear()
            self._event_status = 0
            return ""
        if name in ("*OPC?", "*TST?"):
            return "1" if name == "*OPC?" else "0"
        if name == "*STB?":
            return str((4 if self.errors else 0) | (32 if self._event_status else 0))
        if name == "*ESR?":
            status, self._event_status = self._event_status, 0
            return str(status)
        if name in ("*WAI", "*OPC"):
            return ""
        raise CommandError(100, "Undefined GPIB command.")

    # -- parameters ----------------------------------------------------------------------------------
    def _channel(self, text: str) -> FlexChannel:
        try:
            slot = int(float(text))
        except ValueError:
            raise CommandError(120, "Incorrect parameter value.") from None
        if slot not in self.channels:
            raise CommandError(120, "Incorrect parameter value.")
        return self.channels[slot]

    def _connected(self, slot: int) -> FlexChannel:
        channel = self._channel(str(slot))
        if not channel.connected:
            raise CommandError(150, "Channel not connected.")
        return channel

    @staticmethod
    def _numbers(text: str, least: int, most: int | None = None) -> list[float]:
        parts = [p.strip() for p in text.split(",")] if text.strip() else []
        if not least <= len(parts) <= (least if most is None else most):
            raise CommandError(120, "Incorrect parameter value.")
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise CommandError(120, "Incorrect parameter value.") from None
        if not all(math.isfinite(v) for v in values):
            raise CommandError(120, "Incorrect parameter value.")
        return values

    def _slots(self, arguments: str) -> list[int]:
        slots = (
            [int(v) for v in self._numbers(arguments, 0, len(CHANNELS))] if arguments else list(self.channels)
        )
        for slot in slots:
            self._channel(str(slot))
        return slots

    # -- commands (``_<name>``, each taking its argument text) --------------------------------------------
    def _cn(self, arguments: str) -> None:
        for slot in self._slots(arguments):
            self.channels[slot].connected = True

    def _cl(self, arguments: str) -> None:
        for slot in self._slots(arguments):
            channel = self.channels[slot]
            channel.connected, channel.level_v, channel.level_a, channel.zeroed = False, 0.0, 0.0, None

    def _dz(self, arguments: str) -> None:
        for slot in self._slots(arguments):
            channel = self.channels[slot]
            channel.zeroed = (channel.level_v, channel.level_a)
            channel.level_v, channel.level_a, channel.forcing = 0.0, 0.0, "V"

    def _rz(self, arguments: str) -> None:
        for slot in self._slots(arguments):
            channel = self.channels[slot]
            if channel.zeroed is not None:
                channel.level_v, channel.level_a = channel.zeroed
                channel.zeroed = None

    def _fmt(self, arguments: str) -> None:
        values = self._numbers(arguments, 1, 2)
        if int(values[0]) not in FORMATS or (len(values) > 1 and int(values[1]) not in range(0, 11)):
            raise CommandError(120, "Incorrect parameter value.")
        self.data_format = int(values[0])

    def _dv(self, arguments: str) -> None:
        self._force("V", arguments)

    def _di(self, arguments: str) -> None:
        self._force("I", arguments)

    def _force(self, kind: str, arguments: str) -> None:
        """DV/DI: force a voltage (compliance in A) or a current (compliance in V) on a channel."""
        values = self._numbers(arguments, 3, 6)
        channel = self._connected(int(values[0]))
        level, (largest, largest_compliance) = values[2], ((200, 1) if kind == "V" else (1, 200))
        kept = channel.compliance_a if kind == "V" else channel.compliance_v
        compliance = abs(values[3]) if len(values) > 3 else kept
        if abs(level) > largest or not 0 < compliance <= largest_compliance:
            raise CommandError(120, "Incorrect parameter value.")
        channel.forcing = kind
        if kind == "V":
            channel.level_v, channel.compliance_a = level, compliance
        else:
            channel.level_a, channel.compliance_v = level, compliance

    def _cmm(self, arguments: str) -> None:
        slot, mode = self._numbers(arguments, 2)
        self._channel(str(int(slot)))
        if int(mode) not in range(0, 5):
            raise CommandError(120, "Incorrect parameter value.")

    def _ti(self, arguments: str) -> str:
        slot = int(self._numbers(arguments, 1, 2)[0])
        return self._element(slot, *self._spot(self._connected(slot), "I"))

    def _tv(self, arguments: str) -> str:
        slot = int(self._numbers(arguments, 1, 2)[0])
        return self._element(slot, *self._spot(self._connected(slot), "V"))

    def _mm(self, arguments: str) -> None:
        values = self._numbers(arguments, 1, 11)
        mode, slots = int(values[0]), tuple(int(v) for v in values[1:])
        if mode not in (1, 3) or not slots or (mode == 3 and len(slots) != 1):
            raise CommandError(120, "Incorrect parameter value.")
        for slot in slots:
            self._channel(str(slot))
        self.mode = (mode, slots)

    def _pt(self, arguments: str) -> None:
        values = self._numbers(arguments, 2, 4)
        hold, width = values[0], values[1]
        period = values[2] if len(values) > 2 and values[2] > 0 else max(5e-3, width + 2e-3)
        if not (500e-6 <= width <= 2 and 5e-3 <= period <= 5 and period >= width + 2e-3 and hold >= 0):
            raise CommandError(120, "Incorrect parameter value.")
        self.timing = (hold, width, period)

    def _pv(self, arguments: str) -> None:
        values = self._numbers(arguments, 4, 5)
        slot, base, peak = int(values[0]), values[2], values[3]
        compliance = abs(values[4]) if len(values) > 4 else 1e-4
        self._channel(str(slot))
        if max(abs(base), abs(peak)) > 200 or not 0 < compliance <= 1:
            raise CommandError(120, "Incorrect parameter value.")
        self.pulse = (slot, base, peak, compliance)

    def _xe(self, arguments: str) -> str:
        if self.mode is None:
            raise CommandError(120, "Incorrect parameter value.")
        mode, slots = self.mode
        if mode == 1:
            elements = [self._element(slot, *self._spot(self._connected(slot), None)) for slot in slots]
            return ",".join(elements)
        if self.pulse is None or self.pulse[0] != slots[0]:
            raise CommandError(120, "Incorrect parameter value.")
        slot, base, peak, compliance = self.pulse
        channel = self._connected(slot)
        hold, width, period = self.timing
        channel.load.rest(base, hold)
        current = channel.load.pulse(peak, width, compliance)
        channel.load.rest(base, period - width)
        return self._element(slot, "I", _limited(current, compliance), abs(current) > compliance)

    # -- measurement ---------------------------------------------------------------------------------
    def _spot(self, channel: FlexChannel, kind: str | None) -> tuple[str, float, bool]:
        """One spot measurement: (data type, value, whether at compliance). ``kind`` None measures the
        compliance side (current of a voltage force, voltage of a current force); the load keeps the time."""
        if channel.forcing == "V":
            current = channel.load.measure(channel.level_v, MEASUREMENT_S, channel.compliance_a)
            at_limit = abs(current) > channel.compliance_a
            if kind == "V":
                return (
                    "V",
                    channel.level_v * (channel.compliance_a / abs(current) if at_limit else 1.0),
                    at_limit,
                )
            return "I", _limited(current, channel.compliance_a), at_limit
        probe = channel.load.measure(PROBE_V, MEASUREMENT_S, math.inf)
        conductance_s = abs(probe) / PROBE_V
        voltage = (
            channel.level_a / conductance_s if conductance_s > 0 else math.copysign(math.inf, channel.level_a)
        )
        at_limit = abs(voltage) > channel.compliance_v
        voltage = math.copysign(min(abs(voltage), channel.compliance_v), voltage)
        if kind == "I":
            return "I", conductance_s * voltage if at_limit else channel.level_a, at_limit
        return "V", voltage, at_limit

    def _element(self, slot: int, data_type: str, value: float, at_limit: bool) -> str:
        """One data element in the present format."""
        three_digit, digits, header = FORMATS[self.data_format]
        number = f"{value:+.{digits - 7}E}"
        if not header:
            return number
        letter = chr(ord("A") + slot - 1)
        if three_digit:
            return f"{COMPLIANCE_STATUS if at_limit else 0:03d}{letter}{data_type}{number}"
        return f"{'C' if at_limit else 'N'}{letter}{data_type}{number}"


def _limited(current: float, compliance: float) -> float:
    return max(-compliance, min(compliance, current))
