"""Keithley 2600B SourceMeter (e.g. 2636B) over TSP: DC source/measure and pulsed voltage with current.

PyMeasure's own Keithley2600 keeps an older, non-declarative channel class and warns on every
construction that its SCPI support is unknown, so this driver is a PyMeasure Instrument of its own, with
declarative channels for SMU A and B and the pulse + measure the RRAM procedures need: the factory script
``PulseVMeasureI(smu, bias, level, ton, toff, points)`` holds ``bias`` for ``toff``, then sources ``level``
for ``ton`` seconds, measures the current at the end of the pulse into ``smuX.nvbuffer1``, and returns to
``bias`` for ``toff`` (the 2600B manual's sequence); it leaves the output at ``bias``.

The operations a procedure repeats per pulse are one message each: a line of ``;``-separated statements
that ends by printing its readings and ``errorqueue.count`` (`TSPInstrument.run_checked`), so one round
trip both executes and checks them. Over TSP-Link a second 2600B is commanded through this one
(``node[2].smua``, `Keithley2600B.linked_channel`): a pulse and the bias of the lines around it then
go in one message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from pymeasure.instruments import Channel, Instrument
from pymeasure.instruments.validators import strict_range

from labrram.drivers.tsp import TSPInstrument, tsp_value

# 2636B source ranges and the shortest pulse its factory pulse scripts time reliably (datasheet: pulse
# widths from 100 us on the 2600B series; shorter RRAM pulses need a pulse unit such as the 4225-PMU).
MAX_VOLTAGE_V = 200.0
MAX_CURRENT_A = 1.5
MIN_PULSE_WIDTH_S = 100e-6
MIN_NPLC, MAX_NPLC = 0.001, 25.0
# 2636B current measure ranges (full scale, A); a reading beyond a fixed range prints as 9.91e37.
CURRENT_RANGES_A = (100e-12, 1e-9, 10e-9, 100e-9, 1e-6, 10e-6, 100e-6, 1e-3, 10e-3, 100e-3, 1.0, 1.5)
OVERRANGE_READING = 9.91e37
CHANNEL_NAME = re.compile(r"^(node\[([1-9]|[12]\d|3[0-2])\]\.)?smu[ab]$")  # TSP-Link nodes 1-32
# A global variable on the instrument: its timer when an operation began, printed with the reading.
START = "labrram_start_s"
STAMP = f"{START} = timer.measure.t()"


class TimedCurrent(NamedTuple):
    """A current reading (A) and the instrument's timer (s) when its operation began."""

    current_a: float
    timer_s: float


def current_reading(text: str) -> float:
    """A printed current (A); refuses the over-range value the 2600B prints beyond a fixed range."""
    value = float(text)
    if abs(value) >= OVERRANGE_READING:
        raise ValueError(f"over range: the SMU read {text.strip()}, a current beyond its fixed measure range")
    return value


def _timed(fields: list[str]) -> TimedCurrent:
    return TimedCurrent(current_reading(fields[0]), float(fields[1]))


def tsp_channel(name: str) -> str:
    """A checked TSP name of an SMU channel: ``smua``, ``smub``, or ``node[N].smua`` on a TSP-Link node."""
    if not CHANNEL_NAME.match(name):
        raise ValueError(f"{name!r} is not a 2600B SMU channel (smua, smub, node[N].smua, node[N].smub)")
    return name


def level_statements(levels_v: Mapping[str, float]) -> list[str]:
    """TSP statements that source DC levels on channels named by their TSP names."""
    statements = []
    for channel, level_v in levels_v.items():
        strict_range(level_v, [-MAX_VOLTAGE_V, MAX_VOLTAGE_V])
        statements.append(f"{tsp_channel(channel)}.source.levelv = {tsp_value(level_v)}")
    return statements


def levels_around(levels_v: Mapping[str, float], body: list[str]) -> list[str]:
    """``body`` between sourcing ``levels_v`` (channels by TSP name) and returning those channels to 0 V."""
    return [*level_statements(levels_v), *body, *level_statements(dict.fromkeys(levels_v, 0.0))]


