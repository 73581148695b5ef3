"""``labrram measure``: device selections, parameters, a run end to end, Ctrl-C and resume."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labrram.bench import ArrayGeometry, DeviceAddress
from labrram.bench.factory import simulated_lab
from labrram.cli import main
from labrram.config import load_config
from labrram.db import Recorder, Selection, open_database, pulses, results, runs
from labrram.drivers.simulated.server import InstrumentServer
from labrram.errors import ParameterError
from labrram.measure import PROCEDURES, build_settings, parse_devices
from labrram.parameter_docs import markdown_table
from labrram.physics import ArrayKind
from labrram.procedures.tuning import AlibartSettings, tune_devices
from tests.db.helpers import small_bench, small_config, targets
from tests.measure_helpers import instruments_file, tune_with_wide_pulses

ARRAYS = {
    "A1": ArrayGeometry("A1", 8, 8, ArrayKind.PASSIVE),
    "B": ArrayGeometry("B", 2, 3, ArrayKind.PASSIVE),
}


def test_selections_name_devices_row_by_row():
    assert parse_devices("B", ARRAYS) == [DeviceAddress("B", r, c) for r in range(2) for c in range(3)]
    assert parse_devices("all", ARRAYS)[-1] == DeviceAddress("A1", 7, 7)
    assert parse_devices("A1:1-2:0,5", ARRAYS) == [
        DeviceAddress("A1", 1, 0),
        DeviceAddress("A1", 1, 5),
        DeviceAddress("A1", 2, 0),
        DeviceAddress("A1", 2, 5),
    ]


@pytest.mark.parametrize("text", ["C", "A1:0-8:0", "A1:3-1:0", "A1:x:0", "A1:0", "A1:1,1:0", "A1:-1:0"])
def test_bad_selections_are_parameter_errors(text):
    with pytest.raises(ParameterError, match="devices"):
        parse_devices(text, ARRAYS)


@given(st.text(max_size=20))
@settings(max_examples=300, deadline=None)
def test_any_selection_text_parses_or_is_refused_clearly(text):
    try:
        chosen = parse_devices(text, ARRAYS)
    except ParameterError as error:
        assert error.name == "devices"
    else:
        assert chosen and len(set(chosen)) == len(chosen)
        assert all(0 <= d.row < ARRAYS[d.array].rows and 0 <= d.col < ARRAYS[d.array].cols for d in chosen)


def test_parameters_are_converted_by_their_field_types():
    bench = small_bench()
    tuned, extras = build_settings(
        "tuning",
        ["target_s=2e-4", "successive_reads=4", "reset_first=yes", "preset=seed-002-log-step"],
        bench,
    )
    assert isinstance(tuned, AlibartSettings)
    assert (tuned.successive_reads, tuned.reset_first, tuned.strategy) == (4, True, "log-step")
    assert extras["target_s"] == 2e-4
    levels, _ = build_settings("multilevel", [], bench)
    assert levels.method == "tuning"  # a passive array is programmed by tuning


@pytest.mark.parametrize(
    ("pairs", "name"),
    [
        (["successive_reads=many"], "successive_reads"),
        (["colour=red"], "colour"),
        (["width_s=-1"], "width_s"),
        (["target_s=nan"], "target_s"),
        (["nonsense"], "nonsense"),
    ],
)
def test_bad_parameters_name_themselves(pairs, name):
    with pytest.raises(ParameterError) as error:
        build_settings("tuning", pairs, small_bench())
    assert error.value.name == name


def bench_file(tmp_path: Path) -> Path:
    path = tmp_path / "bench.toml"
    path.write_text(
        '[bench]\nname = "db-bench"\nseed = 3\n'
        '[sample]\nchip = "db-chip"\npreset = "tio2-passive-8x8"\n'
        "[sample.overrides]\nstuck_hrs_fraction = 0.0\nstuck_lrs_fraction = 0.0\n"
        '[[sample.arrays]]\nname = "A1"\nrows = 4\ncols = 4\n'
    )
    return path


def test_measure_runs_a_procedure_and_records_it(tmp_path, capsys):
    database = f"sqlite:///{tmp_path / 'm.db'}"
    argv = ["measure", "tuning", "--config", str(bench_file(tmp_path)), "--database", database]
    assert main([*argv, "--devices", "A1:0-1:0-1", "--param", "target_s=3e-4"]) == 0
    assert "run 1 completed on 4 devices" in capsys.readouterr().out
    engine = open_database(database)
    tuning = results(engine, "tuning", Selection(runs=[1]))
    assert len(tuning) == 4 and tuning["success"].all()
    assert main([*argv, "--param", "target_s=-3"]) == 2
    assert "parameter target_s" in capsys.readouterr().err


def test_measure_tunes_1t1r_devices_in_parallel_and_refuses_it_on_a_passive_array(tmp_path, capsys):
    path = tmp_path / "1t1r.toml"
    path.write_text(
        '[bench]\nname = "p-bench"\nseed = 3\n[sample]\nchip = "p-chip"\npreset = "hfo2-1t1r"\n'
        "[sample.overrides]\nvirgin_fraction = 0.0\nstuck_hrs_fraction = 0.0\nstuck_lrs_fraction = 0.0\n"
        '[[sample.arrays]]\nname = "M1"\nrows = 4\ncols = 4\n'
    )
    database = f"sqlite:///{tmp_path / 'p.db'}"
    wide = ["--param", "width_s=1e-6", "--param", "set_start_v=0.6", "--param", "set_stop_v=1.2"]
    wide += ["--param", "reset_start_v=-1.0", "--param", "reset_stop_v=-1.8", "--param", "target_s=1e-4"]
    argv = ["measure", "tuning", "--config", str(path), "--database", database, "--quiet", *wide]
    assert main([*argv, "--param", "parallel=true"]) == 0
    tuning = results(open_database(database), "tuning", Selection(runs=[1]))
    assert len(tuning) == 16 and tuning["success"].mean() > 0.9
    passive = ["measure", "tuning", "--config", str(bench_file(tmp_path)), "--database", database]
    assert main([*passive, "--param", "target_s=3e-4", "--param", "parallel=true"]) == 2
    assert "1T1R" in capsys.readouterr().err


def test_an_interrupted_run_is_marked_aborted_and_resumes_from_the_command_line(tmp_path, capsys):
    database = f"sqlite:///{tmp_path / 'r.db'}"
    engine = open_database(database)
    recorder = Recorder(engine, "db-bench", small_config().sample)
    bench = small_bench()

    def interrupted():
        finished = 0
        for record in tune_devices(bench, dict.fromkeys(targets(), 3e-4), AlibartSettings(), seed=3):
            yield record
            finished += getattr(record, "kind", None) == "tuning"
            if finished == 5:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), bench:
        recorder.record(interrupted())
    assert runs(engine)["status"].iloc[0] == "aborted"
    assert bench.source_level_v == 0.0 and not bench.output_enabled

    argv = ["measure", "tuning", "--config", str(bench_file(tmp_path)), "--database", database, "--quiet"]
    assert main([*argv, "--resume", "1", "--param", "target_s=3e-4"]) == 0
    assert "5 devices already done" in capsys.readouterr().err
    tuning = results(engine, "tuning", Selection(runs=[1]))
    assert sorted(zip(tuning["row"], tuning["col"], strict=True)) == sorted((d.row, d.col) for d in targets())
    assert runs(engine)["status"].iloc[0] == "completed"


def test_measure_runs_through_the_drivers_on_simulated_instruments(tmp_path, capsys):
    resources = {"matrix": "GPIB0::16::INSTR", "smu1": "GPIB0::26::INSTR", "smu2": "GPIB0::27::INSTR"}
    config = instruments_file(tmp_path, "@sim", resources, "instrument")
    database = f"sqlite:///{tmp_path / 'i.db'}"
    assert tune_with_wide_pulses(config, database, "A1:0:0-1") == 0
    tuning = results(open_database(database), "tuning")
    assert len(tuning) == 2 and tuning["success"].all()
    assert pulses(open_database(database))["width_s"].min() >= 1e-4


def test_measure_runs_over_tcp_to_the_instrument_server(tmp_path, capsys):
    placeholder = {"matrix": "x", "smu1": "x", "smu2": "x"}
    lab = simulated_lab(load_config(instruments_file(tmp_path, "@py", placeholder, "instrument")))
    with InstrumentServer(lab.emulators()) as server:
        config = instruments_file(tmp_path, "@py", server.resources, "instrument")
        database = f"sqlite:///{tmp_path / 't.db'}"
        assert tune_with_wide_pulses(config, database, "A1:2:2") == 0
    tuning = results(open_database(database), "tuning")
    assert len(tuning) == 1 and tuning["success"].all()
    assert lab.chip.now_s > 0  # the server's chip was the one programmed


def test_instruments_switched_off_mid_run_fail_it_keeping_every_record_and_it_resumes(tmp_path, capsys):
    placeholder = {"matrix": "x", "smu1": "x", "smu2": "x"}
    lab = simulated_lab(load_config(instruments_file(tmp_path, "@py", placeholder, "instrument")))
    server = InstrumentServer(lab.emulators()).start()
    pulses_given = []
    original = lab.smus["smu1"]._pulse

    def switching_off_after_10_pulses(*args: float) -> tuple[float, float]:
        reply = original(*args)
        pulses_given.append(args)
        if len(pulses_given) == 10:
            threading.Thread(target=server.stop).start()
        return reply

    lab.smus["smu1"]._pulse = switching_off_after_10_pulses
    database = f"sqlite:///{tmp_path / 'off.db'}"
    config = instruments_file(tmp_path, "@py", server.resources, "instrument")
    assert tune_with_wide_pulses(config, database, "A1:0-1:0-1") == 2
    assert re.search(r"labrram: error: (matrix|smu1|smu2): command .+ failed", capsys.readouterr().err)
    engine = open_database(database)
    assert runs(engine)["status"].iloc[0] == "failed"
    assert len(pulses(engine)) >= 9  # every pulse answered before the instruments went off

    fresh = simulated_lab(load_config(config))
    with InstrumentServer(fresh.emulators()) as restarted:
        config = instruments_file(tmp_path, "@py", restarted.resources, "instrument")
        assert tune_with_wide_pulses(config, database, "A1:0-1:0-1", "--resume", "1") == 0
    tuning = results(engine, "tuning", Selection(runs=[1]))
    assert sorted(zip(tuning["row"], tuning["col"], strict=True)) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert runs(engine)["status"].iloc[0] == "completed"


def test_the_readme_lists_every_procedure_parameter_as_the_code_has_them(capsys):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for name in PROCEDURES:
        assert f"**{name}**\n\n{markdown_table(name)}\n" in readme, name
    assert main(["measure", "tuning", "--list-params"]) == 0
    listed = capsys.readouterr().out
    assert re.search(r"^max_pulses\s+2000\s+pulse budget per device$", listed, re.MULTILINE)
    assert re.search(r"^target_s\s+S\s+None\s+target conductance$", listed, re.MULTILINE)
