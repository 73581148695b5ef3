"""Importers: the long format round-trips; the shared measured sets load and fit to their known figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labrram.analysis.model import DeviceModel
from labrram.db import Selection, open_database, pulses, reads, results, runs
from labrram.errors import ImportFormatError
from labrram.importers import import_file

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
needs_data = pytest.mark.skipif(
    not DATA.exists(), reason="the shared measured data (../shared/data) is absent"
)


def _long_frame() -> pd.DataFrame:
    rows = []
    t = 0.0
    for run in ("a", "b"):
        for device in range(3):
            g = 150e-6 + 50e-6 * device
            rows.append(dict(run=run, kind="read", amplitude_v=0.2, conductance_s=g, device=device, t=t))
            for _ in range(4):
                t += 1e-3
                rows.append(dict(run=run, kind="pulse", amplitude_v=1.1, width_s=1e-6, device=device, t=t))
                g += 2e-6
                t += 1e-3
                rows.append(
                    dict(run=run, kind="read", amplitude_v=0.2, current_a=0.2 * g, device=device, t=t)
                )
    frame = pd.DataFrame(rows)
    return frame.assign(chip="long-chip", array="X1", row=0, col=frame.pop("device"), t_s=frame.pop("t"))


def test_the_long_format_round_trips_through_the_database(tmp_path):
    frame = _long_frame()
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    run_ids = import_file(engine, path, "long")
    assert len(run_ids) == 2
    table = runs(engine).set_index("id")
    assert list(table.loc[run_ids, "procedure"]) == ["imported_pulses"] * 2
    got_reads = reads(engine, Selection(runs=run_ids))
    expected = frame[frame["kind"] == "read"]
    g = expected["conductance_s"].fillna(expected["current_a"] / 0.2)
    assert np.allclose(got_reads["conductance_s"], g.to_numpy(), rtol=1e-12)
    got_pulses = pulses(engine, Selection(runs=run_ids))
    assert list(got_pulses["kind"]) == ["SET"] * 24 and set(got_pulses["width_s"]) == {1e-6}
    # The imported pulses are jump-table material: each step is +2 uS.
    model = DeviceModel.from_database(engine, components=("jump_table",))
    assert model.jump_table.curves("SET")["median_s"] == pytest.approx(2e-6, rel=1e-6)


def test_a_bad_long_file_names_the_problem(tmp_path):
    frame = _long_frame()
    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    path = tmp_path / "bad.csv"
    frame.drop(columns=["t_s"]).to_csv(path, index=False)
    with pytest.raises(ImportFormatError, match="missing columns t_s"):
        import_file(engine, path, "long")
    frame.assign(kind="pulse-ish").to_csv(path, index=False)
    with pytest.raises(ImportFormatError, match="'pulse' or 'read'"):
        import_file(engine, path, "long")
    broken = frame.copy()
    broken.loc[1, "width_s"] = np.nan
    broken.to_csv(path, index=False)
    with pytest.raises(ImportFormatError, match="line 3: a pulse needs a positive width_s"):
        import_file(engine, path, "long")
    with pytest.raises(ImportFormatError, match="unknown format"):
        import_file(engine, path, "arc-one")


@needs_data
def test_drolet_disturbance_and_stuck_maps_fit_to_the_published_figures(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    import_file(engine, DATA / "drolet-tio2-xbar" / "disturbance_by_order_long.csv", "drolet-disturbance")
    import_file(engine, DATA / "drolet-tio2-xbar" / "HRS-LRS-failure-data", "drolet-stuck")
    model = DeviceModel.from_database(engine, window_s=(100e-6, 500e-6))
    rows = {row["n_first"]: row for row in model.disturbance.table()}
    # REFERENCE.md's table from the same file: sd 6.7 / 10.5 / 12.1 / 14.8 / 18.5 uS at N = 1/5/10/20/30.
    for n, sd_us in ((1, 6.7), (5, 10.5), (10, 12.1), (20, 14.8), (30, 18.5)):
        assert rows[n]["sd_s"] * 1e6 == pytest.approx(sd_us, abs=0.05)
    assert rows[1]["values"] == 1259 and rows[1]["form"] == "empirical"
    stuck = model.stuck
    assert stuck.devices == 320 and stuck.stuck["HRS"] + stuck.stuck["LRS"] == 270
    assert results(engine, "other", Selection(chip="drolet-tio2-xbar"))["kind"].value_counts()["stuck"] == 270


@needs_data
def test_levy_relaxation_and_bakes_give_drift_spread_and_an_activation_energy(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    import_file(engine, DATA / "levy-rram-relaxation" / "techB_relaxation.csv", "levy-relaxation")
    import_file(engine, DATA / "levy-rram-relaxation" / "techB_bake.csv", "levy-bake")
    retention = DeviceModel.from_database(engine, components=("retention",)).retention
    assert len(retention.levels) == 8
    # Levy tech B: the least stable levels (a third of the window, ~40 uS of 128) spread most, to
    # ~11 uS at 1e4 s (the hfo2-1t1r preset's calibration target, 10.7 uS).
    spreads = {round(row["g0_s"] * 1e6): row["sd_s"] * 1e6 for row in retention.extrapolate(1e4)}
    widest = max(spreads, key=spreads.get)
    assert 25 <= widest <= 60 and 8 < spreads[widest] < 14
    assert retention.activation_energy_ev is not None and 1.0 < retention.activation_energy_ev < 6.0
    assert any("1000x the longest" in flag for flag in retention.flags)


@needs_data
def test_stanford_sets_give_jump_tables_and_levels(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    set_runs = import_file(engine, DATA / "stanford-1t1r-nirram" / "set_pulse_sweep.csv", "stanford-set")
    import_file(engine, DATA / "stanford-1t1r-nirram" / "mlc_read_good.csv", "stanford-mlc")
    import_file(engine, DATA / "stanford-1t1r-nirram" / "endurance_slow.csv", "stanford-endurance")
    assert len(set_runs) == 30  # one per word-line voltage, 0.5-3.4 V
    levels = DeviceModel.from_database(engine, components=("levels",)).levels
    assert levels.count == 32
    # The notebook's "good" cells: levels climb 4 uS a step, the lowest two not told apart.
    assert np.corrcoef(np.arange(32), levels.means_s)[0, 1] > 0.99
    assert np.sum(np.diff(levels.means_s) > 0) >= 30
    # Strong gates and the longest pulses switch cells from HRS: the jump-table's SET median is positive.
    strong = [
        r for r, v in zip(runs(engine)["id"], range(len(runs(engine))), strict=True) if r in set_runs[-10:]
    ]
    table = DeviceModel.from_database(
        engine,
        Selection(runs=strong),
        components=("jump_table",),
        jump_table_options={"bins": 5, "pool_conditions": True},
    ).jump_table
    assert np.median(table.curves("SET")["median_s"]) > 0
    assert len(results(engine, "endurance", Selection())) > 500
