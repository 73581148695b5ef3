"""Forming: virgin devices are formed by the ramp; conducting devices get no pulse."""

from __future__ import annotations

import pytest

from labrram.bench import DeviceAddress
from labrram.bench.factory import direct_simulated_bench
from labrram.config import parse_config
from labrram.procedures.forming import FormingSettings, form_device
from labrram.records import Pulse, PulseKind


def bench_for(preset: str):
    return direct_simulated_bench(
        parse_config(
            {
                "bench": {"name": "b", "seed": 4},
                "sample": {
                    "chip": "c",
                    "preset": preset,
                    "overrides": {"stuck_hrs_fraction": 0.0, "stuck_lrs_fraction": 0.0},
                    "arrays": [{"rows": 4, "cols": 4}],
                },
                "safety": {"max_positive_v": 3.6, "max_compliance_a": 1e-3},
            }
        )
    )


def test_virgin_devices_form_on_the_ramp_at_their_forming_voltage():
    bench = bench_for("hfo2-1t1r")
    array = bench.chip.arrays["A1"]
    for col in range(4):
        device = DeviceAddress("A1", 1, col)
        records = list(form_device(bench, device, FormingSettings()))
        result = records[-1].values
        assert result["success"]
        pulses = [r for r in records if isinstance(r, Pulse)]
        assert all(p.kind is PulseKind.FORM and p.compliance_a == 100e-6 for p in pulses)
        own_forming_v = array.population.forming_voltage_v[array.flat_index(1, col)]
        assert own_forming_v <= result["forming_voltage_v"] < own_forming_v + 0.05 + 1e-9
        # Compliance-limited: about 100 uA / 0.4 V.
        assert result["conductance_s"] == pytest.approx(250e-6, rel=0.25)


def test_conducting_devices_are_left_alone():
    bench = bench_for("tio2-passive-8x8")
    records = list(form_device(bench, DeviceAddress("A1", 0, 0), FormingSettings()))
    assert not any(isinstance(r, Pulse) for r in records)
    assert records[-1].values["success"] and records[-1].values["pulses"] == 0


def test_a_ramp_that_stops_too_low_reports_failure():
    bench = bench_for("hfo2-1t1r")
    settings = FormingSettings(start_v=1.0, stop_v=1.5, step_v=0.1)
    result = list(form_device(bench, DeviceAddress("A1", 0, 0), settings))[-1].values
    assert not result["success"] and result["pulses"] == 6 and result["forming_voltage_v"] is None
