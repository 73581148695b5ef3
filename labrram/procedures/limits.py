"""Procedure settings checked against a bench's safety limits before the first pulse, naming the parameter.

The bench refuses any single stimulus beyond its limits anyway; checking the settings first means a
procedure that would reach a forbidden amplitude half-way through its ramp never starts, instead of
stopping after applying part of it. Fields are recognised by name: amplitudes end in ``_v`` or start
with ``v_`` (the sign says SET or RESET), widths in ``width_s``, compliances are ``*compliance*_a``.
"""

from __future__ import annotations

import dataclasses

from labrram.bench.base import Bench
from labrram.errors import ParameterError

NOT_AMPLITUDES = {"read_voltage_v", "log_gain_v", "step_v", "set_step_v", "reset_step_v"}


def check_settings(settings: object, bench: Bench) -> None:
    """ParameterError for the first setting a bench's limits (or its pulse source) would refuse."""
    limits = bench.limits
    for field in dataclasses.fields(settings):
        name, value = field.name, getattr(settings, field.name)
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        if name == "read_voltage_v":
            if abs(value) > limits.max_read_v:
                raise ParameterError(
                    name, f"{value:g} V is beyond safety.max_read_v = {limits.max_read_v:g} V"
                )
        elif (name.endswith("_v") or name.startswith("v_")) and name not in NOT_AMPLITUDES:
            if value > limits.max_positive_v:
                raise ParameterError(
                    name, f"{value:g} V is beyond safety.max_positive_v = {limits.max_positive_v:g} V"
                )
            if -value > limits.max_negative_v:
                raise ParameterError(
                    name, f"{value:g} V is beyond safety.max_negative_v = -{limits.max_negative_v:g} V"
                )
        elif name.endswith("width_s"):
            if value > limits.max_width_s:
                raise ParameterError(
                    name, f"{value:g} s is beyond safety.max_width_s = {limits.max_width_s:g} s"
                )
            if value < bench.min_pulse_width_s:
                shortest = bench.min_pulse_width_s
                raise ParameterError(
                    name, f"{value:g} s is shorter than this bench's pulses ({shortest:g} s)"
                )
        elif "compliance" in name and name.endswith("_a") and value > limits.max_compliance_a:
            raise ParameterError(
                name, f"{value:g} A is beyond safety.max_compliance_a = {limits.max_compliance_a:g} A"
            )
