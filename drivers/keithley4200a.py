"""Keithley 4200A-SCS over KXCI: SMU user mode and 4225-PMU pulses with spot-mean measurement.

KXCI on a socket (``TCPIP0::host::1225::SOCKET``) ends messages and replies with NUL and answers every
command, "ACK" when there is nothing else to say; anything else is the instrument refusing it, with the
reason in ``:ERROR:LAST:GET``. PyMeasure's ``Keithley4200`` covers user mode only; the PMU commands here
are KXCI's (Clarius 1.13 and later): ``:PMU:PULSE:TRAIN ch, base, amplitude``, ``:PMU:PULSE:TIMES ch,
period, width, rise, fall[, delay]``, ``:PMU:MEASURE:MODE 1`` (spot mean, discrete), ``:PMU:MEASURE:RANGE
ch, 2, range`` (fixed), ``:PMU:OUTPUT:STATE``, ``:PMU:EXECUTE``, ``:PMU:TEST:STATUS?`` (1 while running),
``:PMU:DATA:GET ch, start, count`` (points separated by ``;``, values by ``,``). The 4225-PMU's 10 V range
(the one with an RPM) takes periods of 60 ns-1 s, widths from 40 ns, edges of 20 ns-33 ms.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from pymeasure.instruments import Instrument

from labrram.errors import InstrumentError

MIN_PULSE_WIDTH_S = 40e-9
MAX_PMU_V = 10.0
MIN_EDGE_S = 20e-9
DATA_CHUNK = 2048  # points per :PMU:DATA:GET
ERROR = re.compile(r"^(.*)\(\s*(-?\d+)\s*\)\s*$")
READING = re.compile(r"^([NLVXCT])([A-P])([VI])\s*([+-]?\d.*)$")


@dataclass(frozen=True)
class SpotMean:
    """One spot-mean point of a PMU channel: the high (pulse top) and low (base) levels' V and I."""

    high_v: float
    high_a: float
    high_t_s: float
    high_status: int
    low_v: float
    low_a: float
    low_t_s: float
    low_status: int


def parse_reading(reply: str) -> tuple[str, float]:
    """A user-mode reading ``NAI+1.234567E-06`` as (status letter, value)."""
    found = READING.match(reply.strip())
    if found is None:
        raise ValueError(f"not a KXCI reading: {reply!r}")
    return found.group(1), float(found.group(4).replace(" ", ""))


def parse_points(reply: str, width: int) -> list[tuple[float, ...]]:
    """``:PMU:DATA:GET`` text: points separated by ``;``, each of ``width`` comma-separated numbers."""
    points = []
    for text in (part for part in reply.strip().split(";") if part.strip()):
        values = [float(v) for v in text.split(",")]
        if len(values) != width:
            raise ValueError(f"a PMU data point of {len(values)} values, expected {width}: {text!r}")
        points.append(tuple(values))
    return points


