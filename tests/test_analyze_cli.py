"""``labrram analyze`` and ``labrram db import`` from the command line, on a database measured by CLI."""

from __future__ import annotations

import json
import re
import tomllib

import pandas as pd
import pytest

from labrram.analysis.jumptable import JumpTable
from labrram.analysis.model import DeviceModel
from labrram.cli import main
from labrram.config import load_config
from labrram.db import open_database
from labrram.db.device_models import device_models


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> str:
    """A database with a pulse-train run, two tuning runs and an array-programming run."""
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'measured.db'}"
    common = ["--database", url, "--quiet"]
    train = ["--param", "set_count=30", "--param", "reset_count=30"]
    assert main(["measure", "pulse-train", "--devices", "A1:0:0-3", *train, *common]) == 0
    for target in ("2e-4", "4e-4"):
        assert (
            main(["measure", "tuning", "--devices", "A1:1:0-7", "--param", f"target_s={target}", *common])
            == 0
        )
    assert main(["measure", "program-array", "--devices", "A1", *common]) == 0
    return url


def test_analyze_model_writes_the_file_the_plots_and_registers_it(measured, tmp_path, capsys):
    out = tmp_path / "models" / "tio2.json"
    assert main(["analyze", "model", "--database", measured, "--out", str(out), "--bins", "20"]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"registered as device model \d+", printed)
    assert "tuning imprecision: sigma/G" in printed and "disturbance by order" in printed
    model = DeviceModel.load(out)
    assert {"jump_table", "tuning", "disturbance", "stuck", "read_noise"} <= set(model.components())
    plots = sorted(p.name for p in out.parent.glob("*.png"))
    assert plots == ["tio2-disturbance.png", "tio2-jump-table.png", "tio2-read-noise.png", "tio2-tuning.png"]
    registered = device_models(open_database(measured))
    assert registered["path"].iloc[-1] == str(out.resolve())


def test_analyze_jumptable_and_distributions_on_a_selection(measured, tmp_path, capsys):
    table_file = tmp_path / "jt.json"
    assert (
        main(
            [
                "analyze",
                "jumptable",
                "--database",
                measured,
                "--out",
                str(table_file),
                "--bins",
                "10",
                "--crosssim-out",
                str(tmp_path / "cs"),
            ]
        )
        == 0
    )
    table = JumpTable.load(table_file)
    assert set(table.responses) == {"SET", "RESET"} and table.responses["SET"].bins == 10
    assert (tmp_path / "cs" / "dG_increasing.csv").exists() and (tmp_path / "jt-jump-table.png").exists()
    dist = tmp_path / "dist.json"
    assert (
        main(
            [
                "analyze",
                "distributions",
                "--database",
                measured,
                "--runs",
                "2-3",
                "--out",
                str(dist),
                "--no-plots",
            ]
        )
        == 0
    )
    model = DeviceModel.load(dist)
    assert (
        model.jump_table is None
        and model.tuning is not None
        and model.provenance["selection"]["runs"] == [2, 3]
    )
    assert not list(tmp_path.glob("dist-*.png"))
    capsys.readouterr()
    assert (
        main(["analyze", "model", "--database", measured, "--runs", "9", "--out", str(tmp_path / "x.json")])
        == 2
    )
    assert "nothing in the selection could be fitted" in capsys.readouterr().err
    assert (
        main(
            ["analyze", "model", "--database", measured, "--window", "5,1", "--out", str(tmp_path / "x.json")]
        )
        == 2
    )
    assert "parameter window" in capsys.readouterr().err


def test_db_import_loads_a_long_file_that_analyze_then_fits(tmp_path, capsys):
    rows = []
    for device in range(4):
        g = 100e-6 + 30e-6 * device
        rows.append({"kind": "read", "amplitude_v": 0.2, "conductance_s": g, "col": device})
        for _ in range(30):
            rows.append({"kind": "pulse", "amplitude_v": -1.0, "width_s": 1e-6, "col": device})
            g -= 1e-6
            rows.append({"kind": "read", "amplitude_v": 0.2, "conductance_s": g, "col": device})
    frame = pd.DataFrame(rows).assign(chip="lab-chip", array="X", row=0, t_s=lambda f: f.index * 1e-3)
    source = tmp_path / "lab.parquet"
    frame.to_parquet(source)
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    assert (
        main(["db", "import", str(source), "--format", "long", "--database", url, "--operator", "ada"]) == 0
    )
    assert "1 run(s) 1" in capsys.readouterr().out
    out = tmp_path / "lab.json"
    assert main(["analyze", "jumptable", "--database", url, "--out", str(out), "--bins", "4"]) == 0
    payload = json.loads(out.read_text())["payload"]
    assert list(payload["responses"]) == ["RESET"]
    assert JumpTable.load(out).curves("RESET")["median_s"] == pytest.approx(-1e-6, rel=1e-6)
    assert main(["db", "import", str(source), "--format", "levy-bake", "--database", url]) == 2
    assert "missing columns" in capsys.readouterr().err


def test_fit_writes_overrides_that_a_bench_file_takes(measured, tmp_path, capsys):
    out = tmp_path / "fit.toml"
    command = ["fit", "--preset", "tio2-passive-8x8", "--database", measured, "--out", str(out)]
    assert main([*command, "--window", "data", "--bootstrap", "20"]) == 0
    printed = capsys.readouterr().out
    assert "tio2-passive-8x8@2 (steps) fitted to 4 devices" in printed and "set_state_exponent" in printed
    bench = tmp_path / "bench.toml"
    bench.write_text(
        '[bench]\nname = "b"\n[sample]\nchip = "c"\npreset = "tio2-passive-8x8"\nfitted = "fit.toml"\n'
    )
    fitted = load_config(bench).sample.parameters
    written = tomllib.loads(out.read_text())["sample"]["overrides"]
    assert fitted.set_state_exponent == pytest.approx(written["set_state_exponent"])


def test_fit_without_pulse_trains_says_what_is_missing(tmp_path, capsys):
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    assert (
        main(["fit", "--preset", "tio2-passive-8x8", "--database", empty, "--out", str(tmp_path / "f.toml")])
        == 2
    )
    assert "no SET or RESET pulse" in capsys.readouterr().err
