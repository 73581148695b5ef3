"""Safety limits: every stimulus is checked against them before anything reaches a device."""

from __future__ import annotations

import math
from dataclasses import dataclass

from labrram.errors import ConfigError, SafetyLimitError


@dataclass(frozen=True)
class InstrumentRatings:
    """What a bench's instruments can source at most, whatever the limits say."""

    name: str
    max_voltage_v: float
    max_current_a: float


# A Keithley 2636B sources up to 200 V and 1.5 A DC; the switching matrix cards carry about 1 A.
SMU_MATRIX_RATINGS = InstrumentRatings("a 2636B SMU behind a 707B matrix", 200.0, 1.0)


@dataclass(frozen=True)
class SafetyLimits:
    """Largest stimuli a bench may apply; the key names are those of the bench TOML [safety] table."""

    max_positive_v: float = 3.0
    max_negative_v: float = 3.0
    max_read_v: float = 0.5
    max_width_s: float = 1e-3
    max_compliance_a: float = 10e-3

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not _is_positive_number(value):
                raise ConfigError(f"safety.{name}", f"must be a positive finite number, got {value!r}")

    def check_pulse(self, amplitude_v: float, width_s: float, compliance_a: float | None) -> None:
        """Raise SafetyLimitError unless the pulse lies within every limit."""
        if not math.isfinite(amplitude_v):
            raise SafetyLimitError("pulse amplitude (V)", amplitude_v, reason="is not finite")
        if amplitude_v > self.max_positive_v:
            raise SafetyLimitError(
                "pulse amplitude (V)", amplitude_v, self.max_positive_v, "safety.max_positive_v"
            )
        if -amplitude_v > self.max_negative_v:
            raise SafetyLimitError(
                "negative pulse amplitude (V)",
                amplitude_v,
                -self.max_negative_v,
                "safety.max_negative_v",
            )
        if not math.isfinite(width_s) or width_s <= 0:
            raise SafetyLimitError("pulse width (s)", width_s, reason="must be positive and finite")
        if width_s > self.max_width_s:
            raise SafetyLimitError("pulse width (s)", width_s, self.max_width_s, "safety.max_width_s")
        if compliance_a is not None:
            if not math.isfinite(compliance_a) or compliance_a <= 0:
                raise SafetyLimitError("compliance (A)", compliance_a, reason="must be positive and finite")
            if compliance_a > self.max_compliance_a:
                raise SafetyLimitError(
                    "compliance (A)", compliance_a, self.max_compliance_a, "safety.max_compliance_a"
                )

    def check_against(self, ratings: InstrumentRatings) -> None:
        """ConfigError naming the key of a limit beyond what the bench's instruments can do."""
        for key, value, rating, unit in (
            ("max_positive_v", self.max_positive_v, ratings.max_voltage_v, "V"),
            ("max_negative_v", self.max_negative_v, ratings.max_voltage_v, "V"),
            ("max_read_v", self.max_read_v, ratings.max_voltage_v, "V"),
            ("max_compliance_a", self.max_compliance_a, ratings.max_current_a, "A"),
        ):
            if value > rating:
                raise ConfigError(
                    f"safety.{key}",
                    f"{value:g} {unit} is beyond what {ratings.name} can do ({rating:g} {unit})",
                )

    def check_read(self, voltage_v: float) -> None:
        """Raise SafetyLimitError unless the read voltage lies within the read limit."""
        if not math.isfinite(voltage_v) or voltage_v == 0:
            raise SafetyLimitError("read voltage (V)", voltage_v, reason="must be finite and non-zero")
        if abs(voltage_v) > self.max_read_v:
            raise SafetyLimitError("read voltage (V)", voltage_v, self.max_read_v, "safety.max_read_v")


def _is_positive_number(value: object) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value) and value > 0
    except OverflowError:
        return False
