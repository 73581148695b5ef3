"""Each procedure parameter with its unit, default and meaning, for `measure --list-params` and the README."""

from __future__ import annotations

import dataclasses

from labrram.measure import PROCEDURES

MEANINGS = {
    "set_start_v": "first SET amplitude of the ramp",
    "set_stop_v": "largest SET amplitude (the ramp stops there)",
    "set_step_v": "SET amplitude increase after each SET pulse",
    "reset_start_v": "first RESET amplitude (negative)",
    "reset_stop_v": "largest RESET amplitude (negative; the ramp stops there)",
    "reset_step_v": "RESET amplitude increase (in magnitude) after each RESET pulse",
    "width_s": "pulse width",
    "read_voltage_v": "read voltage",
    "tolerance": "relative half-width of the band that counts as on target (0.01: 1%)",
    "tolerance_s": "absolute half-width of the band, used instead of tolerance",
    "successive_reads": "reads in a row inside the band that end the tuning",
    "max_pulses": "pulse budget per device",
    "strategy": "alibart (linear ramps) or log-step (amplitude grows with log10 of the distance left)",
    "log_gain_v": "log-step strategy: amplitude growth per decade of distance left",
    "reset_first": "RESET the device to its off state before tuning (seed 002)",
    "off_conductance_s": "conductance below which the device counts as off",
    "reset_first_pulses": "most RESET pulses spent reaching the off state",
    "unresponsive_pulses": (
        "pulses in a row at the ramp's end, read within one band, that end a stuck device's tuning (0: never)"
    ),
    "target_s": "target conductance",
    "parallel": "tune every device at once (independent 1T1R devices, a bench that drives them in parallel)",
    "preset": "a named tuning setting: seed-002, seed-002-from-off, seed-002-log-step, smu-100us",
    "method": "compliance (1T1R: SET under a growing compliance) or tuning (passive: Alibart into the bin)",
    "set_v": "SET pulse amplitude",
    "set_width_s": "SET pulse width",
    "reset_v": "RESET pulse amplitude (negative)",
    "reset_width_s": "RESET pulse width",
    "compliance_start_a": "first SET compliance current",
    "compliance_step_a": "compliance increase after a read below the bin",
    "compliance_max_a": "largest compliance current",
    "max_iterations": "program-and-verify iterations per device",
    "levels": "number of conductance levels",
    "placement": "linear, reset-level0 (RESET state is level 0) or variable-width (seed 000)",
    "fill": "share of the spacing between level centres a bin takes",
    "g_low_s": "centre of the lowest programmed level",
    "g_high_s": "centre of the highest level",
    "reset_conductance_s": "the RESET level's conductance (reset-level0 placement)",
    "duration_s": "last read time of a log-spaced schedule",
    "first_s": "first read time of a log-spaced schedule",
    "points": "reads of a log-spaced schedule",
    "times_s": "explicit read times (comma-separated), instead of the log-spaced schedule",
    "temperature_c": "bake temperature during the test (put back afterwards)",
    "set_count": "SET pulses per train",
    "reset_count": "RESET pulses per train",
    "cycles": "trains (or SET/RESET cycles) per device",
    "start_from_reset": "RESET the device to its off state first",
    "start_reset_pulses": "RESET pulses before the first train",
    "start_v": "first forming amplitude",
    "stop_v": "largest forming amplitude",
    "step_v": "amplitude step (forming ramp, IV sweep)",
    "compliance_a": "current compliance",
    "formed_conductance_s": "conductance above which the device counts as formed",
    "v_max": "most positive sweep voltage",
    "v_min": "most negative sweep voltage",
    "step_width_s": "time at each sweep step (or pulse width in pulsed mode)",
    "cutoff_a": "current at which a sweep branch turns back",
    "mode": "staircase (DC steps) or pulsed (a read after each step pulse)",
    "sweeps": "sweeps per device",
    "read_every": "cycles between reads",
    "min_ratio": "on/off ratio below which a cycle counts as failed",
    "failures_to_stop": "failed reads in a row that end the test",
    "order": "programming order: column-major, row-major",
    "targets_low_s": "lowest random target",
    "targets_high_s": "highest random target",
}
UNITS = {"_v": "V", "_s": "s", "_a": "A", "_c": "degC"}


def unit(name: str) -> str:
    """The SI unit a parameter's name carries (conductances end in _s too: siemens)."""
    if (
        name.endswith("conductance_s")
        or name in ("target_s", "g_low_s", "g_high_s", "tolerance_s")
        or (name.startswith("targets_") and name.endswith("_s"))
    ):
        return "S"
    for suffix, symbol in UNITS.items():
        if name.endswith(suffix):
            return symbol
    return ""


def parameter_rows(procedure: str) -> list[tuple[str, str, str, str]]:
    """(name, unit, default, meaning) of every parameter of a procedure, settings first."""
    spec = PROCEDURES[procedure]
    rows = [
        (f.name, unit(f.name), repr(f.default), MEANINGS.get(f.name, ""))
        for f in dataclasses.fields(spec.settings_type)
    ]
    rows += [
        (name, unit(name), repr(default), MEANINGS.get(name, ""))
        for name, (_, default) in spec.extras.items()
    ]
    return rows


def markdown_table(procedure: str) -> str:
    lines = ["| parameter | unit | default | meaning |", "|---|---|---|---|"]
    lines += [f"| `{n}` | {u} | `{d}` | {m} |" for n, u, d, m in parameter_rows(procedure)]
    return "\n".join(lines)