class Keithley4200A(Instrument):
    """Keithley 4200A-SCS: SMU user mode (DV/DI/TV/TI) and 4225-PMU pulse tests, every reply checked."""

    def __init__(self, adapter, name: str = "Keithley 4200A-SCS", **kwargs) -> None:
        kwargs.setdefault("read_termination", "\0")
        kwargs.setdefault("write_termination", "\0")
        super().__init__(adapter, name, includeSCPI=False, **kwargs)

    # -- the conversation ------------------------------------------------------------------------------
    def command(self, text: str) -> None:
        """Send a command and check it was accepted ("ACK")."""
        reply = self.ask(text).strip()
        if reply != "ACK":
            raise InstrumentError(self.name, text, f"refused: {reply}")

    @property
    def id(self) -> str:
        """Identification string (``*IDN?``)."""
        return self.ask("*IDN?").strip()

    @property
    def options(self) -> list[str]:
        """The instrument cards installed (``*OPT?``), e.g. ["SMU1", "SMU2", "PMU1"]."""
        return [part.strip() for part in self.ask("*OPT?").split(",") if part.strip()]

    def last_error(self) -> tuple[int, str]:
        """The last error as (code, message); code 0 when there is none."""
        reply = self.ask(":ERROR:LAST:GET").strip()
        found = ERROR.match(reply)
        if found is None:
            return (0, "") if not reply else (-1, reply)
        return int(found.group(2)), found.group(1).strip()

    def check_errors(self) -> list[tuple[int, str]]:
        """The last error, if any, then cleared (KXCI keeps one, not a queue)."""
        code, message = self.last_error()
        if code == 0:
            return []
        self.command(":ERROR:LAST:CLEAR")
        return [(code, message)]

    def clear_errors(self) -> None:
        """Forget the last error."""
        self.command(":ERROR:LAST:CLEAR")

    # -- SMU user mode -----------------------------------------------------------------------------------
    def force_voltage(self, smu: int, voltage_v: float, compliance_a: float, voltage_range: int = 0) -> None:
        """An SMU to ``voltage_v`` (``DV``), its output on."""
        self.command(f"US;DV{int(smu)}, {int(voltage_range)}, {voltage_v:.9g}, {compliance_a:.6g}")

    def smu_off(self, smu: int) -> None:
        """An SMU to 0 V and off (``DV`` with the channel alone)."""
        self.command(f"US;DV{int(smu)}")

    def measure_current(self, smu: int) -> float:
        """One current reading of an SMU (``TI``)."""
        return parse_reading(self.ask(f"US;TI{int(smu)}"))[1]

    # -- the PMU --------------------------------------------------------------------------------------------
    def pmu_standard_pulse(self, channels: int) -> None:
        """Standard pulse mode, spot mean discrete, one pulse per test; each card's RPMs to the PMU."""
        self.command(":PMU:INIT 0")
        for channel in range(1, channels + 1):
            self.command(f":PMU:RPM:CONFIGURE PMU{(channel + 1) // 2}-{2 - channel % 2}, 0")
        self.command(":PMU:MEASURE:MODE 1")
        self.command(":PMU:PULSE:BURST:COUNT 1")

    def pulse_train(self, channel: int, base_v: float, amplitude_v: float) -> None:
        """A channel's base and amplitude levels."""
        for level in (base_v, amplitude_v):
            if not abs(level) <= MAX_PMU_V:
                raise ValueError(f"PMU level {level:g} V is beyond the 10 V range")
        self.command(f":PMU:PULSE:TRAIN {int(channel)}, {base_v:.9g}, {amplitude_v:.9g}")

    def pulse_times(self, channel: int, period_s: float, width_s: float, edge_s: float) -> None:
        """A channel's period, width (full width at half maximum), rise and fall times."""
        if width_s < MIN_PULSE_WIDTH_S or edge_s < MIN_EDGE_S or width_s <= edge_s:
            raise ValueError(
                f"PMU pulse of {width_s:g} s with {edge_s:g} s edges: widths from 40 ns, edges from 20 ns"
            )
        self.command(
            f":PMU:PULSE:TIMES {int(channel)}, {period_s:.9g}, {width_s:.9g}, {edge_s:.9g}, {edge_s:.9g}"
        )

    def measure_range(self, channel: int, current_range_a: float | None) -> None:
        """A fixed current measure range, or limited auto (None)."""
        if current_range_a is None:
            self.command(f":PMU:MEASURE:RANGE {int(channel)}, 0, 0.01")
        else:
            self.command(f":PMU:MEASURE:RANGE {int(channel)}, 2, {current_range_a:.6g}")

    def output(self, channel: int, on: bool) -> None:
        """A PMU channel's output on or off."""
        self.command(f":PMU:OUTPUT:STATE {int(channel)}, {int(bool(on))}")

    def execute(self, poll_s: float = 1e-3, timeout_s: float = 60.0) -> None:
        """Run the configured test and return when it has ended."""
        self.command(":PMU:EXECUTE")
        deadline = time.monotonic() + timeout_s
        while int(float(self.ask(":PMU:TEST:STATUS?"))):
            if time.monotonic() > deadline:
                raise InstrumentError(self.name, ":PMU:EXECUTE", f"test still running after {timeout_s:g} s")
            time.sleep(poll_s)

    def spot_means(self, channel: int) -> list[SpotMean]:
        """The spot-mean points a channel took in the last test."""
        count = int(float(self.ask(f":PMU:DATA:COUNT? {int(channel)}")))
        points: list[tuple[float, ...]] = []
        for start in range(0, count, DATA_CHUNK):
            reply = self.ask(f":PMU:DATA:GET {int(channel)}, {start}, {min(DATA_CHUNK, count - start)}")
            points.extend(parse_points(reply, 8))
        return [SpotMean(p[0], p[1], p[2], int(p[3]), p[4], p[5], p[6], int(p[7])) for p in points]

    def run(self, sense: int) -> SpotMean:
        """Run one pulse on every channel that is on; the spot mean ``sense`` took of it."""
        self.execute()
        points = parse_points(self.ask(f":PMU:DATA:GET {int(sense)}, 0, 2"), 8)
        if len(points) != 1:
            raise InstrumentError(self.name, ":PMU:DATA:GET", f"{len(points)} points from one pulse")
        return SpotMean(*points[0][:3], int(points[0][3]), *points[0][4:7], int(points[0][7]))
