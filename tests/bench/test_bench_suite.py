"""The shared Bench suite: every Bench implementation must pass it unchanged."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from labrram.bench import DeviceAddress
from labrram.errors import DeviceSelectionError, InstrumentError, SafetyLimitError
from tests.bench.cases import BENCH_CASES, BenchCase


@pytest.fixture(params=sorted(BENCH_CASES))
def case(request: pytest.FixtureRequest) -> Iterator[BenchCase]:
    made = BENCH_CASES[request.param]()
    yield made
    made.close()


def test_read_reports_the_selected_devices_conductance(case: BenchCase):
    bench = case.bench
    device = bench.select(1, 2)
    assert device == DeviceAddress("A1", 1, 2)
    read = bench.read(0.2)
    assert read.device == device
    assert read.voltage_v == 0.2
    assert read.conductance_s == pytest.approx(read.current_a / 0.2)
    assert read.conductance_s == pytest.approx(case.true_conductance_s(device), rel=0.01)


def test_set_pulses_raise_and_reset_pulses_lower_conductance(case: BenchCase):
    bench = case.bench
    device = bench.select(0, 0)
    start = case.true_conductance_s(device)
    for _ in range(20):
        result = bench.pulse(1.8, 1e-4)
    assert result.device == device and result.current_a > 0
    high = case.true_conductance_s(device)
    assert high > start * 1.2
    for _ in range(20):
        bench.pulse(-2.2, 1e-4)
    assert case.true_conductance_s(device) < high * 0.8


def test_time_advances_by_pulses_reads_and_waits(case: BenchCase):
    bench = case.bench
    bench.select(0, 1)
    t0 = bench.now()
    pulse = bench.pulse(1.0, 1e-4)
    assert pulse.t_s == pytest.approx(t0)
    read = bench.read()
    assert read.t_s >= t0 + 1e-4
    bench.wait(3600.0)
    assert bench.now() >= read.t_s + 3600.0


@pytest.mark.parametrize(
    ("amplitude_v", "width_s", "compliance_a", "key"),
    [
        (2.01, 1e-4, None, "safety.max_positive_v"),
        (-2.5, 1e-4, None, "safety.max_negative_v"),
        (1.0, 2e-4, None, "safety.max_width_s"),
        (1.0, 1e-4, 2e-3, "safety.max_compliance_a"),
    ],
)
def test_pulses_beyond_the_limits_are_refused_before_anything_happens(
    case: BenchCase, amplitude_v, width_s, compliance_a, key
):
    bench = case.bench
    device = bench.select(2, 2)
    before_g, before_t = case.true_conductance_s(device), bench.now()
    with pytest.raises(SafetyLimitError, match=key.replace(".", r"\.")) as refused:
        bench.pulse(amplitude_v, width_s, compliance_a)
    assert refused.value.key == key
    assert bench.now() == before_t
    assert case.true_conductance_s(device) == before_g


@pytest.mark.parametrize("amplitude_v", [math.nan, math.inf])
def test_non_finite_amplitudes_are_refused(case: BenchCase, amplitude_v):
    case.bench.select(0, 0)
    with pytest.raises(SafetyLimitError, match="not finite"):
        case.bench.pulse(amplitude_v, 1e-4)


def test_reads_beyond_the_read_limit_are_refused(case: BenchCase):
    case.bench.select(0, 0)
    with pytest.raises(SafetyLimitError, match=r"safety\.max_read_v"):
        case.bench.read(0.5)
    with pytest.raises(SafetyLimitError, match="non-zero"):
        case.bench.read(0.0)


def test_selection_outside_the_array_or_missing_is_an_error(case: BenchCase):
    bench = case.bench
    with pytest.raises(DeviceSelectionError, match="no device selected"):
        bench.read()
    with pytest.raises(DeviceSelectionError, match="outside array"):
        bench.select(4, 0)
    with pytest.raises(DeviceSelectionError, match="no array named"):
        bench.select(0, 0, "B7")


@pytest.mark.parametrize("error", [RuntimeError("instrument fell over"), KeyboardInterrupt()])
def test_outputs_go_safe_when_a_pulse_is_interrupted(case: BenchCase, error):
    bench = case.bench
    bench.select(0, 0)
    case.fail_next_operation(error)
    # A driver-backed bench reports a failing instrument as InstrumentError; Ctrl-C passes through.
    with pytest.raises((type(error), InstrumentError)):
        bench.pulse(1.5, 1e-4)
    assert case.outputs_safe()


def test_outputs_go_safe_when_a_read_fails(case: BenchCase):
    bench = case.bench
    bench.select(0, 0)
    case.fail_next_operation(RuntimeError("timeout"))
    with pytest.raises((RuntimeError, InstrumentError)):
        bench.read()
    assert case.outputs_safe()


def test_leaving_the_with_block_makes_the_bench_safe(case: BenchCase):
    with pytest.raises(ValueError, match="procedure bug"), case.bench as bench:
        bench.select(0, 0)
        bench.pulse(1.0, 1e-4)
        raise ValueError("procedure bug")
    assert case.outputs_safe()


def test_wait_refuses_negative_time(case: BenchCase):
    with pytest.raises(ValueError, match="non-negative"):
        case.bench.wait(-1.0)
