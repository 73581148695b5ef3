"""The columnar path: the same records as the row queries, a Parquet cache of completed runs only."""

from __future__ import annotations

import numpy as np
import pytest

from labrram.bench import DeviceAddress
from labrram.db import Recorder, Selection, columnar, open_database, pulses, reads
from labrram.db.columnar import record_table
from labrram.records import Pulse, PulseKind, Read, RunStarted
from tests.db.helpers import small_config


def _stream(count: int, array: str = "A1"):
    devices = tuple(DeviceAddress(array, r, c) for r in range(2) for c in range(2))
    yield RunStarted("pulse_train", {}, devices)
    for i in range(count):
        device = devices[i % 4]
        compliance = None if i % 3 else 1e-4
        yield Pulse(device, i * 1e-3, 1.0 + i * 1e-3, 1e-7, PulseKind.SET, compliance, 2e-5 * i)
        yield Read(device, i * 1e-3 + 5e-4, 0.2, 4e-5, 2e-4 + i * 1e-7)


def test_columns_hold_what_the_row_queries_hold(database_url, tmp_path):
    engine = open_database(database_url)
    recorder = Recorder(engine, "db-bench", small_config().sample, batch_size=37)
    run_id = recorder.record(_stream(200))
    got = record_table(engine, "pulse", cache=tmp_path).to_pandas()
    expected = pulses(engine, Selection(runs=[run_id]))
    assert list(got["seq"]) == list(expected["seq"])
    assert list(got["amplitude_v"]) == list(expected["amplitude_v"])
    assert np.array_equal(np.isnan(got["compliance_a"]), expected["compliance_a"].isna())
    assert list(got["kind"]) == ["SET"] * 200
    read_columns = record_table(engine, "read", cache=tmp_path, columns=("seq", "conductance_s")).to_pandas()
    assert list(read_columns.columns) == ["seq", "conductance_s", "device_id"]
    assert list(read_columns["conductance_s"]) == list(
        reads(engine, Selection(runs=[run_id]))["conductance_s"]
    )


def test_completed_runs_come_from_the_cache_and_live_runs_never_do(database_url, tmp_path, monkeypatch):
    engine = open_database(database_url)
    done = Recorder(engine, "db-bench", small_config().sample).record(_stream(50))
    live = Recorder(engine, "db-bench", small_config().sample, batch_size=10)
    stream = _stream(50)
    for _ in range(41):  # RunStarted and 40 records: four batches committed, the run still running
        live.write(next(stream))
    first = record_table(engine, "read", cache=tmp_path)
    assert first.num_rows == 50 + 20
    fetched = []
    original = columnar._fetch_to_files
    monkeypatch.setattr(
        columnar, "_fetch_to_files", lambda e, t, paths: fetched.extend(paths) or original(e, t, paths)
    )
    for record in stream:
        live.write(record)
    live.flush()
    second = record_table(engine, "read", cache=tmp_path)
    assert fetched == [live.run_id]  # the completed run came from its Parquet file
    assert second.num_rows == 100
    assert record_table(engine, "read", Selection(runs=[done]), cache=False).num_rows == 50


def test_device_selections_filter_the_columns(database_url, tmp_path):
    engine = open_database(database_url)
    recorder = Recorder(engine, "db-bench", small_config().sample)
    recorder.record(_stream(40))
    table = record_table(engine, "pulse", Selection(devices=[(0, 1)]), cache=tmp_path)
    assert table.num_rows == 10
    assert record_table(engine, "pulse", Selection(array="B9"), cache=tmp_path).num_rows == 0


def test_an_unknown_table_or_column_is_refused(database_url):
    engine = open_database(database_url)
    with pytest.raises(Exception, match="'pulse' or 'read'"):
        record_table(engine, "tuning_result")
    with pytest.raises(Exception, match="no columns"):
        record_table(engine, "read", columns=("voltage",))
