"""A simulated Keithley 4200A-SCS under KXCI: SMU user mode and the 4225-PMU pulse commands.

KXCI over a socket ends every message and every reply with NUL; each command is answered, "ACK" when
it has nothing else to say (several commands joined by ``;`` get one answer). User mode: ``US``,
``DV``/``DI`` (force; the channel alone sets it to 0 V and off), ``TV``/``TI`` (a reading
``NAI+1.234567E-06``: status N normal or C in compliance, the channel's letter, V or I), ``IT1-3``
(integration time), ``BC``, ``SP``, ``ID``, ``*IDN?``, ``*OPT?``, ``*RST``. PMU (Clarius 1.13 and later):
``:PMU:INIT``, ``:PMU:RPM:CONFIGURE``, ``:PMU:PULSE:TRAIN``/``TIMES``/``BURST:COUNT``,
``:PMU:SWEEP:PULSE:AMPLITUDE``, ``:PMU:MEASURE:MODE``/``RANGE``/``PIV``, ``:PMU:TIMES:PIV``,
``:PMU:LOAD``, ``:PMU:LLEC:CONFIGURE``, ``:PMU:CONNECTION:COMP``, ``:PMU:OUTPUT:STATE``,
``:PMU:EXECUTE``, ``:PMU:TEST:STATUS?``, ``:PMU:DATA:COUNT?``/``GET``; ``:ERROR:LAST:GET``/``CLEAR``.

A test runs at once in simulated time: every channel whose output is on pulses together (with the lowest
numbered one's timing) from its base to its amplitude (the top lasts the pulse width, as the PMU's full
width at half maximum), so the selected line, the half-selected lines and the sensing line of a
crossbar move in one pulse, as seed 002's pulse divider moves them. Spot-mean data are rows of (V high,
I high, time high, status high, V low, I low, time low, status low); waveform data rows of (V, I, time,
status). A current beyond a fixed measure range reads as the range with status 1. The PMU's 10 V range
is the one modelled (the RPM's); its timing limits are the 4225-PMU's for that range.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from labrram.drivers.simulated.clock import ManualClock, Timebase
from labrram.drivers.simulated.emulator import CommandError, SimulatedInstrument
from labrram.drivers.simulated.keithley2600b import Load, SMUState
from labrram.drivers.simulated.wiring import WiredLoad

ACK = "ACK"
LINE_FREQUENCY_HZ = 60.0
INTEGRATION_PLC = {1: 0.1, 2: 1.0, 3: 10.0}  # IT1 short, IT2 medium, IT3 long
SMU_MAX_V, SMU_MAX_A = 210.0, 0.105  # a 4200-SMU's ratings
PMU_MAX_V, PMU_MAX_A = 10.0, 0.2  # the 4225-PMU's 10 V range
PERIOD_S, WIDTH_S, EDGE_S = (60e-9, 1.0), 40e-9, (20e-9, 33e-3)
MAX_BURST = 10_000
WAVEFORM_POINTS = 2_000  # samples per period in waveform mode
FAILURE, INVALID, RANGE = -992, -100, -122
I_LETTERS = "ABCDEFGH"  # SMU1-8 in a current reading
V_LETTERS = "ABCDGHIJ"  # SMU1-8 in a voltage reading (E, F: VM1, VM2)
COMMAND = re.compile(r"^(:[A-Z:]+\??|\*[A-Z]+\??|[A-Z]{2})\s*(.*)$")


@dataclass
class PulseChannel:
    """One PMU channel's pulse and measurement settings, and the data of its last test."""

    state: SMUState
    base_v: float = 0.0
    amplitude_v: float = 0.0
    period_s: float = 1e-6
    width_s: float = 500e-9
    rise_s: float = 100e-9
    fall_s: float = 100e-9
    delay_s: float = 0.0
    range_a: float | None = None  # a fixed measure range; None: limited auto
    window: tuple[float, float] = (0.75, 0.90)  # of the top (and of the base) that spot means average
    acquire: tuple[bool, bool] = (True, True)  # high, low
    sweep: list[float] | None = None
    load_ohm: float = 1e6
    rows: list[tuple[float, ...]] = field(default_factory=list)


