"""The compiled pulse step against the step model's formula evaluated in numpy with the same draws."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labrram.physics import TIO2_PASSIVE_8X8, ArrayKind, BiasScheme, CrossbarArray, switching_kernel
from labrram.physics.bias import cell_voltages, line_levels, line_voltages
from labrram.physics.retention import acceleration_factor

DEVICES = 16
TEMPERATURE_C = 60.0  # above the reference: thermal activation speeds the drive up
EVERY_OPTION = dataclasses.replace(  # every term of the step model switched on
    TIO2_PASSIVE_8X8.parameters,
    set_state_exponent=1.7,
    reset_state_exponent=0.6,
    set_state_growth=0.8,
    reset_state_growth=-0.4,
    set_c2c_growth=0.5,
    reset_c2c_growth=0.3,
    subthreshold_fraction=0.3,
    subthreshold_slope_v=0.1,
    min_switching_time_s=1e-6,
    switching_activation_energy_ev=0.2,
    polarity_memory_depth=0.5,
    polarity_memory_pulses=3.0,
    stuck_hrs_fraction=0.0,
    stuck_lrs_fraction=0.0,
)


def expected_conductance_s(array, before_s, voltage_v, width_s, limit_a, normal, compliance_normal):
    """One pulse on every device by the formula: mean step (B - G_far) u^exponent exp(growth x) times
    1 - exp(-drive t), drive r(V) lognormal(c2c exp(c2c_growth x)), capped by compliance and the window."""
    p, pop = array.parameters, array.population
    positive = voltage_v > 0
    prefix = np.where(positive, "set", "reset")
    value = np.vectorize(lambda pre, name: getattr(p, f"{pre}_{name}"))
    g_min, g_max, window = pop.g_min_s, pop.g_max_s, pop.window_s
    threshold = np.where(positive, pop.set_threshold_v, pop.reset_threshold_v)
    rate = np.where(positive, pop.set_rate_per_s, pop.reset_rate_per_s)
    bound = np.where(positive, pop.set_bound_s, pop.reset_bound_s)
    x = np.clip((before_s - g_min) / window, 0.0, 1.0)
    progress = np.where(positive, x, 1.0 - x)
    c2c = value(prefix, "c2c") * np.exp(value(prefix, "c2c_growth") * progress)
    noise = np.exp(c2c * normal - c2c**2 / 2)
    over = np.abs(voltage_v) - threshold
    drive = rate * (np.expm1(np.maximum(over, 0) / value(prefix, "slope_v")))
    drive += rate * p.subthreshold_fraction * np.exp(np.minimum(over, 0) / p.subthreshold_slope_v)
    activation_ev = p.switching_activation_energy_ev
    activation = acceleration_factor(TEMPERATURE_C, p.reference_temperature_c, activation_ev)
    drive *= noise * activation
    drive = np.minimum(drive, 1 / p.min_switching_time_s)
    far = np.where(positive, g_min, g_max)
    left = np.maximum((bound - before_s) / (bound - far), 0)
    shape = left ** value(prefix, "state_exponent") * np.exp(value(prefix, "state_growth") * progress)
    step = (bound - far) * shape * -np.expm1(-drive * width_s)
    step *= 1 - p.polarity_memory_depth * np.exp(-(1_000_000 - 1) / p.polarity_memory_pulses)  # no reversal
    cap = g_max
    if limit_a is not None:
        factor = np.exp(p.compliance_c2c * compliance_normal - p.compliance_c2c**2 / 2)
        cap = np.minimum(g_max, limit_a / p.compliance_hold_v * factor)
    moved = before_s + step
    acts = np.abs(voltage_v) > 0.5 * threshold
    bounded = np.where(positive, np.minimum(moved, np.maximum(cap, before_s)), np.maximum(moved, g_min))
    return np.where(acts, bounded, before_s)


@settings(max_examples=40, deadline=None)
@given(
    voltages=st.lists(st.floats(-2.5, 2.5), min_size=DEVICES, max_size=DEVICES),
    width_s=st.floats(1e-9, 1e-5),
    limit_a=st.none() | st.floats(1e-5, 1e-3),
    seed=st.integers(0, 2**16),
)
def test_compiled_step_is_the_formula(voltages, width_s, limit_a, seed):
    array = CrossbarArray(EVERY_OPTION, 1, DEVICES, ArrayKind.ONE_T_ONE_R, np.random.default_rng(seed))
    array.temperature_c = TEMPERATURE_C
    voltage_v = np.array(voltages)
    before_s = array.estimated_conductance_s().ravel()
    switching, compliance = copy.deepcopy(array._rng), copy.deepcopy(array._compliance_rng)
    array.apply_voltage(slice(None), voltage_v, width_s, limit_a)
    acting = np.abs(voltage_v) > 0.5 * np.where(
        voltage_v > 0, array.population.set_threshold_v, array.population.reset_threshold_v
    )
    normal = np.zeros(DEVICES)
    normal[acting] = switching.standard_normal(acting.sum())
    compliance_normal = np.zeros(DEVICES)
    if limit_a is not None:
        compliance_normal[acting] = compliance.standard_normal(acting.sum())
    expected = expected_conductance_s(array, before_s, voltage_v, width_s, limit_a, normal, compliance_normal)
    # Switching events settle the relaxation they owe (none: no time has passed since the start).
    np.testing.assert_allclose(array.estimated_conductance_s().ravel(), expected, rtol=1e-12, atol=1e-18)


def test_devices_without_a_current_limit_take_no_compliance_draw():
    array = CrossbarArray(TIO2_PASSIVE_8X8.parameters, 8, 8, ArrayKind.PASSIVE, np.random.default_rng(3))
    compliance = copy.deepcopy(array._compliance_rng)
    limits = np.full(64, np.inf)
    limits[9] = 100e-6  # the selected device; every other cell sees the pulse unlimited
    array.apply_voltage(slice(None), np.full(64, 2.4), 200e-9, limits)
    compliance.standard_normal(1)
    assert array._compliance_rng.bit_generator.state == compliance.bit_generator.state


def test_indices_outside_the_array_and_mismatched_limits_are_refused():
    array = CrossbarArray(TIO2_PASSIVE_8X8.parameters, 2, 2, ArrayKind.PASSIVE, np.random.default_rng(0))
    with pytest.raises(IndexError):
        array.apply_voltage(np.array([4]), 1.0, 200e-9)
    with pytest.raises(IndexError):
        array.cell_currents(np.array([-1]), 0.2)
    with pytest.raises(TypeError, match="not a mask"):
        array.apply_voltage(np.array([True, False, True, False]), 1.0, 200e-9)
    with pytest.raises(ValueError, match="3 compliance limits for 2 devices"):
        array.apply_voltage(np.array([0, 1]), 1.0, 200e-9, np.full(3, 1e-4))


SCHEMES = list(BiasScheme)


def _twin_arrays(parameters, rows, cols, seed):
    """Two arrays drawn from one seed: one driven through its lines, one cell by cell."""
    return tuple(
        CrossbarArray(parameters, rows, cols, ArrayKind.PASSIVE, np.random.default_rng(seed)) for _ in "ab"
    )


@settings(max_examples=25, deadline=None)
@given(
    pulses=st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 6), st.floats(-2.6, 2.6), st.sampled_from(SCHEMES)),
        min_size=1,
        max_size=30,
    ),
    limit_a=st.none() | st.floats(1e-5, 1e-3),
    soft_onset=st.booleans(),
    virgin=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_a_pulse_through_the_lines_is_the_pulse_on_every_cell(pulses, limit_a, soft_onset, virgin, seed):
    parameters = dataclasses.replace(
        TIO2_PASSIVE_8X8.parameters,
        subthreshold_fraction=0.3 if soft_onset else 0.0,
        virgin_fraction=0.3 if virgin else 0.0,
    )
    rows, cols = 6, 7
    lines, cells = _twin_arrays(parameters, rows, cols, seed)
    for row, col, amplitude_v, scheme in pulses:
        levels = line_levels(scheme, amplitude_v)
        current_a = lines.pulse_lines(row, col, levels, 200e-9, limit_a)
        row_v, col_v = line_voltages(scheme, rows, cols, row, col, amplitude_v)
        limits = None
        if limit_a is not None:
            limits = np.full(rows * cols, np.inf)
            limits[row * cols + col] = limit_a
        currents = cells.apply_voltage(slice(None), cell_voltages(row_v, col_v), 200e-9, limits)
        assert current_a == currents[row * cols + col]
        np.testing.assert_array_equal(lines.estimated_conductance_s(), cells.estimated_conductance_s())
    assert lines._rng.bit_generator.state == cells._rng.bit_generator.state
    assert lines._compliance_rng.bit_generator.state == cells._compliance_rng.bit_generator.state
    np.testing.assert_array_equal(lines.cycles(), cells.cycles())


def test_a_pulse_through_the_lines_finds_the_cells_above_their_onset():
    """The acting cells found from the onset order (few act) and by visiting every cell (most act) are
    those above their onset by the per-cell voltages; a device outside the array is refused."""
    array = CrossbarArray(TIO2_PASSIVE_8X8.parameters, 64, 64, ArrayKind.PASSIVE, np.random.default_rng(1))
    pop = array.population
    for amplitude_v in (0.9, 1.2, 1.6, 2.0, -1.5, -2.4):
        levels = line_levels(BiasScheme.V_THIRD, amplitude_v)
        devices, voltages, selected_position = switching_kernel.acting_on_lines(
            64, 64, 3, 5, np.array(levels), array._device_constants, 1.0, array._onset_order,
            array._sorted_onset_v, pop.virgin, pop.forming_voltage_v, False,
        )  # fmt: skip
        cell_v = cell_voltages(*line_voltages(BiasScheme.V_THIRD, 64, 64, 3, 5, amplitude_v))
        threshold_v = np.where(cell_v > 0, pop.set_threshold_v, pop.reset_threshold_v)
        expected = np.flatnonzero(np.abs(cell_v) > threshold_v)
        np.testing.assert_array_equal(devices, expected)
        np.testing.assert_array_equal(voltages, cell_v[expected])
        assert devices[selected_position] == 3 * 64 + 5
    with pytest.raises(IndexError):
        array.pulse_lines(64, 0, line_levels(BiasScheme.V_THIRD, 1.2), 200e-9)
