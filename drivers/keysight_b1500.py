"""Keysight B1500A (FLEX commands): DC spot and pulsed spot on its SMUs, on top of PyMeasure's AgilentB1500.

PyMeasure's driver has the mainframe, module discovery, sweeps and data formats but no pulsed spot, which
RRAM pulse + verify needs: ``MM 3,ch`` selects pulsed spot, ``PT hold,width,period`` the timing,
``PV ch,range,base,pulse,Icomp`` the pulse, and ``XE`` runs it; the current measured during the pulse
comes back in the output data. DC spot is ``DV ch,range,V,Icomp`` and ``TI ch,range``. Errors: ``ERRX?``.
The SMU pulse limits below are the B1500A User's Guide's (pulse width 0.5 ms-2 s, period 5 ms-5 s, both
with 100 us resolution); without a period the driver asks for what the instrument's AUTO period would be
(5 ms while the width is 3 ms or less, width + 2 ms up to 100 ms, width + 10 ms beyond), and refuses a
period shorter than width + 2 ms.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pymeasure.instruments.agilent import AgilentB1500

from labrram.errors import InstrumentError

MIN_PULSE_WIDTH_S, MAX_PULSE_WIDTH_S = 500e-6, 2.0
MIN_PERIOD_S, MAX_PERIOD_S = 5e-3, 5.0
MIN_PERIOD_MARGIN_S = 2e-3
LONG_PULSE_S, LONG_PULSE_MARGIN_S = 100e-3, 10e-3


def auto_period_s(width_s: float) -> float:
    """The pulse period the B1500A's AUTO setting gives a pulse of ``width_s``."""
    if width_s > LONG_PULSE_S:
        return width_s + LONG_PULSE_MARGIN_S
    return max(MIN_PERIOD_S, width_s + MIN_PERIOD_MARGIN_S)


VALUE = re.compile(r"[+-]\d+(?:\.\d+)?E[+-]\d+")
ERROR = re.compile(r'^\s*([+-]?\d+)\s*,\s*"(.*)"\s*$')


def data_value(reply: str) -> float:
    """The number in one FMT 1/2 data element, e.g. 'NAI+1.23456E-05' -> 1.23456e-05."""
    found = VALUE.findall(reply)
    if not found:
        raise ValueError(f"no measurement value in {reply!r}")
    return float(found[-1])


class KeysightB1500A(AgilentB1500):
    """Keysight B1500A: PyMeasure's AgilentB1500 plus DC spot and pulsed spot on SMU channels."""

    def enable_channels(self, channels: Iterable[int]) -> None:
        """Connect the outputs of these channels (``CN``)."""
        self.write("CN " + ",".join(str(int(c)) for c in channels))

    def disable_channels(self) -> None:
        """Disconnect every output (``CL``)."""
        self.write("CL")

    def spot_current(
        self, channel: int, voltage_v: float, compliance_a: float, voltage_range: int = 0
    ) -> float:
        """Force ``voltage_v`` on a channel and measure its current once (``DV`` then ``TI``)."""
        self.write(f"DV {int(channel)},{int(voltage_range)},{voltage_v:g},{compliance_a:g}")
        return data_value(self.ask(f"TI {int(channel)},0"))

    def pulsed_spot_current(
        self,
        channel: int,
        base_v: float,
        pulse_v: float,
        width_s: float,
        compliance_a: float,
        hold_s: float = 0.0,
        period_s: float | None = None,
        voltage_range: int = 0,
    ) -> float:
        """One voltage pulse with the current measured during it (``MM 3``, ``PT``, ``PV``, ``XE``)."""
        if not MIN_PULSE_WIDTH_S <= width_s <= MAX_PULSE_WIDTH_S:
            raise ValueError(
                f"pulse width {width_s:g} s is outside {MIN_PULSE_WIDTH_S:g}-{MAX_PULSE_WIDTH_S:g} s"
            )
        period = period_s if period_s is not None else auto_period_s(width_s)
        if not (MIN_PERIOD_S <= period <= MAX_PERIOD_S and period >= width_s + MIN_PERIOD_MARGIN_S):
            raise ValueError(f"pulse period {period:g} s: needs 5 ms-5 s and at least width + 2 ms")
        self.write(f"MM 3,{int(channel)}")
        self.write(f"PT {hold_s:g},{width_s:g},{period:g}")
        self.write(f"PV {int(channel)},{int(voltage_range)},{base_v:g},{pulse_v:g},{compliance_a:g}")
        self.write("XE")
        return data_value(self.read())

    def raise_errors(self, command: str) -> None:
        """Raise InstrumentError naming ``command`` if ``ERRX?`` reports an error."""
        reply = self.ask("ERRX?")
        match = ERROR.match(reply)
        if match is None:
            raise InstrumentError(self.name, command, f"unexpected error-query reply {reply!r}")
        if int(match.group(1)) != 0:
            raise InstrumentError(self.name, command, f"{int(match.group(1))}: {match.group(2)}")
