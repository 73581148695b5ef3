"""Physics parameters of one RRAM technology, with device-to-device spreads, in SI units.

The switching model (see `labrram.physics.switching`) is a voltage-threshold rate model in the style of
VTEAM (Kvatinsky et al., IEEE TCAS-II 62, 786, 2015) with an exponential amplitude dependence above the
threshold and an exponential approach to a virtual bound beyond the window edge (the NeuroSim
non-linearity form, Chen et al., IEEE TCAD 37, 3067, 2018), whose min/max step ratio is Sidler et al.'s
"strength" (seed 003).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from labrram.errors import ConfigError


class ArrayKind(StrEnum):
    """How the devices of an array are accessed."""

    ONE_T_ONE_R = "1T1R"
    PASSIVE = "0T1R"


class BiasScheme(StrEnum):
    """How unselected lines of a passive array are biased while one device is pulsed or read."""

    V_HALF = "V/2"
    V_THIRD = "V/3"
    GROUNDED = "grounded"


@dataclass(frozen=True)
class DeviceParameters:
    """Population statistics of one technology; every conductance in siemens, voltage in volts.

    Spreads named ``*_d2d`` are device-to-device: relative ones are the sigma of a log-normal factor,
    those ending in ``_v`` are the standard deviation of a normal offset in volts. ``*_c2c`` are
    cycle-to-cycle log-normal sigmas of each pulse's effect.
    """

    # Conductance window: per-device bounds drawn log-normally around the nominal values.
    g_min_s: float
    g_max_s: float
    window_d2d: float

    # SET (positive cell voltage): rate = set_rate_per_s * (exp((|V| - V_th) / set_slope_v) - 1).
    set_threshold_v: float
    set_threshold_d2d_v: float
    set_slope_v: float
    set_rate_per_s: float
    set_rate_d2d: float
    set_step_ratio: float
    set_c2c: float

    # RESET (negative cell voltage), the mirror image with its own constants (asymmetry).
    reset_threshold_v: float
    reset_threshold_d2d_v: float
    reset_slope_v: float
    reset_rate_per_s: float
    reset_rate_d2d: float
    reset_step_ratio: float
    reset_c2c: float

    # Compliance: a SET under current compliance I_cc stops near G = I_cc / compliance_hold_v.
    compliance_hold_v: float
    compliance_c2c: float

    # Read noise on the measured current: sigma_I = sqrt((rel * I)^2 + floor^2). The device's relative
    # noise (1/f-like) does not average away; the instrument's floor is white, given for an integration
    # time read_noise_floor_integration_s and scaled as sqrt(that / t) for other times (0: not scaled).
    read_noise_rel: float
    read_noise_floor_a: float
    read_noise_floor_integration_s: float

    # Forming: a share of devices starts virgin and needs one positive pulse above its forming voltage.
    virgin_fraction: float
    virgin_conductance_s: float
    forming_voltage_v: float
    forming_voltage_d2d_v: float

    # Stuck devices (never tunable): HRS uniform in [min, max], LRS normal(mean, sd).
    stuck_hrs_fraction: float
    stuck_lrs_fraction: float
    stuck_hrs_min_s: float
    stuck_hrs_max_s: float
    stuck_lrs_mean_s: float
    stuck_lrs_sd_s: float

    # Endurance: SET/RESET cycles to failure, log-normal across devices; a worn device sticks.
    endurance_cycles: float
    endurance_d2d: float

    # Retention: a random walk in tau = ln(1 + age / t0) with drift mean and spread that peak at
    # x = 1/3 of the window, shape (27/4) x (1 - x)^2; both in siemens per unit tau (per sqrt for sd).
    relaxation_t0_s: float
    relaxation_drift_s: float
    relaxation_spread_s: float
    activation_energy_ev: float
    reference_temperature_c: float

    # Switching-time floor: no device changes with a time constant below this (the rate of the
    # exponential amplitude law saturates there; 0: no floor, today's presets).
    min_switching_time_s: float = 0.0
    # Thermal activation of switching: both rates scale as exp(Ea / k (1/T_ref - 1/T)) with the chip's
    # temperature (0 eV: switching does not depend on temperature, today's presets).
    switching_activation_energy_ev: float = 0.0

    # Soft onset below the threshold: the drive is rate (expm1(max(od, 0) / slope) + fraction
    # exp(min(od, 0) / subthreshold_slope_v)), od = |V| - V_th, so a device a little below its threshold
    # still creeps (half-selected cells of the bulk, not only those whose threshold V/3 crosses); it
    # acts down to half its threshold (SUBTHRESHOLD_FLOOR), not at reads (0: a hard threshold, version 1).
    subthreshold_fraction: float = 0.0
    subthreshold_slope_v: float = 0.05

    # State dependence of the mean step (defaults: today's exponential approach to the virtual bound).
    # The step toward a bound is (bound - G) u^(exponent - 1) exp(growth x) times the drive's fraction,
    # with u = (bound - G) / (bound - far edge) and x the progress across the window from the far edge:
    # exponent > 1 makes the step fall faster near the bound, growth > 0 makes it rise with progress
    # (real SET steps that grow with G).
    set_state_exponent: float = 1.0
    set_state_growth: float = 0.0
    reset_state_exponent: float = 1.0
    reset_state_growth: float = 0.0
    # Per-pulse spread across the window: the c2c sigma is scaled by exp(c2c_growth x) (0: constant).
    set_c2c_growth: float = 0.0
    reset_c2c_growth: float = 0.0
    # Polarity memory: after a reversal the step is scaled by 1 - depth exp(-(n - 1) / pulses) on the
    # n-th pulse of the new polarity (a first RESET after SETs moves less than the tenth; 0: none).
    polarity_memory_depth: float = 0.0
    polarity_memory_pulses: float = 1.0

    # Relaxation level dependence beyond the peaked shape: flatness blends it with a level-independent
    # strength (1: flat); the drift per unit tau is relaxation_drift_s + drift_tilt_s (x - 1/3) at full
    # strength (positive drift at low G allowed); increments are Student-t with tail_dof degrees of
    # freedom (> 2; 0: normal) for heavy tails.
    relaxation_level_flatness: float = 0.0
    relaxation_drift_tilt_s: float = 0.0
    relaxation_tail_dof: float = 0.0
    # Low-frequency fluctuations reads see (labrram.physics.fluctuations; 0: none, today's presets): 1/f
    # noise whose relative power spectral density is read_noise_flicker^2 / f, and one telegraph
    # fluctuator on a share of devices (relative amplitude and switching rate, log-normal across devices).
    read_noise_flicker: float = 0.0
    # How the relative 1/f level changes with conductance: read_noise_flicker (G / reference)^exponent
    # (0: the same relative level at every G; Hooge's law for a conductor of N ~ G carriers gives -0.5).
    read_noise_flicker_exponent: float = 0.0
    read_noise_flicker_reference_s: float = 100e-6
    read_noise_rtn_fraction: float = 0.0
    read_noise_rtn_amplitude: float = 0.0
    read_noise_rtn_rate_per_s: float = 1.0
    # Where the peaked strength x^a (1 - x)^b peaks and how sharply (a + b): 1/3 and 3 give (27/4) x (1-x)^2.
    relaxation_level_peak: float = 1.0 / 3.0
    relaxation_level_sharpness: float = 3.0

    def validated(self) -> DeviceParameters:
        """Return self after checking every value; raise ConfigError naming the first bad field."""
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ConfigError(field.name, f"must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ConfigError(field.name, f"must be finite, got {value!r}")
            if value < 0 and field.name not in _SIGNED_FIELDS:
                raise ConfigError(field.name, f"must be >= 0, got {value!r}")
        if not self.g_min_s < self.g_max_s:
            raise ConfigError("g_min_s", f"must be below g_max_s ({self.g_max_s:g} S)")
        for name in ("set_step_ratio", "reset_step_ratio"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(name, "must lie in [0, 1): it is the min/max step ratio")
        for name in ("virgin_fraction", "stuck_hrs_fraction", "stuck_lrs_fraction"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(name, "must be a fraction in [0, 1]")
        if self.stuck_hrs_fraction + self.stuck_lrs_fraction > 1:
            raise ConfigError("stuck_lrs_fraction", "stuck HRS and LRS fractions add up above 1")
        if self.stuck_hrs_min_s > self.stuck_hrs_max_s:
            raise ConfigError("stuck_hrs_min_s", "must not exceed stuck_hrs_max_s")
        for name in ("set_slope_v", "reset_slope_v", "compliance_hold_v", "relaxation_t0_s"):
            if getattr(self, name) <= 0:
                raise ConfigError(name, "must be > 0")
        if self.endurance_cycles < 1:
            raise ConfigError("endurance_cycles", "must be >= 1")
        for name in (
            "set_state_exponent",
            "reset_state_exponent",
            "polarity_memory_pulses",
            "subthreshold_slope_v",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(name, "must be > 0")
        if self.read_noise_flicker_reference_s <= 0:
            raise ConfigError("read_noise_flicker_reference_s", "must be > 0")
        if self.read_noise_rtn_rate_per_s <= 0:
            raise ConfigError("read_noise_rtn_rate_per_s", "must be > 0")
        for name in ("polarity_memory_depth", "relaxation_level_flatness", "read_noise_rtn_fraction"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(name, "must lie in [0, 1]")
        if not 0 < self.relaxation_level_peak < 1:
            raise ConfigError("relaxation_level_peak", "must lie in (0, 1): a place in the window")
        if self.relaxation_level_sharpness <= 0:
            raise ConfigError("relaxation_level_sharpness", "must be > 0")
        if self.relaxation_tail_dof and self.relaxation_tail_dof <= 2:
            raise ConfigError("relaxation_tail_dof", "must be 0 (normal) or above 2 (finite variance)")
        return self

    def with_overrides(self, overrides: Mapping[str, Any], key_prefix: str = "") -> DeviceParameters:
        """Copy with some fields replaced; unknown names and bad values raise ConfigError."""
        names = {field.name for field in dataclasses.fields(self)}
        converted = {}
        for name, value in overrides.items():
            if name not in names:
                raise ConfigError(f"{key_prefix}{name}", "is not a device parameter")
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ConfigError(f"{key_prefix}{name}", f"must be a number, got {value!r}")
            try:
                converted[name] = float(value)
            except OverflowError:
                raise ConfigError(f"{key_prefix}{name}", "is too large") from None
        candidate = dataclasses.replace(self, **converted)
        try:
            return candidate.validated()
        except ConfigError as error:
            raise ConfigError(f"{key_prefix}{error.key}", error.problem) from None


_SIGNED_FIELDS = frozenset(
    {
        "relaxation_drift_s",
        "reference_temperature_c",
        "set_state_growth",
        "reset_state_growth",
        "set_c2c_growth",
        "reset_c2c_growth",
        "relaxation_drift_tilt_s",
        "read_noise_flicker_exponent",
    }
)
