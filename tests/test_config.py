"""Bench TOML: the shipped examples load; every error names its key; no input crashes the parser."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labrram.bench.factory import simulated_lab
from labrram.cli import default_config_path
from labrram.config import load_config, parse_config
from labrram.errors import ConfigError
from labrram.physics import ArrayKind, BiasScheme

EXAMPLES = Path(default_config_path()).parent


def minimal(**sections: dict) -> dict:
    document = {
        "bench": {"name": "b", "seed": 1},
        "sample": {"chip": "c", "preset": "tio2-passive-8x8"},
    }
    for name, table in sections.items():
        document[name] = {**document.get(name, {}), **table}
    return document


def test_shipped_examples_load():
    tio2 = load_config(EXAMPLES / "tio2-bench.toml")
    assert tio2.sample.arrays[0].bias_scheme is BiasScheme.V_THIRD
    assert tio2.sample.arrays[0].kind is ArrayKind.PASSIVE
    assert tio2.safety.max_negative_v == 2.6
    hfo2 = load_config(EXAMPLES / "hfo2-bench.toml")
    assert (hfo2.sample.arrays[0].rows, hfo2.sample.arrays[0].cols) == (128, 128)
    assert hfo2.sample.preset.default_compliance_a == 100e-6


def test_defaults_come_from_the_preset():
    config = parse_config(minimal())
    (array,) = config.sample.arrays
    assert (array.name, array.rows, array.cols) == ("A1", 8, 8)
    assert config.read_duration_s == 10e-6
    assert config.database_url is None
    assert config.read_current_range_a is None  # autorange
    assert parse_config(minimal(bench={"read_current_range_a": 1e-3})).read_current_range_a == 1e-3


def test_overrides_replace_preset_values():
    config = parse_config(minimal(sample={"overrides": {"read_noise_rel": 0.02}}))
    assert config.sample.parameters.read_noise_rel == 0.02


def test_a_bare_preset_name_is_the_newest_version_and_a_pinned_one_stays():
    pinned = parse_config(minimal(sample={"preset": "tio2-passive-8x8@1"})).sample
    newest = parse_config(minimal()).sample
    assert (pinned.preset.version, newest.preset.version) == (1, 2)
    assert pinned.parameters.subthreshold_fraction == 0 and newest.parameters.subthreshold_fraction > 0
    assert pinned.technology == newest.technology == "tio2-passive-8x8"
    with pytest.raises(ConfigError, match="tio2-passive-8x8@2"):  # the error lists the known versions
        parse_config(minimal(sample={"preset": "tio2-passive-8x8@3"}))


def test_a_fitted_file_is_read_beside_the_bench_file_and_checked(tmp_path):
    (tmp_path / "fit.toml").write_text(
        '[sample]\npreset = "tio2-passive-8x8@2"\n[sample.overrides]\nset_c2c = 0.2\n'
    )
    config = parse_config(minimal(sample={"fitted": "fit.toml"}), tmp_path)
    assert config.sample.parameters.set_c2c == 0.2
    with pytest.raises(ConfigError, match=r"sample\.fitted"):
        parse_config(minimal(sample={"fitted": "missing.toml"}), tmp_path)
    (tmp_path / "more.toml").write_text(
        '[sample]\npreset = "tio2-passive-8x8@2"\n[sample.overrides]\nset_c2c = 0.3\nreset_c2c = 0.4\n'
    )
    both = parse_config(minimal(sample={"fitted": ["fit.toml", "more.toml"]}), tmp_path).sample.parameters
    assert (both.set_c2c, both.reset_c2c) == (0.3, 0.4)  # each part's file in turn, later ones win
    with pytest.raises(ConfigError, match="a list of file names"):
        parse_config(minimal(sample={"fitted": ["fit.toml", 3]}), tmp_path)
    (tmp_path / "bad.toml").write_text(
        '[sample]\npreset = "tio2-passive-8x8@2"\n[sample.overrides]\nset_c2c = -1\n'
    )
    with pytest.raises(ConfigError, match=r"sample\.fitted\.set_c2c"):
        parse_config(minimal(sample={"fitted": "bad.toml"}), tmp_path)


@pytest.mark.parametrize(
    ("document", "key"),
    [
        (minimal(extra={"a": 1}), "extra"),
        (minimal(bench={"colour": "red"}), "bench.colour"),
        (minimal(bench={"seed": -3}), "bench.seed"),
        (minimal(bench={"seed": True}), "bench.seed"),
        (minimal(bench={"name": ""}), "bench.name"),
        (minimal(bench={"read_duration_s": 0}), "bench.read_duration_s"),
        (minimal(bench={"read_current_range_a": -1e-3}), "bench.read_current_range_a"),
        (minimal(bench={"read_current_range_a": "1 mA"}), "bench.read_current_range_a"),
        (minimal(sample={"preset": "nope"}), "sample.preset"),
        (minimal(sample={"overrides": {"warp": 1.0}}), "sample.overrides.warp"),
        (minimal(sample={"overrides": {"g_max_s": "big"}}), "sample.overrides.g_max_s"),
        (minimal(sample={"overrides": {"set_c2c": -0.1}}), "sample.overrides.set_c2c"),
        (minimal(sample={"arrays": [{"rows": 0}]}), "sample.arrays[0].rows"),
        (minimal(sample={"arrays": [{"bias_scheme": "V/4"}]}), "sample.arrays[0].bias_scheme"),
        (minimal(sample={"arrays": [{}, {"colour": 1}]}), "sample.arrays[1].colour"),
        (minimal(sample={"arrays": [{"name": "X"}, {"name": "X"}]}), "sample.arrays"),
        (minimal(sample={"temperature_c": -300}), "sample.temperature_c"),
        (minimal(safety={"max_positive_v": -1}), "safety.max_positive_v"),
        (minimal(safety={"max_voltage": 1}), "safety.max_voltage"),
    ],
)
def test_errors_name_the_offending_key(document, key):
    with pytest.raises(ConfigError) as error:
        parse_config(document)
    assert error.value.key == key


def test_missing_tables_are_named():
    with pytest.raises(ConfigError, match=r"^sample: table is missing"):
        parse_config({"bench": {"name": "b"}})


def test_unreadable_and_malformed_files_are_config_errors(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[bench\nname = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken)


toml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)


@given(
    bench=st.dictionaries(st.sampled_from(["name", "seed", "read_duration_s", "x"]), toml_values),
    sample=st.dictionaries(
        st.sampled_from(["chip", "preset", "overrides", "arrays", "temperature_c"]), toml_values
    ),
    safety=st.dictionaries(st.sampled_from(["max_positive_v", "max_read_v", "y"]), toml_values),
)
@settings(max_examples=300, deadline=None)
def test_any_document_either_parses_or_raises_config_error(bench, sample, safety):
    try:
        parse_config({"bench": bench, "sample": sample, "safety": safety})
    except ConfigError as error:
        assert error.key


@given(
    name=st.sampled_from(["g_min_s", "set_c2c", "set_step_ratio", "endurance_cycles", "x"]),
    value=st.integers() | st.floats() | st.booleans() | st.text(max_size=4),
)
@settings(max_examples=200, deadline=None)
def test_any_override_either_applies_or_names_its_key(name, value):
    try:
        config = parse_config(minimal(sample={"overrides": {name: value}}))
    except ConfigError as error:
        assert error.key == f"sample.overrides.{name}"
    else:
        assert getattr(config.sample.parameters, name) == float(value)


@given(value=st.integers() | st.floats() | st.booleans() | st.none())
@settings(max_examples=100, deadline=None)
def test_any_safety_value_either_applies_or_names_its_key(value):
    try:
        config = parse_config(minimal(safety={"max_read_v": value}))
    except ConfigError as error:
        assert error.key == "safety.max_read_v"
    else:
        assert config.safety.max_read_v == value > 0


INSTRUMENTS = {
    "matrix": {"driver": "keithley707b", "resource": "GPIB0::16::INSTR"},
    "smu1": {"driver": "keithley2600b", "resource": "GPIB0::26::INSTR"},
    "smu2": {"driver": "keithley2600b", "resource": "GPIB0::27::INSTR"},
}


def test_instruments_table_gives_resources_library_and_clock():
    config = parse_config(minimal(instruments=INSTRUMENTS))
    assert config.instruments.resources["smu1"] == "GPIB0::26::INSTR"
    assert (config.instruments.visa_library, config.instruments.clock) == ("@sim", "instrument")
    real = parse_config(minimal(instruments={**INSTRUMENTS, "visa_library": "@py"}))
    assert real.instruments.clock == "host"
    assert load_config(EXAMPLES / "tio2-instruments-bench.toml").instruments.visa_library == "@sim"
    assert config.instruments.smu2_tsp_link_node is None


def test_smu2_may_be_a_tsp_link_node_of_smu1_instead_of_a_resource():
    linked = load_config(EXAMPLES / "tio2-tsp-link-bench.toml").instruments
    assert linked.smu2_tsp_link_node == 2 and "smu2" not in linked.resources


@pytest.mark.parametrize(
    ("instruments", "key"),
    [
        ({**INSTRUMENTS, "scope": {}}, "instruments.scope"),
        ({k: v for k, v in INSTRUMENTS.items() if k != "smu2"}, "instruments.smu2"),
        ({**INSTRUMENTS, "smu1": {"driver": "keithley2400", "resource": "x"}}, "instruments.smu1.driver"),
        ({**INSTRUMENTS, "matrix": {"driver": "keithley707b"}}, "instruments.matrix.resource"),
        ({**INSTRUMENTS, "clock": "sundial"}, "instruments.clock"),
        ({**INSTRUMENTS, "visa_library": 3}, "instruments.visa_library"),
        (
            {**INSTRUMENTS, "smu2": {"driver": "keithley2600b", "tsp_link_node": 1}},
            "instruments.smu2.tsp_link_node",
        ),
        (
            {**INSTRUMENTS, "smu2": {"driver": "keithley2600b", "tsp_link_node": "2"}},
            "instruments.smu2.tsp_link_node",
        ),
        ({**INSTRUMENTS, "smu2": {**INSTRUMENTS["smu2"], "tsp_link_node": 2}}, "instruments.smu2.resource"),
        (
            {**INSTRUMENTS, "smu1": {**INSTRUMENTS["smu1"], "tsp_link_node": 3}},
            "instruments.smu1.tsp_link_node",
        ),
    ],
)
def test_instrument_errors_name_the_key(instruments, key):
    with pytest.raises(ConfigError) as error:
        parse_config(minimal(instruments=instruments))
    assert error.value.key == key


B1500 = {"driver": "keysight_b1500a", "resource": "GPIB0::17::INSTR", "channels": {"1": "E"}}


def test_extra_instruments_have_their_channels_on_matrix_rows():
    config = parse_config(minimal(instruments={**INSTRUMENTS, "extra": {"analyzer": B1500}}))
    assert config.instruments.extra["analyzer"].channels == {1: "E"}


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"analyzer": {**B1500, "driver": "hp4156"}}, "instruments.extra.analyzer.driver"),
        ({"analyzer": {**B1500, "channels": {"11": "E"}}}, "instruments.extra.analyzer.channels.11"),
        ({"analyzer": {**B1500, "channels": {"1": "Q"}}}, "instruments.extra.analyzer.channels.1"),
        (
            {"analyzer": B1500, "smu3": {**B1500, "driver": "keysight_b2900"}},
            "instruments.extra.smu3.channels.1",
        ),
        ({"analyzer": {**B1500, "colour": "red"}}, "instruments.extra.analyzer.colour"),
    ],
)
def test_extra_instrument_errors_name_the_key(extra, key):
    instruments = {**INSTRUMENTS, "extra": extra}
    with pytest.raises(ConfigError) as error:
        parse_config(minimal(instruments=instruments))
    assert error.value.key == key


def test_an_extra_instrument_on_a_row_of_the_benchs_roles_is_refused():
    clash = {**B1500, "channels": {"1": "A"}}  # row A is the selected word line's SMU
    with pytest.raises(ConfigError) as error:
        simulated_lab(parse_config(minimal(instruments={**INSTRUMENTS, "extra": {"analyzer": clash}})))
    assert error.value.key == "instruments.extra.analyzer.channels"