def tsp_switch(attribute: str, what: str):
    """A declarative on/off attribute of an SMU (True/False, sent and printed as 1/0)."""
    return Channel.control(
        f"print({{ch}}.{attribute})",
        f"{{ch}}.{attribute} = %d",
        f"Control {what} (True: on).",
        map_values=True,
        values={True: 1, False: 0},
        get_process=lambda reply: int(float(reply)),
    )


class SMUChannel(Channel):
    """One SMU of a 2600B, named as TSP names it: ``smua``, ``smub``, or ``node[N].smua`` over TSP-Link."""

    source_voltage = Channel.control(
        "print({ch}.source.levelv)",
        "{ch}.source.levelv = %s",
        "Control the DC voltage level (V).",
        validator=strict_range,
        values=[-MAX_VOLTAGE_V, MAX_VOLTAGE_V],
        set_process=tsp_value,
        get_process=float,
    )
    compliance_current = Channel.control(
        "print({ch}.source.limiti)",
        "{ch}.source.limiti = %s",
        "Control the current limit (A) while sourcing voltage.",
        validator=strict_range,
        values=[1e-9, MAX_CURRENT_A],
        set_process=tsp_value,
        get_process=float,
    )
    nplc = Channel.control(
        "print({ch}.measure.nplc)",
        "{ch}.measure.nplc = %s",
        "Control the measurement integration time in power-line cycles.",
        validator=strict_range,
        values=[MIN_NPLC, MAX_NPLC],
        set_process=tsp_value,
        get_process=float,
    )
    measure_range_i = Channel.control(
        "print({ch}.measure.rangei)",
        "{ch}.measure.rangei = %s",
        "Control the current measure range (A): setting a current fixes the smallest range holding it.",
        validator=strict_range,
        values=[0, MAX_CURRENT_A],
        set_process=tsp_value,
        get_process=float,
    )
    measure_autorange_i = tsp_switch(
        "measure.autorangei", "current measure autoranging (off: the range stays)"
    )
    output_enabled = tsp_switch("source.output", "whether the output is on")

    def source_voltage_mode(self) -> None:
        """Source DC volts (and measure current)."""
        self.write("{ch}.source.func = {ch}.OUTPUT_DCVOLTS")

    def start_voltage_source(self, nplc: float, current_range_a: float | None = None) -> None:
        """Source DC volts at 0 V with the output on, integrating ``nplc``; one checked message.

        ``current_range_a`` fixes the current measure range (faster than autorange; a larger current
        then reads as over range), None leaves autorange on.
        """
        strict_range(nplc, [MIN_NPLC, MAX_NPLC])
        smu = self.id
        if current_range_a is None:
            current_range = f"{smu}.measure.autorangei = 1"
        else:
            strict_range(current_range_a, [CURRENT_RANGES_A[0], MAX_CURRENT_A])
            current_range = f"{smu}.measure.rangei = {tsp_value(current_range_a)}"
        self.parent.run_checked(
            [
                f"{smu}.source.func = {smu}.OUTPUT_DCVOLTS",
                f"{smu}.source.levelv = 0",
                f"{smu}.measure.nplc = {tsp_value(nplc)}",
                current_range,
                f"{smu}.source.output = 1",
            ]
        )

    def measure_current(self) -> float:
        """One current measurement (A) at the present source level."""
        return current_reading(self.parent.run_checked([], [f"{self.id}.measure.i()"])[0])

    def pulse_voltage_measure_current(
        self,
        level_v: float,
        width_s: float,
        bias_v: float = 0.0,
        off_s: float = MIN_PULSE_WIDTH_S,
        compliance_a: float | None = None,
        others_v: Mapping[str, float] | None = None,
    ) -> TimedCurrent:
        """One voltage pulse from ``bias_v`` to ``level_v`` for ``width_s``: the current at its end.

        One message: the current limit (if given), the levels of ``others_v`` (other channels of this
        instrument or its TSP-Link nodes, by TSP name), the timer, the pulse into a cleared buffer, those
        channels back to 0 V, the reading back.
        """
        strict_range(level_v, [-MAX_VOLTAGE_V, MAX_VOLTAGE_V])
        strict_range(bias_v, [-MAX_VOLTAGE_V, MAX_VOLTAGE_V])
        if width_s < MIN_PULSE_WIDTH_S or off_s < MIN_PULSE_WIDTH_S:
            raise ValueError(
                f"pulse width {width_s:g} s / off time {off_s:g} s: the 2600B needs at least "
                f"{MIN_PULSE_WIDTH_S:g} s"
            )
        smu = self.id
        statements = []
        if compliance_a is not None:
            strict_range(compliance_a, [1e-9, MAX_CURRENT_A])
            statements.append(f"{smu}.source.limiti = {tsp_value(compliance_a)}")
        statements += levels_around(
            others_v or {},
            [
                f"{smu}.nvbuffer1.clear()",
                STAMP,
                f"PulseVMeasureI({smu}, {', '.join(map(tsp_value, (bias_v, level_v, width_s, off_s)))}, 1)",
                f"{smu}.source.levelv = 0",  # the pulse function leaves the output at its bias
            ],
        )
        return _timed(self.parent.run_checked(statements, [f"{smu}.nvbuffer1.readings[1]", START]))

    def shutdown(self) -> None:
        """Level to 0 V, output off."""
        self.write("{ch}.source.levelv = 0")
        self.write("{ch}.source.output = 0")


