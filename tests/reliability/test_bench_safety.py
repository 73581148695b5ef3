"""Limits a bench is built with and keeps, a compliance on every pulse, parameters refused before the first
pulse, and chips filed only under the technology and geometry they were first recorded with."""

from __future__ import annotations

import dataclasses

import pytest

from labrram.bench.factory import simulated_instrument_bench
from labrram.bench.safety import SafetyLimits
from labrram.cli import main
from labrram.config import parse_config
from labrram.db import open_database, pulses, runs
from labrram.errors import ConfigError
from tests.test_measure import bench_file


def test_every_pulse_sets_its_own_compliance_the_safety_maximum_when_none_is_given():
    config = instrument_config()
    bench, lab = simulated_instrument_bench(config)
    limits_at_pulse = []
    for emulator in lab.smus.values():
        original = emulator._pulse

        def recording(smu, *args, original=original):
            limits_at_pulse.append(smu.limit_a)
            return original(smu, *args)

        emulator._pulse = recording
    with bench:
        bench.select(0, 0, "A1")
        bench.pulse(1.0, 1e-4, 2e-4)
        bench.pulse(1.0, 1e-4)  # no compliance given: not the last pulse's
    default = config.sample.preset.default_compliance_a or config.safety.max_compliance_a
    assert limits_at_pulse[0] == 2e-4 and limits_at_pulse[-1] == default
    assert default <= config.safety.max_compliance_a < 0.1  # never the SMU's own 0.1 A


@pytest.mark.parametrize(
    ("key", "value"), [("max_positive_v", 1e9), ("max_negative_v", 250.0), ("max_compliance_a", 5.0)]
)
def test_limits_beyond_the_instruments_ratings_are_refused_naming_the_key(tmp_path, capsys, key, value):
    path = bench_file(tmp_path)
    path.write_text(path.read_text() + f"[safety]\n{key} = {value}\n")
    assert main(["measure", "iv", "--config", str(path), "--database", f"sqlite:///{tmp_path / 'l.db'}"]) == 2
    err = capsys.readouterr().err
    assert f"safety.{key}" in err and "beyond what" in err


def test_a_benchs_limits_cannot_be_changed_once_it_is_built():
    bench, _ = simulated_instrument_bench(instrument_config())
    with pytest.raises(AttributeError):
        bench.limits = SafetyLimits(max_positive_v=100.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        bench.limits.max_positive_v = 100.0  # type: ignore[misc]
    with pytest.raises(ConfigError, match="max_positive_v"):
        SafetyLimits(max_positive_v=float("inf"))


@pytest.mark.parametrize(
    ("procedure", "parameter", "value"),
    [
        ("iv", "v_max", "5"),
        ("iv", "compliance_a", "0.5"),
        ("tuning", "set_stop_v", "4"),
        ("endurance", "reset_v", "-9"),
        ("endurance", "width_s", "1"),
        ("forming", "stop_v", "3.5"),
        ("tuning", "read_voltage_v", "0.8"),
    ],
)
def test_a_parameter_beyond_the_limits_is_refused_before_the_first_pulse(
    tmp_path, capsys, procedure, parameter, value
):
    database = f"sqlite:///{tmp_path / 'p.db'}"
    argv = ["measure", procedure, "--config", str(bench_file(tmp_path)), "--database", database]
    assert main([*argv, "--devices", "A1:0:0", "--param", f"{parameter}={value}"]) == 2
    assert f"parameter {parameter}" in capsys.readouterr().err
    engine = open_database(database)
    assert runs(engine).empty and pulses(engine).empty  # nothing started, nothing applied


def _chip_file(tmp_path, name: str, preset: str, rows: int) -> str:
    path = tmp_path / name
    path.write_text(
        '[bench]\nname = "db-bench"\nseed = 3\n'
        f'[sample]\nchip = "one-chip"\npreset = "{preset}"\n'
        f'[[sample.arrays]]\nname = "A1"\nrows = {rows}\ncols = {rows}\n'
    )
    return str(path)


def test_a_chip_name_reused_for_another_geometry_or_technology_is_refused(tmp_path, capsys):
    database = f"sqlite:///{tmp_path / 'chips.db'}"
    tio2_4x4 = _chip_file(tmp_path, "a.toml", "tio2-passive-8x8", 4)
    measure = ["measure", "iv", "--database", database, "--quiet", "--devices", "A1:0:0"]
    measure.append("--param=step_v=0.2")
    assert main([*measure, "--config", tio2_4x4]) == 0
    eight = _chip_file(tmp_path, "b.toml", "tio2-passive-8x8", 8)
    assert main([*measure, "--config", eight]) == 2  # the saved simulated chip is another one
    assert "different simulated chip" in capsys.readouterr().err
    assert main([*measure, "--config", eight, "--fresh-chip"]) == 2  # and the database files it as 4x4
    assert "on record as 4x4" in capsys.readouterr().err
    hfo2 = _chip_file(tmp_path, "c.toml", "hfo2-1t1r", 4)
    assert main([*measure, "--config", hfo2, "--fresh-chip"]) == 2
    assert "a different chip needs a different name" in capsys.readouterr().err
    assert len(runs(open_database(database))) == 1


def test_config_parses_limits_the_same_as_the_bench_checks_them():
    with pytest.raises(ConfigError, match=r"safety\.max_read_v"):
        parse_config({**_document(), "safety": {"max_read_v": -1}})


def instrument_config():
    """A 2x2 TiO2 chip read for 100 us, which the emulated 2600B can integrate."""
    return parse_config({**_document(), "bench": {"name": "b", "read_duration_s": 1e-4}})


def _document() -> dict:
    return {
        "bench": {"name": "b"},
        "sample": {
            "chip": "c",
            "preset": "tio2-passive-8x8",
            "arrays": [{"name": "A1", "rows": 2, "cols": 2}],
        },
    }
