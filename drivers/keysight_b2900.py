"""Keysight B2900 (B2901A/B2902A) SMU over SCPI: DC source/measure and pulse mode with current.

Pulse mode: ``:SOUR:FUNC:SHAP PULS``, the base level ``:SOUR:VOLT``, the peak ``:SOUR:VOLT:TRIG``,
``:SOUR:PULS:DEL`` and ``:SOUR:PULS:WIDT``; ``:INIT`` fires it and ``:FETC:ARR:CURR?`` returns the current
measured during the pulse. ``:SENS:CURR:PROT`` is the current compliance. PyMeasure has no B2900 driver.
"""

from __future__ import annotations

from pymeasure.instruments import Channel, Instrument, SCPIMixin
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from labrram.drivers.errors import RaisesQueuedErrors

MAX_VOLTAGE_V = 210.0
MAX_CURRENT_A = 3.03
MIN_PULSE_WIDTH_S = 50e-6  # B2901A/B2902A pulse width 50 us to 100 s
MAX_PULSE_WIDTH_S = 100.0


class B2900Channel(Channel):
    """One SMU channel (1 or 2) of a B2900."""

    shape = Channel.control(
        ":SOUR{ch}:FUNC:SHAP?",
        ":SOUR{ch}:FUNC:SHAP %s",
        "Control the output shape: DC or pulsed (PULS).",
        validator=strict_discrete_set,
        values=["DC", "PULS"],
        get_process=str.strip,
    )
    source_voltage = Channel.control(
        ":SOUR{ch}:VOLT?",
        ":SOUR{ch}:VOLT %g",
        "Control the DC level, or the base level in pulse mode (V).",
        validator=strict_range,
        values=[-MAX_VOLTAGE_V, MAX_VOLTAGE_V],
    )
    pulse_peak_voltage = Channel.control(
        ":SOUR{ch}:VOLT:TRIG?",
        ":SOUR{ch}:VOLT:TRIG %g",
        "Control the pulse peak level (V).",
        validator=strict_range,
        values=[-MAX_VOLTAGE_V, MAX_VOLTAGE_V],
    )
    pulse_delay = Channel.control(
        ":SOUR{ch}:PULS:DEL?",
        ":SOUR{ch}:PULS:DEL %g",
        "Control the delay from trigger to pulse (s).",
        validator=strict_range,
        values=[0, 99999.9],
    )
    pulse_width = Channel.control(
        ":SOUR{ch}:PULS:WIDT?",
        ":SOUR{ch}:PULS:WIDT %g",
        "Control the pulse width (s).",
        validator=strict_range,
        values=[MIN_PULSE_WIDTH_S, MAX_PULSE_WIDTH_S],
    )
    compliance_current = Channel.control(
        ":SENS{ch}:CURR:PROT?",
        ":SENS{ch}:CURR:PROT %g",
        "Control the current compliance (A).",
        validator=strict_range,
        values=[1e-12, MAX_CURRENT_A],
    )
    output_enabled = Channel.control(
        ":OUTP{ch}?",
        ":OUTP{ch} %d",
        "Control whether the output is on.",
        map_values=True,
        values={True: 1, False: 0},
        cast=int,
    )

    def source_voltage_mode(self) -> None:
        """Source voltage."""
        self.write(":SOUR{ch}:FUNC:MODE VOLT")

    def measure_current(self) -> float:
        """One spot current measurement (A)."""
        return float(self.ask(":MEAS:CURR? (@{ch})"))

    def pulse_voltage_measure_current(self, level_v: float, width_s: float, base_v: float = 0.0) -> float:
        """One pulse from ``base_v`` to ``level_v`` for ``width_s``; the current measured during it (A)."""
        self.shape = "PULS"
        self.source_voltage = base_v
        self.pulse_peak_voltage = level_v
        self.pulse_delay = 0
        self.pulse_width = width_s
        self.write(":INIT (@{ch})")
        return float(self.ask(":FETC:ARR:CURR? (@{ch})").split(",")[-1])

    def shutdown(self) -> None:
        """Level to 0 V, output off."""
        self.write(":SOUR{ch}:VOLT 0")
        self.write(":OUTP{ch} 0")


class KeysightB2900(RaisesQueuedErrors, SCPIMixin, Instrument):
    """Keysight B2901A/B2902A: SMU channels ``ch1`` and ``ch2``."""

    ch1 = Instrument.ChannelCreator(B2900Channel, 1)
    ch2 = Instrument.ChannelCreator(B2900Channel, 2)

    def __init__(self, adapter, name: str = "Keysight B2900 SMU", **kwargs) -> None:
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\n")
        super().__init__(adapter, name, **kwargs)

    def shutdown(self) -> None:
        """Both outputs to 0 V and off."""
        self.ch1.shutdown()
        self.ch2.shutdown()
        super().shutdown()