class Simulated4200A(SimulatedInstrument):
    """A 4200A-SCS with SMUs and 4225-PMU channels, each on its own load (a wired matrix row or not)."""

    terminator = "\0"
    identity = "KEITHLEY INSTRUMENTS,4200A-SCS,0000000,V1.13 (simulated)"

    def __init__(
        self,
        smu_loads: Mapping[int, Load],
        pmu_loads: Mapping[int, Load],
        timebase: Timebase | None = None,
    ) -> None:
        super().__init__()
        if not pmu_loads or sorted(pmu_loads) != list(range(1, len(pmu_loads) + 1)) or len(pmu_loads) % 2:
            raise ValueError("PMU channels come in pairs per card, numbered from 1")
        self.timebase: Timebase = timebase if timebase is not None else ManualClock()
        self.smus = {number: SMUState(load, limit_a=SMU_MAX_A) for number, load in smu_loads.items()}
        self.pmu = {
            number: PulseChannel(SMUState(load, limit_a=PMU_MAX_A)) for number, load in pmu_loads.items()
        }
        self.reset_state()

    def reset_state(self) -> None:
        """Power-on: every output 0 V and off, default pulse settings, no data, no error."""
        for smu in self.smus.values():
            smu.reset()
            smu.limit_a = SMU_MAX_A
        for number, channel in self.pmu.items():
            channel.state.reset()
            channel.state.limit_a = PMU_MAX_A
            self.pmu[number] = PulseChannel(channel.state)
        self.integration_plc = 1.0
        self.measure_mode = 1
        self.burst_count = 1
        self.last_error: tuple[int, str] = (0, "No error.")

    # -- messages --------------------------------------------------------------------------------------
    def split(self, message: str) -> list[str]:
        """One message per NUL- or line-terminated string; its ``;``-joined commands answer once."""
        return [part.strip() for part in re.split(r"[\0\r\n]", message) if part.strip()]

    def write(self, message: str) -> None:
        for group in self.split(message):
            replies = []
            try:
                for command in (part.strip() for part in group.split(";") if part.strip()):
                    reply = self.handle(command)
                    if reply is not None:
                        replies.append(reply)
            except CommandError as error:
                self.last_error = (error.code, error.message)
                self._replies.append(f"{error.message} ({error.code})")
                continue
            self._replies.append(";".join(replies) if replies else ACK)

    def handle(self, command: str) -> str | None:
        match = COMMAND.match(command.upper())
        if match is None:
            raise CommandError(INVALID, f"Invalid command: {command}")
        name, arguments = match.groups()
        simple = SIMPLE.get(name)
        if simple is not None:
            if arguments.strip():
                raise CommandError(INVALID, f"{name} takes no parameters")
            return getattr(self, simple)()
        handler = HANDLERS.get(name)
        if handler is None:
            raise CommandError(INVALID, f"Invalid command: {command}")
        return handler(self, arguments)

    def _clear_error(self) -> None:
        self.last_error = (0, "No error.")

    def _identify(self) -> str:
        return self.identity

    @staticmethod
    def _model() -> str:
        return "KI4200A"

    def _options(self) -> str:
        cards = range(1, len(self.pmu) // 2 + 1)
        return ",".join([f"SMU{n}" for n in self.smus] + [f"PMU{card}" for card in cards])

    @staticmethod
    def _acknowledged() -> None:
        """A setting the simulation keeps nothing of (user mode, buffer clear)."""

    @staticmethod
    def _idle() -> str:
        """Status byte and test status: a test has run to its end by the time either is read."""
        return "0"

    def _last_error(self) -> str:
        return f"{self.last_error[1]} ({self.last_error[0]})"

    @staticmethod
    def _numbers(text: str, least: int, most: int | None = None) -> list[float]:
        parts = [p.strip() for p in text.split(",")] if text.strip() else []
        if not least <= len(parts) <= (least if most is None else most):
            raise CommandError(RANGE, f"Wrong number of parameters: {text!r}")
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise CommandError(RANGE, f"Illegal parameter value: {text!r}") from None
        if not all(math.isfinite(v) for v in values):
            raise CommandError(RANGE, f"Illegal parameter value: {text!r}")
        return values

    # -- SMU user mode ---------------------------------------------------------------------------------
    def _smu(self, text: str) -> tuple[int, SMUState, str]:
        number, _, rest = text.partition(",")
        if not number.strip().isdigit() or int(number) not in self.smus:
            raise CommandError(RANGE, f"No SMU{number.strip()} in this system")
        return int(number), self.smus[int(number)], rest

    def _force(self, kind: str, arguments: str) -> None:
        _, smu, rest = self._smu(arguments)
        if not rest.strip():  # DV1: 0 V and off
            smu.level_v, smu.level_i, smu.output = 0.0, 0.0, False
            return
        source_range, level, compliance = self._numbers(rest, 3)
        if int(source_range) not in range(0, 14):
            raise CommandError(RANGE, f"Illegal source range {source_range:g}")
        largest = SMU_MAX_V if kind == "V" else SMU_MAX_A
        largest_compliance = SMU_MAX_A if kind == "V" else SMU_MAX_V
        if abs(level) > largest or not 0 < abs(compliance) <= largest_compliance:
            raise CommandError(RANGE, f"Illegal value for parameter: {rest.strip()}")
        smu.output = True
        if kind == "V":
            smu.func, smu.level_v, smu.limit_a = 1, level, abs(compliance)
        else:
            smu.func, smu.level_i, smu.limit_v = 0, level, abs(compliance)

    def _dv(self, arguments: str) -> None:
        self._force("V", arguments)

    def _di(self, arguments: str) -> None:
        self._force("I", arguments)

    def _reading(self, kind: str, arguments: str) -> str:
        number, smu, rest = self._smu(arguments)
        if rest.strip():
            raise CommandError(RANGE, f"T{kind} takes a channel only")
        duration_s = self.integration_plc / LINE_FREQUENCY_HZ
        current_a, voltage_v = 0.0, 0.0
        if smu.output and smu.func == 1:
            current_a = smu.load.measure(smu.level_v, duration_s, smu.limit_a)
            voltage_v = smu.level_v
            smu.compliance = abs(current_a) > smu.limit_a
            if smu.compliance:
                voltage_v *= smu.limit_a / abs(current_a)
                current_a = math.copysign(smu.limit_a, current_a)
        elif smu.output:
            conductance_s = abs(smu.load.measure(0.1, duration_s, SMU_MAX_A)) / 0.1
            wanted_v = (
                smu.level_i / conductance_s if conductance_s > 0 else math.copysign(smu.limit_v, smu.level_i)
            )
            smu.compliance = abs(wanted_v) > smu.limit_v
            voltage_v = math.copysign(smu.limit_v, wanted_v) if smu.compliance else wanted_v
            current_a = conductance_s * voltage_v if smu.compliance else smu.level_i
        else:
            self.timebase.advance(duration_s)
            smu.compliance = False
        letter = (I_LETTERS if kind == "I" else V_LETTERS)[number - 1]
        value = current_a if kind == "I" else voltage_v
        return f"{'C' if smu.compliance else 'N'}{letter}{kind}{value:+.6E}"

    def _ti(self, arguments: str) -> str:
        return self._reading("I", arguments)

    def _tv(self, arguments: str) -> str:
        return self._reading("V", arguments)

    def _it(self, arguments: str) -> None:
        if arguments.strip() not in ("1", "2", "3"):
            raise CommandError(RANGE, f"Illegal integration time IT{arguments.strip()}")
        self.integration_plc = INTEGRATION_PLC[int(arguments)]

    # -- PMU ---------------------------------------------------------------------------------------------
    def _channel(self, value: float) -> PulseChannel:
        if not float(value).is_integer() or int(value) not in self.pmu:
            raise CommandError(RANGE, f"No PMU channel {value:g} in this system")
        return self.pmu[int(value)]

    def _pmu_init(self, arguments: str) -> None:
        (mode,) = self._numbers(arguments, 1)
        if mode != 0:
            raise CommandError(RANGE, "Only standard pulse mode (0) is available")
        for number, channel in self.pmu.items():
            channel.state.output, channel.state.level_v = False, 0.0
            self.pmu[number] = PulseChannel(channel.state)
        self.measure_mode, self.burst_count = 1, 1

    def _rpm_configure(self, arguments: str) -> None:
        name, _, mode = arguments.partition(",")
        found = re.fullmatch(r"PMU(\d)-([12])", name.strip())
        if found is None or (int(found.group(1)) - 1) * 2 + int(found.group(2)) not in self.pmu:
            raise CommandError(RANGE, f"No RPM {name.strip()} in this system")
        if mode.strip() not in ("0", "1", "2", "3"):
            raise CommandError(RANGE, f"Illegal RPM mode {mode.strip()!r}")

    def _pulse_train(self, arguments: str) -> None:
        number, base_v, amplitude_v = self._numbers(arguments, 3)
        channel = self._channel(number)
        if max(abs(base_v), abs(amplitude_v)) > PMU_MAX_V:
            raise CommandError(RANGE, f"Level beyond the 10 V range: {arguments.strip()}")
        channel.base_v, channel.amplitude_v, channel.sweep = base_v, amplitude_v, None

    def _pulse_times(self, arguments: str) -> None:
        values = self._numbers(arguments, 5, 6)
        channel = self._channel(values[0])
        period_s, width_s, rise_s, fall_s = values[1:5]
        delay_s = values[5] if len(values) > 5 else 0.0
        edges_s = (rise_s + fall_s) / 2
        if not (
            PERIOD_S[0] <= period_s <= PERIOD_S[1]
            and EDGE_S[0] <= rise_s <= EDGE_S[1]
            and EDGE_S[0] <= fall_s <= EDGE_S[1]
            and max(WIDTH_S, edges_s) < width_s <= period_s - 10e-9
            and delay_s >= 0
            and period_s - delay_s - width_s - edges_s > 40e-9
        ):
            raise CommandError(RANGE, f"Pulse timing out of range: {arguments.strip()}")
        for other in self.pmu.values():
            other.period_s = period_s  # one period for every channel
        channel.width_s, channel.rise_s, channel.fall_s, channel.delay_s = width_s, rise_s, fall_s, delay_s

    def _burst_count(self, arguments: str) -> None:
        (count,) = self._numbers(arguments, 1)
        if not (count.is_integer() and 1 <= count <= MAX_BURST):
            raise CommandError(RANGE, f"Burst count out of range: {arguments.strip()}")
        self.burst_count = int(count)

    def _sweep_amplitude(self, arguments: str) -> None:
        number, start_v, stop_v, step_v, base_v, dual = self._numbers(arguments, 6)
        channel = self._channel(number)
        if (
            step_v == 0
            or (stop_v - start_v) * step_v < 0
            or max(abs(start_v), abs(stop_v), abs(base_v)) > PMU_MAX_V
        ):
            raise CommandError(RANGE, f"Illegal sweep: {arguments.strip()}")
        steps = round((stop_v - start_v) / step_v) + 1
        levels = [start_v + k * step_v for k in range(steps)]
        channel.sweep = levels + levels[-2::-1] if dual else levels
        channel.base_v = base_v

    def _measure_mode(self, arguments: str) -> None:
        (mode,) = self._numbers(arguments, 1)
        if mode not in (0, 1, 2, 3, 4):
            raise CommandError(RANGE, f"Illegal measure mode {mode:g}")
        self.measure_mode = int(mode)

    def _measure_range(self, arguments: str) -> None:
        number, kind, range_a = self._numbers(arguments, 3)
        channel = self._channel(number)
        if kind not in (0, 1, 2) or not 0 < range_a <= PMU_MAX_A:
            raise CommandError(RANGE, f"Illegal measure range: {arguments.strip()}")
        channel.range_a = None if kind == 0 else range_a

    def _measure_piv(self, arguments: str) -> None:
        number, high, low = self._numbers(arguments, 3)
        if not (high or low):
            raise CommandError(RANGE, "Acquire the high level, the low level or both")
        self._channel(number).acquire = (bool(high), bool(low))

    def _times_piv(self, arguments: str) -> None:
        number, start, stop = self._numbers(arguments, 3)
        if not 0 <= start < stop <= 1:
            raise CommandError(RANGE, f"Measurement window out of range: {arguments.strip()}")
        self._channel(number).window = (start, stop)

    def _load(self, arguments: str) -> None:
        number, ohms = self._numbers(arguments, 2)
        if not 1 <= ohms <= 1e7:
            raise CommandError(RANGE, f"Load out of range: {arguments.strip()}")
        self._channel(number).load_ohm = ohms

    def _settled_only(self, arguments: str, count: tuple[int, int]) -> None:
        """Settings that change nothing in the simulation (load-line compensation, cable compensation)."""
        values = self._numbers(arguments, *count)
        self._channel(values[0])

    def _output_state(self, arguments: str) -> None:
        number, state = self._numbers(arguments, 2)
        channel = self._channel(number)
        channel.state.output = bool(state)
        channel.state.level_v = channel.base_v if state else 0.0

    def _data_count(self, arguments: str) -> str:
        (number,) = self._numbers(arguments, 1)
        return str(len(self._channel(number).rows))

    def _data_get(self, arguments: str) -> str:
        values = self._numbers(arguments, 1, 3)
        rows = self._channel(values[0]).rows
        start = int(values[1]) if len(values) > 1 else 0
        count = int(values[2]) if len(values) > 2 else len(rows) - start
        if start < 0 or count < 0:
            raise CommandError(RANGE, f"Illegal data range: {arguments.strip()}")
        return ";".join(",".join(f"{v:.6E}" for v in row) for row in rows[start : start + count])

    # -- a test --------------------------------------------------------------------------------------------
    def _execute(self) -> None:
        active = {n: c for n, c in self.pmu.items() if c.state.output}
        if not active:
            raise CommandError(FAILURE, "No PMU channel output is on")
        steps = max((len(c.sweep) for c in active.values() if c.sweep), default=1)
        for channel in self.pmu.values():
            channel.rows = []
        started_s = self.timebase.now_s
        for step in range(steps):
            pulses = [self._one_period(active, step, started_s) for _ in range(self.burst_count)]
            for number, channel in active.items():
                taken = [pulse[number] for pulse in pulses]
                if self.measure_mode in (1, 2):
                    channel.rows.extend(row for rows in taken for row in rows)
                elif self.measure_mode in (3, 4):
                    channel.rows.extend(_averaged(taken))

    def _one_period(
        self, active: dict[int, PulseChannel], step: int, started_s: float
    ) -> dict[int, list[tuple[float, ...]]]:
        """Every active channel pulses once together; the rows each records for this period."""
        tops = {
            n: (c.sweep[min(step, len(c.sweep) - 1)] if c.sweep else c.amplitude_v) for n, c in active.items()
        }
        lead = next(iter(active.values()))
        width_s, period_s = lead.width_s, lead.period_s
        begin_s = self.timebase.now_s - started_s + lead.delay_s
        for number, channel in active.items():
            channel.state.level_v = tops[number]
        lead.state.load.stress(width_s)  # every level acts on the cells for the top
        self.timebase.advance(width_s)
        window_s = (lead.window[1] - lead.window[0]) * width_s  # what the spot mean averages
        high = self._currents(active, window_s)
        for channel in active.values():
            channel.state.level_v = channel.base_v
        if any(c.base_v for c in active.values()):
            low = self._currents(active, window_s)
        else:  # every line at 0 V: no current flows
            low = dict.fromkeys(active, 0.0)
        rest_s = period_s - width_s
        lead.state.load.stress(rest_s)
        self.timebase.advance(rest_s)
        rows: dict[int, list[tuple[float, ...]]] = {}
        for number, channel in active.items():
            high_a, high_status = _ranged(high[number], channel.range_a)
            low_a, low_status = _ranged(low[number], channel.range_a)
            if self.measure_mode in (1, 3):
                t_high = begin_s + channel.rise_s / 2 + sum(channel.window) / 2 * width_s
                rows[number] = [
                    (
                        tops[number],
                        high_a,
                        t_high,
                        high_status,
                        channel.base_v,
                        low_a,
                        t_high + width_s,
                        low_status,
                    )
                ]
            elif self.measure_mode in (2, 4):
                rows[number] = _waveform(channel, tops[number], high_a, begin_s)
            else:
                rows[number] = []
        return rows

    @staticmethod
    def _currents(active: dict[int, PulseChannel], duration_s: float) -> dict[int, float]:
        """Every active channel's current at its present level, read at once (wired loads share one
        noisy draw per cell); loads not on the wiring read on their own."""
        wired = {n: c.state.load for n, c in active.items() if isinstance(c.state.load, WiredLoad)}
        currents = dict(zip(wired, WiredLoad.read_together(list(wired.values()), duration_s), strict=True))
        for number, channel in active.items():
            if number not in currents:
                currents[number] = channel.state.load.current(channel.state.level_v, duration_s)
        return currents


def _ranged(current_a: float, range_a: float | None) -> tuple[float, float]:
    """A current as a fixed range reports it: beyond full scale, the full scale with status 1."""
    if range_a is not None and abs(current_a) > range_a:
        return math.copysign(range_a, current_a), 1.0
    return current_a, 0.0


def _averaged(taken: list[list[tuple[float, ...]]]) -> list[tuple[float, ...]]:
    """Rows of a burst averaged point by point (the average modes), statuses combined."""
    stacked = np.array(taken, dtype=float)  # pulses x rows x columns
    mean = stacked.mean(axis=0)
    statuses = [i for i in range(stacked.shape[2]) if i % 4 == 3]
    mean[:, statuses] = stacked[:, :, statuses].max(axis=0)
    mean[:, [i - 1 for i in statuses]] = stacked[0][:, [i - 1 for i in statuses]]  # when the first was taken
    return [tuple(row) for row in mean]


def _waveform(channel: PulseChannel, top_v: float, top_a: float, begin_s: float) -> list[tuple[float, ...]]:
    """The period sampled: base, rising edge, top, falling edge, base; the current follows the voltage
    (the cells are ohmic within a pulse)."""
    times = np.linspace(0.0, channel.period_s, WAVEFORM_POINTS, endpoint=False)
    rise_start = channel.delay_s
    fall_start = channel.delay_s + channel.rise_s / 2 + channel.width_s - channel.fall_s / 2
    up = np.clip((times - rise_start) / channel.rise_s, 0.0, 1.0)
    down = np.clip((times - fall_start) / channel.fall_s, 0.0, 1.0)
    shape = up - down
    voltage = channel.base_v + (top_v - channel.base_v) * shape
    current = top_a * voltage / top_v if top_v else np.zeros_like(voltage)
    return [
        (v, i, begin_s - channel.delay_s + t, 0.0) for v, i, t in zip(voltage, current, times, strict=True)
    ]


# Commands without parameters, by the method that answers them.
SIMPLE = {
    "*IDN?": "_identify",
    "ID": "_model",
    "*OPT?": "_options",
    "*RST": "reset_state",
    "US": "_acknowledged",
    "BC": "_acknowledged",
    "SP": "_idle",
    ":PMU:TEST:STATUS?": "_idle",
    ":ERROR:LAST:GET": "_last_error",
    ":ERROR:LAST:CLEAR": "_clear_error",
    ":PMU:EXECUTE": "_execute",
}
HANDLERS = {
    "DV": Simulated4200A._dv,
    "DI": Simulated4200A._di,
    "TI": Simulated4200A._ti,
    "TV": Simulated4200A._tv,
    "IT": Simulated4200A._it,
    ":PMU:INIT": Simulated4200A._pmu_init,
    ":PMU:RPM:CONFIGURE": Simulated4200A._rpm_configure,
    ":PMU:PULSE:TRAIN": Simulated4200A._pulse_train,
    ":PMU:PULSE:TIMES": Simulated4200A._pulse_times,
    ":PMU:PULSE:BURST:COUNT": Simulated4200A._burst_count,
    ":PMU:SWEEP:PULSE:AMPLITUDE": Simulated4200A._sweep_amplitude,
    ":PMU:MEASURE:MODE": Simulated4200A._measure_mode,
    ":PMU:MEASURE:RANGE": Simulated4200A._measure_range,
    ":PMU:MEASURE:PIV": Simulated4200A._measure_piv,
    ":PMU:TIMES:PIV": Simulated4200A._times_piv,
    ":PMU:LOAD": Simulated4200A._load,
    ":PMU:LLEC:CONFIGURE": lambda self, arguments: self._settled_only(arguments, (2, 2)),
    ":PMU:CONNECTION:COMP": lambda self, arguments: self._settled_only(arguments, (3, 3)),
    ":PMU:OUTPUT:STATE": Simulated4200A._output_state,
    ":PMU:DATA:COUNT?": Simulated4200A._data_count,
    ":PMU:DATA:GET": Simulated4200A._data_get,
}
