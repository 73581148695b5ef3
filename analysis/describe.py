"""Plain-text lines that state what a fitted model says, in the units a device researcher reads."""

from __future__ import annotations

import numpy as np

from labrram.analysis.jumptable import JumpTable
from labrram.analysis.model import DeviceModel

US = 1e6


def describe_jump_table(table: JumpTable) -> list[str]:
    labels = ", ".join(table.table_labels[:4]) + (", ..." if table.tables > 4 else "")
    low, high = table.window_s
    lines = [f"jump-table: {table.tables} table(s) ({labels}), window {low * US:.1f}-{high * US:.1f} uS"]
    for kind, response in table.responses.items():
        curves = table.curves(kind)
        pairs = int(response.counts.sum())
        condition = response.condition
        pulse = (
            f"{condition['amplitude_v']:g} V / {condition['width_s']:g} s"
            if "amplitude_v" in condition
            else "pooled pulse conditions"
            if condition.get("pooled")
            else condition.get("source", "")
        )
        median = curves["median_s"] * US
        lines.append(
            f"  {kind}: {pulse}, {pairs} pairs in {response.bins} bins ({int(response.filled[0].sum())} "
            f"interpolated); median dG {median[0]:+.3g} uS at {curves['g_s'][0] * US:.0f} uS to "
            f"{median[-1]:+.3g} uS at {curves['g_s'][-1] * US:.0f} uS"
        )
    lines.extend(f"  note: {note}" for note in table.notes)
    return lines


def describe_model(model: DeviceModel) -> list[str]:
    """A few lines per fitted component, then the notes."""
    low, high = model.window_s
    lines = [f"window: {low * US:.1f}-{high * US:.1f} uS; components: {', '.join(model.components())}"]
    if model.jump_table is not None:
        lines += describe_jump_table(model.jump_table)
    if model.tuning is not None:
        t = model.tuning
        lines.append(
            f"tuning imprecision: sigma/G = {t.spread.slope * 1e-6:+.3g}/uS x G {t.spread.intercept:+.3g} "
            f"(R^2 {t.spread.r_squared:.2f}, {t.levels_s.size} levels, {t.tunings} tunings, "
            f"{t.failures} failed); mean offset {np.average(t.mean_rel, weights=t.counts):+.2%}"
        )
        lines.extend(f"  flag: {flag}" for flag in t.flags)
    if model.disturbance is not None:
        rows = model.disturbance.table()
        shown = [rows[0], rows[len(rows) // 2], rows[-1]] if len(rows) > 2 else rows
        parts = [
            f"N {r['n_first']}-{r['n_last']}: sd {r['sd_s'] * US:.1f} uS ({r['form']}, {r['values']} values)"
            for r in shown
        ]
        lines.append(f"disturbance by order: {len(rows)} groups; " + "; ".join(parts))
    if model.stuck is not None:
        s = model.stuck
        parts = []
        for state in ("HRS", "LRS"):
            low_ci, high_ci = s.interval(state)
            parts.append(f"{state} {s.rate(state):.2%} (95% CI {low_ci:.2%}-{high_ci:.2%})")
        lines.append(f"stuck devices of {s.devices}: " + ", ".join(parts))
    if model.levels is not None:
        errors = [row["measured_error"] for row in model.levels.bit_errors()]
        worst = max(errors) if errors else 0.0
        lines.append(
            f"multilevel: {model.levels.count} levels, sd {np.min(model.levels.sds_s) * US:.2f}-"
            f"{np.max(model.levels.sds_s) * US:.2f} uS; worst neighbour bit error {worst:.2%}"
        )
    if model.retention is not None:
        r = model.retention
        drift = ", ".join(f"{level.mean_fit.slope * US:+.2f}" for level in r.levels)
        lines.append(f"retention: {len(r.levels)} levels, drift per ln(t) {drift} uS")
        if r.activation_energy_ev is not None:
            se = f" +- {r.activation_energy_se_ev:.2f}" if r.activation_energy_se_ev is not None else ""
            lines.append(
                f"  activation energy {r.activation_energy_ev:.2f}{se} eV, {len(r.bake_points)} bake points"
            )
        lines.extend(f"  flag: {flag}" for flag in r.flags)
    if model.read_noise is not None:
        n = model.read_noise
        lines.append(
            f"read noise: {n.rel:.3%} of G + {n.floor_s * US:.3g} uS floor ({int(n.pairs.sum())} read pairs)"
        )
    lines.extend(f"note: {note}" for note in model.notes)
    return lines
