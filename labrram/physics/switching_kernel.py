"""Compiled (numba) loops of one pulse's switching: which devices act, and the SET/RESET step of each.

A pulse on a 64x64 passive array reaches every cell, but under a hard threshold few of them move: numpy
spends most of such a pulse on call overhead and on whole-array temporaries. These loops visit each cell
once. Random draws stay outside, from the array's numpy generators in the same order as the vectorized
form took them (one switching draw per acting device, one compliance draw per acting device with a
finite limit), so a seed gives the same run; results agree with numpy's to the last few bits.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from labrram.physics.population import NOT_STUCK, STUCK_HRS, STUCK_LRS

# Pulses of one polarity counted since a reversal (more is steady state, where memory has faded).
POLARITY_RUN_CAP = 1_000_000
# Columns of the per-polarity constants (one row per polarity: 0 RESET, 1 SET).
SLOPE, C2C, STATE_EXPONENT, STATE_GROWTH, C2C_GROWTH = range(5)
# Rows of the per-device constants, each (2, devices) by polarity.
THRESHOLD, RATE, BOUND = range(3)


@njit(cache=True, nogil=True, inline="always")
def _acts(
    device: int,
    v: float,
    device_constants: np.ndarray,
    onset: float,
    virgin: np.ndarray,
    forming_voltage_v: np.ndarray,
    has_virgin: bool,
) -> bool:
    """Whether ``v`` across ``device`` is above its onset (the threshold of its polarity times ``onset``),
    or, for a virgin device, at its forming voltage."""
    threshold = device_constants[THRESHOLD, 1 if v > 0 else 0, device]
    acts = abs(v) > threshold * onset
    if not acts and has_virgin and virgin[device]:
        acts = v >= forming_voltage_v[device]
    return acts


@njit(cache=True, nogil=True)
def acting_positions(
    index: np.ndarray,
    voltage_v: np.ndarray,
    device_constants: np.ndarray,
    onset: float,
    virgin: np.ndarray,
    forming_voltage_v: np.ndarray,
    has_virgin: bool,
    limit_a: np.ndarray,
) -> tuple[np.ndarray, int]:
    """Positions (into ``index``) of the devices the pulse reaches above their onset (or forming
    voltage), and how many of them have a finite current limit (``limit_a``: one per position, a single
    value for all, or none). Checks every index: the loops after it read without bounds checks."""
    positions = np.empty(index.size, dtype=np.int64)
    count = 0
    limited = 0
    for j in range(index.size):
        device = index[j]
        if device < 0 or device >= virgin.size:
            raise IndexError("device index outside the array")
        if _acts(device, voltage_v[j], device_constants, onset, virgin, forming_voltage_v, has_virgin):
            positions[count] = j
            count += 1
            if limit_a.size and math.isfinite(limit_a[j if limit_a.size > 1 else 0]):
                limited += 1
    return positions[:count], limited


@njit(cache=True, nogil=True)
def acting_on_lines(
    rows: int,
    cols: int,
    selected_row: int,
    selected_col: int,
    line_levels_v: np.ndarray,
    device_constants: np.ndarray,
    onset: float,
    onset_order: np.ndarray,
    sorted_onset_v: np.ndarray,
    virgin: np.ndarray,
    forming_voltage_v: np.ndarray,
    has_virgin: bool,
) -> tuple[np.ndarray, np.ndarray, int]:
    """The devices of a passive array that a pulse on its lines reaches above their onset (or forming
    voltage), in flat order, the voltage across each, and the position of the selected device among
    them (-1: it does not act).

    ``line_levels_v``: the selected row's potential, the unselected rows', the selected column's and the
    unselected columns'; a cell sees its row's minus its column's (as ``bias.cell_voltages``). The cells
    away from both selected lines all see one voltage: those of them above their onset are a prefix of
    ``onset_order`` (devices by onset voltage, per polarity, ``sorted_onset_v`` the onsets in that order),
    so only those and the two selected lines are visited, unless most of the array acts (then every cell
    once, which needs no sort).
    """
    selected_row_v, unselected_row_v, selected_col_v, unselected_col_v = line_levels_v
    bulk_v = unselected_row_v - unselected_col_v
    bulk_polarity = 1 if bulk_v > 0 else 0
    candidates = np.searchsorted(sorted_onset_v[bulk_polarity], abs(bulk_v))
    size = rows * cols
    devices = np.empty(size, dtype=np.int64)
    voltages = np.empty(size)
    count = 0
    if has_virgin or 8 * candidates > size:
        for row in range(rows):
            row_v = selected_row_v if row == selected_row else unselected_row_v
            for col in range(cols):
                devices[count] = row * cols + col
                voltages[count] = row_v - (selected_col_v if col == selected_col else unselected_col_v)
                count += 1
    else:
        for k in range(candidates):
            device = onset_order[bulk_polarity, k]
            if device // cols != selected_row and device % cols != selected_col:
                devices[count] = device
                count += 1
        for col in range(cols):
            devices[count] = selected_row * cols + col
            count += 1
        for row in range(rows):
            if row != selected_row:
                devices[count] = row * cols + selected_col
                count += 1
        devices[:count].sort()
        for k in range(count):
            on_row, on_col = devices[k] // cols == selected_row, devices[k] % cols == selected_col
            row_v = selected_row_v if on_row else unselected_row_v
            voltages[k] = row_v - (selected_col_v if on_col else unselected_col_v)
    selected = selected_row * cols + selected_col
    acting = 0
    selected_position = -1
    for k in range(count):
        device, v = devices[k], voltages[k]
        if _acts(device, v, device_constants, onset, virgin, forming_voltage_v, has_virgin):
            if device == selected:
                selected_position = acting
            devices[acting] = device
            voltages[acting] = v
            acting += 1
    return devices[:acting], voltages[:acting], selected_position


@njit(cache=True, nogil=True)
def switch(
    index: np.ndarray,
    voltage_v: np.ndarray,
    positions: np.ndarray,
    width_s: float,
    limit_a: np.ndarray,
    switching_normal: np.ndarray,
    compliance_normal: np.ndarray,
    g_s: np.ndarray,
    g_min_s: np.ndarray,
    g_max_s: np.ndarray,
    window_s: np.ndarray,
    device_constants: np.ndarray,
    polarity_constants: np.ndarray,
    relaxing: np.ndarray,
    virgin: np.ndarray,
    forming_voltage_v: np.ndarray,
    pulse_polarity: np.ndarray,
    polarity_run: np.ndarray,
    settings: np.ndarray,
    flags: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Move every acting device (``index[positions]``) by its step in place in ``g_s``.

    ``settings``: onset, subthreshold fraction and slope (V), drive factor (thermal activation), rate
    cap (1/s, inf for none), compliance hold voltage and spread, polarity memory depth and pulses, and
    the share of the window that makes a switching event. ``flags``: shaped steps, has virgin devices.
    Returns the devices whose change is a switching event with the sign of each change, and how many
    devices were formed.
    """
    onset, sub_fraction, sub_slope_v, drive_factor, rate_cap = settings[0:5]
    hold_v, compliance_c2c, memory_depth, memory_pulses, event_fraction = settings[5:10]
    shaped, has_virgin = flags[0], flags[1]
    events = np.empty(positions.size, dtype=np.int64)
    signs = np.empty(positions.size, dtype=np.int8)
    n_events = 0
    formed = 0
    limited = 0
    for k in range(positions.size):
        j = positions[k]
        device = index[j]
        v = voltage_v[j]
        g = g_s[device]
        positive = v > 0
        polarity = 1 if positive else 0
        g_min, g_max = g_min_s[device], g_max_s[device]
        threshold = device_constants[THRESHOLD, polarity, device]
        rate = device_constants[RATE, polarity, device]
        bound = device_constants[BOUND, polarity, device]
        c2c = polarity_constants[polarity, C2C]
        progress = 0.0
        if shaped:
            x = min(max((g - g_min) / window_s[device], 0.0), 1.0)
            progress = x if positive else 1.0 - x
            c2c = c2c * math.exp(polarity_constants[polarity, C2C_GROWTH] * progress)
        overdrive = abs(v) - threshold
        log_noise = c2c * switching_normal[k] - 0.5 * c2c * c2c  # log-normal, mean 1
        drive_per_s = 0.0
        if overdrive > 0:
            noise = math.exp(log_noise)
            drive_per_s = rate * math.expm1(overdrive / polarity_constants[polarity, SLOPE]) * noise
            if onset < 1:
                drive_per_s += rate * sub_fraction * noise  # the soft onset's term, 1 at threshold
        elif onset < 1:
            # Below threshold (most cells a V/3 pulse reaches) only the soft onset drives: one exp.
            drive_per_s = rate * sub_fraction * math.exp(overdrive / sub_slope_v + log_noise)
        drive_per_s = min(drive_per_s * drive_factor, rate_cap)
        fraction = -math.expm1(-drive_per_s * width_s)
        cap = g_max
        if limit_a.size:
            limit = limit_a[j if limit_a.size > 1 else 0]
            if math.isfinite(limit):
                z = compliance_normal[limited]
                limited += 1
                factor = math.exp(compliance_c2c * z - 0.5 * compliance_c2c * compliance_c2c)
                cap = min(g_max, limit / hold_v * factor)
        if shaped:
            far_edge = g_min if positive else g_max
            span = bound - far_edge
            left = max((bound - g) / span, 0.0)
            step = (
                span
                * left ** polarity_constants[polarity, STATE_EXPONENT]
                * math.exp(polarity_constants[polarity, STATE_GROWTH] * progress)
                * fraction
            )
        else:
            step = (bound - g) * fraction
        if memory_depth:
            sign = 1 if positive else -1
            last = pulse_polarity[device]
            if last == sign:
                run = min(polarity_run[device] + 1, POLARITY_RUN_CAP)
            elif last == 0:
                run = POLARITY_RUN_CAP  # a device's first pulse has no reversal behind it
            else:
                run = 1
            pulse_polarity[device] = sign
            polarity_run[device] = run
            step *= 1.0 - memory_depth * math.exp(-(run - 1) / memory_pulses)
        moved = g + step
        moved = min(moved, max(cap, g)) if positive else max(moved, min(g_min, g))
        g_new = moved if relaxing[device] else g  # stuck and virgin devices do not switch
        if has_virgin and virgin[device] and positive and v >= forming_voltage_v[device]:
            g_new = cap
            virgin[device] = False
            relaxing[device] = True
            formed += 1
        g_s[device] = g_new
        change = g_new - g
        if abs(change) > event_fraction * window_s[device]:
            events[n_events] = device
            signs[n_events] = 1 if change > 0 else -1
            n_events += 1
    return events[:n_events], signs[:n_events], formed