class Keithley2600B(TSPInstrument):
    """Keithley 2600B dual-channel SourceMeter with pulse + measure on ``smua`` and ``smub``."""

    smua = Instrument.ChannelCreator(SMUChannel, "smua")
    smub = Instrument.ChannelCreator(SMUChannel, "smub")

    def __init__(self, adapter, name: str = "Keithley 2600B SourceMeter", **kwargs) -> None:
        super().__init__(adapter, name, **kwargs)

    def linked_channel(self, node: int, channel: str) -> SMUChannel:
        """SMU ``channel`` ("a" or "b") of the 2600B at TSP-Link node ``node``, commanded through this one.

        This instrument is the TSP-Link master: every command for the node travels in this instrument's
        messages (``node[N].smua...``), so one message can pulse here and bias there, and the node's
        errors arrive in this instrument's error queue.
        """
        return SMUChannel(self, tsp_channel(f"node[{node}].smu{channel}"))

    def source_voltages(self, levels_v: Mapping[str, float]) -> None:
        """DC levels of channels by TSP name (``{"smua": 0.5, "node[2].smub": 1}``) in one message."""
        self.run_checked(level_statements(levels_v))

    def measure_current_while_sourcing(
        self,
        source: str,
        level_v: float,
        sense: str,
        after_v: float = 0.0,
        others_v: Mapping[str, float] | None = None,
    ) -> TimedCurrent:
        """Source ``level_v`` on one channel, measure the current of another, then source ``after_v``.

        One message: ``others_v`` levels on further channels, the sense channel measuring into its
        cleared buffer while the source channel is at ``level_v``, the source at ``after_v`` and the
        others back at 0 V; the reading and the timer at the start are printed at the end.
        """
        sense = tsp_channel(sense)
        statements = levels_around(
            others_v or {},
            [
                f"{sense}.nvbuffer1.clear()",
                STAMP,
                *level_statements({source: level_v}),
                f"{sense}.measure.i({sense}.nvbuffer1)",
                *level_statements({source: after_v}),
            ],
        )
        return _timed(self.run_checked(statements, [f"{sense}.nvbuffer1.readings[1]", START]))

    def shutdown(self) -> None:
        """Both outputs to 0 V and off."""
        self.smua.shutdown()
        self.smub.shutdown()
        super().shutdown()
