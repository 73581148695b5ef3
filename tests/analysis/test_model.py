"""DeviceModel from a characterized simulated chip, on SQLite and PostgreSQL: fit, file, register, load."""

from __future__ import annotations

import json

import numpy as np
import pytest

from labrram.analysis.model import DeviceModel
from labrram.bench import DeviceAddress
from labrram.bench.factory import direct_simulated_bench
from labrram.config import parse_config
from labrram.db import Recorder, Selection, open_database
from labrram.db.device_models import device_models
from labrram.errors import AnalysisError, ModelFileError
from labrram.procedures.multilevel import MultilevelSettings, place_levels, program_levels
from labrram.procedures.program import array_programming
from labrram.procedures.pulse_train import PulseTrainSettings, pulse_trains
from labrram.procedures.retention import RetentionSettings, retention_test
from labrram.procedures.tuning import TUNING_PRESETS, tune_devices


def characterize(url: str) -> tuple:
    """A small characterization of a simulated TiO2 chip: every kind of run the model fits from."""
    config = parse_config(
        {
            "bench": {"name": "model-bench", "seed": 31},
            "sample": {
                "chip": "model-chip",
                "preset": "tio2-passive-8x8",
                "arrays": [{"name": f"A{i}", "rows": 8, "cols": 8} for i in range(1, 4)],
            },
        }
    )
    bench = direct_simulated_bench(config)
    engine = open_database(url)

    def record(stream) -> int:
        return Recorder(engine, config.name, config.sample).record(stream)

    a1 = [DeviceAddress("A1", r, c) for r in range(8) for c in range(8)]
    runs = {
        "train": record(
            pulse_trains(bench, a1[:8], PulseTrainSettings(set_count=40, reset_count=40, cycles=2))
        )
    }
    runs["tuning"] = [
        record(tune_devices(bench, dict.fromkeys(a1[8:24], g), TUNING_PRESETS["seed-002-from-off"]))
        for g in (150e-6, 250e-6, 350e-6, 450e-6)
    ]
    targets = np.random.default_rng(0).uniform(150e-6, 450e-6, (8, 8))
    runs["program"] = record(array_programming(bench, "A2", targets, TUNING_PRESETS["seed-002"]))
    a3 = [DeviceAddress("A3", r, c) for r in range(4) for c in range(8)]
    plan = place_levels(4, 150e-6, 450e-6)
    levels = {d: i % 4 for i, d in enumerate(a3)}
    runs["levels"] = record(program_levels(bench, levels, plan, MultilevelSettings(method="tuning")))
    runs["retention"] = record(
        retention_test(bench, a3, RetentionSettings(duration_s=1e4, first_s=1.0, points=7))
    )
    return engine, runs


@pytest.fixture(scope="module")
def characterized(tmp_path_factory):
    return characterize(f"sqlite:///{tmp_path_factory.mktemp('model') / 'db.sqlite'}")


def test_every_component_is_fitted_from_its_own_runs(characterized):
    engine, runs = characterized
    model = DeviceModel.from_database(engine)
    assert set(model.components()) == {
        "jump_table",
        "tuning",
        "disturbance",
        "stuck",
        "levels",
        "retention",
        "read_noise",
    }
    provenance = model.provenance["runs"]
    assert provenance["jump_table"] == [runs["train"]]
    assert provenance["tuning"] == sorted([*runs["tuning"], runs["program"]])
    assert provenance["disturbance"] == [runs["program"]]
    assert provenance["levels"] == [runs["levels"]]
    assert provenance["retention"] == [runs["retention"]]
    assert model.scheme == {
        "order": "column-major",
        "array_rows": 8,
        "array_cols": 8,
        "array_kind": "0T1R",
        "tolerance": 0.01,
    }
    low, high = model.window_s
    assert 100e-6 < low < 200e-6 and 400e-6 < high < 500e-6
    # Seed 002 tunes from the off state to a negative mean offset; the spread is ~0.5% (1% band).
    assert 0.001 < model.tuning.sigma_rel(300e-6) < 0.01
    assert model.levels.count == 4


def test_a_selection_limits_what_is_fitted_and_says_what_is_missing(characterized):
    engine, runs = characterized
    model = DeviceModel.from_database(engine, Selection(runs=runs["tuning"]))
    assert set(model.components()) == {"tuning", "read_noise"}
    assert any(note.startswith("disturbance: no data") for note in model.notes)
    with pytest.raises(AnalysisError, match="nothing in the selection"):
        DeviceModel.from_database(engine, Selection(chip="no-such-chip"))


def test_the_model_file_round_trips_and_samples_the_same(characterized, tmp_path):
    engine, _ = characterized
    model = DeviceModel.from_database(engine, window_s=(120e-6, 480e-6))
    path = tmp_path / "model.json"
    model.save(path)
    loaded = DeviceModel.load(path)
    assert loaded.window_s == (120e-6, 480e-6)
    assert json.loads(path.read_text())["payload"] == json.loads(json.dumps(model.to_dict()))
    g = np.linspace(150e-6, 450e-6, 50)
    for original, copy in ((model, loaded),):
        assert np.array_equal(
            original.tuning.sample(g, np.random.default_rng(1)),
            copy.tuning.sample(g, np.random.default_rng(1)),
        )
        n = np.arange(50) % 40
        assert np.array_equal(
            original.disturbance.sample(n, np.random.default_rng(2)),
            copy.disturbance.sample(n, np.random.default_rng(2)),
        )
        assert np.array_equal(
            original.jump_table.sample(g, "SET", np.random.default_rng(3)),
            copy.jump_table.sample(g, "SET", np.random.default_rng(3)),
        )


def test_loading_a_damaged_or_newer_model_fails_clearly(characterized, tmp_path):
    engine, _ = characterized
    path = tmp_path / "model.json"
    DeviceModel.from_database(engine).save(path)
    document = json.loads(path.read_text())
    document["format_version"] = 2
    path.write_text(json.dumps(document))
    with pytest.raises(ModelFileError, match="format version 2"):
        DeviceModel.load(path)
    path.write_bytes(b"\x00garbage")
    with pytest.raises(ModelFileError, match="not a readable"):
        DeviceModel.load(path)
    with pytest.raises(ModelFileError, match="cannot read"):
        DeviceModel.load(tmp_path / "absent.json")


def test_a_model_is_registered_with_its_provenance(database_url, tmp_path):
    engine, runs = characterize(database_url)
    model = DeviceModel.from_database(engine, components=("tuning", "disturbance", "stuck"))
    path = tmp_path / "m.json.gz"
    digest = model.save(path)
    model_id = model.register(engine, path, digest, name="chip-31")
    assert model.register(engine, path, digest, name="chip-31") == model_id  # once per file
    row = device_models(engine).set_index("id").loc[model_id]
    assert row["name"] == "chip-31" and row["file_sha256"] == digest and row["path"] == str(path.resolve())
    assert row["runs"]["disturbance"] == [runs["program"]]
    assert row["devices"] == 16 + 64 and row["summary"]["stuck_rate"]["HRS"] >= 0
    assert row["labrram_version"] and row["created_at"] is not None