@njit(cache=True, nogil=True)
def count_reversals(
    devices: np.ndarray, signs: np.ndarray, reversals: np.ndarray, last_polarity: np.ndarray
) -> None:
    """Count the SET/RESET reversals of devices that made a switching event (``signs``: the sign of each
    one's change), for endurance."""
    for j in range(devices.size):
        device = devices[j]
        last = last_polarity[device]
        if last != 0 and signs[j] != last:
            reversals[device] += 1
        last_polarity[device] = signs[j]


@njit(cache=True, nogil=True)
def restart_and_wear(
    devices: np.ndarray,
    age_s: float,
    programmed_at_s: np.ndarray,
    reversals: np.ndarray,
    endurance_cycles: np.ndarray,
    stuck: np.ndarray,
    stuck_conductance_s: np.ndarray,
    g_s: np.ndarray,
    g_min_s: np.ndarray,
    window_s: np.ndarray,
    relaxing: np.ndarray,
) -> None:
    """After a switching event (its relaxation settled): relaxation restarts from ``age_s``, and a working
    device past its endurance sticks where it is (in LRS above mid-window, else HRS)."""
    for j in range(devices.size):
        device = devices[j]
        programmed_at_s[device] = age_s
        if reversals[device] >= 2 * endurance_cycles[device] and stuck[device] == NOT_STUCK:
            high = g_s[device] > g_min_s[device] + 0.5 * window_s[device]
            stuck[device] = STUCK_LRS if high else STUCK_HRS
            stuck_conductance_s[device] = g_s[device]
            relaxing[device] = False
