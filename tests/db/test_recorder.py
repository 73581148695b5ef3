"""The Recorder on both backends: round trip, run status, conflicts, queries and export."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import delete, func, select

from labrram.bench import DeviceAddress
from labrram.db import Recorder, Selection, export_run, open_database, pulses, reads, results, runs
from labrram.db.models import PulseRecord, ReadRecord, Run
from labrram.errors import DatabaseError, RecordConflictError
from labrram.procedures.tuning import AlibartSettings, tune_devices
from labrram.records import DeviceTrace, Pulse, PulseBlock, PulseKind, Read, ReadBlock, Result, RunStarted
from tests.db.helpers import small_bench, small_config, targets


def record_tuning(url: str, count: int = 4, batch_size: int = 100) -> tuple[int, list]:
    engine = open_database(url)
    recorder = Recorder(engine, "db-bench", small_config().sample, operator="ada", batch_size=batch_size)
    taken = []

    def stream():
        for record in tune_devices(small_bench(), targets(count), AlibartSettings(), seed=3):
            taken.append(record)
            yield record

    return recorder.record(stream()), taken


def test_every_pulse_read_and_result_comes_back_as_written(database_url):
    run_id, taken = record_tuning(database_url)
    engine = open_database(database_url)
    written_pulses = [r for r in taken if isinstance(r, Pulse)]
    written_reads = [r for r in taken if isinstance(r, Read)]
    written_results = [r for r in taken if isinstance(r, Result)]

    got = pulses(engine, Selection(runs=[run_id]))
    assert len(got) == len(written_pulses)
    assert list(got["amplitude_v"]) == [p.amplitude_v for p in written_pulses]
    assert list(got["kind"]) == [str(p.kind) for p in written_pulses]
    assert list(got["t_s"]) == [p.t_s for p in written_pulses]
    assert list(zip(got["row"], got["col"], strict=True)) == [
        (p.device.row, p.device.col) for p in written_pulses
    ]

    got_reads = reads(engine, Selection(runs=[run_id]))
    assert list(got_reads["conductance_s"]) == [r.conductance_s for r in written_reads]
    assert got_reads["seq"].is_monotonic_increasing

    tuning = results(engine, "tuning", Selection(runs=[run_id]))
    assert list(tuning["achieved_s"]) == [r.values["achieved_s"] for r in written_results]
    assert list(tuning["pulses"]) == [r.values["pulses"] for r in written_results]
    assert tuning["extra"].iloc[0]["settings"]["tolerance"] == 0.01

    run = runs(engine).set_index("id").loc[run_id]
    assert run["status"] == "completed" and run["procedure"] == "tuning"
    assert run["operator"] == "ada" and run["seed"] == 3 and run["chip"] == "db-chip"


def test_selections_filter_by_device_kind_and_procedure(database_url):
    run_id, taken = record_tuning(database_url)
    engine = open_database(database_url)
    one = pulses(engine, Selection(devices=[(1, 0)]))
    assert set(zip(one["row"], one["col"], strict=True)) == {(1, 0)}
    resets = pulses(engine, Selection(runs=[run_id]), kind="RESET")
    assert set(resets["kind"]) <= {"RESET"}
    assert len(resets) == sum(isinstance(r, Pulse) and r.kind is PulseKind.RESET for r in taken)
    assert pulses(engine, Selection(procedure="forming")).empty
    chunks = list(reads(engine, Selection(runs=[run_id]), chunk_rows=50))
    assert all(len(c) <= 50 for c in chunks)
    assert sum(len(c) for c in chunks) == sum(isinstance(r, Read) for r in taken)


def test_a_failing_procedure_marks_the_run_failed_and_keeps_its_records(database_url):
    engine = open_database(database_url)
    recorder = Recorder(engine, "db-bench", small_config().sample, batch_size=7)
    device = DeviceAddress("A1", 0, 0)

    def broken():
        yield RunStarted("tuning", {}, (device,))
        for i in range(10):
            yield Read(device, float(i), 0.2, 2e-5, 1e-4)
        raise RuntimeError("bench fell over")

    with pytest.raises(RuntimeError, match="fell over"):
        recorder.record(broken())
    table = runs(engine)
    assert table["status"].iloc[0] == "failed"
    assert "bench fell over" in table["message"].iloc[0]
    assert len(reads(engine)) == 10


def test_ctrl_c_marks_the_run_aborted(database_url):
    engine = open_database(database_url)
    recorder = Recorder(engine, "db-bench", small_config().sample)
    device = DeviceAddress("A1", 0, 0)

    def interrupted():
        yield RunStarted("tuning", {}, (device,))
        yield Read(device, 0.0, 0.2, 2e-5, 1e-4)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        recorder.record(interrupted())
    assert runs(engine)["status"].iloc[0] == "aborted"
    assert len(reads(engine)) == 1


def test_writing_a_sequence_number_twice_is_a_clear_conflict(database_url):
    engine = open_database(database_url)
    first = Recorder(engine, "db-bench", small_config().sample, batch_size=1)
    device = DeviceAddress("A1", 0, 0)
    first.write(RunStarted("tuning", {}, (device,)))
    first.write(Read(device, 0.0, 0.2, 2e-5, 1e-4))
    second = Recorder(engine, "db-bench", small_config().sample, batch_size=1)
    second.resume(first.run_id)
    second._next_seq = 0  # a buggy writer re-using a committed number
    with pytest.raises(RecordConflictError, match="already recorded"):
        second.write(Read(device, 1.0, 0.2, 2e-5, 1e-4))
    assert len(reads(engine)) == 1


def test_records_for_a_run_that_vanished_are_refused(database_url):
    engine = open_database(database_url)
    recorder = Recorder(engine, "db-bench", small_config().sample, batch_size=2)
    device = DeviceAddress("A1", 0, 0)
    recorder.write(RunStarted("tuning", {}, (device,)))
    with engine.begin() as connection:
        connection.execute(delete(Run).where(Run.id == recorder.run_id))
    recorder.write(Pulse(device, 0.0, 1.0, 1e-6, PulseKind.SET, None, 1e-4))
    with pytest.raises(RecordConflictError, match="nothing of it was written"):
        recorder.write(Read(device, 0.0, 0.2, 2e-5, 1e-4))
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(PulseRecord)) == 0


def test_nan_in_result_values_is_stored_as_null_json(database_url):
    engine = open_database(database_url)
    recorder = Recorder(engine, "db-bench", small_config().sample)
    device = DeviceAddress("A1", 1, 1)
    records = [
        RunStarted("forming", {}, (device,)),
        Result(device, "forming", {"success": False, "forming_voltage_v": math.nan, "pulses": 3}),
    ]
    recorder.record(records)
    other = results(engine, "other")
    assert other["values"].iloc[0] == {"success": False, "forming_voltage_v": None, "pulses": 3}


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_export_writes_a_run_as_files(database_url, tmp_path, fmt):
    run_id, taken = record_tuning(database_url, count=2)
    engine = open_database(database_url)
    paths = export_run(engine, run_id, tmp_path, fmt)
    names = {p.name for p in paths}
    assert {
        f"run{run_id}_pulses.{fmt}",
        f"run{run_id}_reads.{fmt}",
        f"run{run_id}_results_tuning.{fmt}",
    } <= names
    reader = pd.read_parquet if fmt == "parquet" else pd.read_csv
    exported = reader(tmp_path / f"run{run_id}_reads.{fmt}")
    assert len(exported) == sum(isinstance(r, Read) for r in taken)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(ReadRecord)) == len(exported)


def test_records_on_an_array_the_sample_lacks_are_refused(database_url):
    engine = open_database(database_url)
    recorder = Recorder(engine, "db-bench", small_config().sample)
    stranger = DeviceAddress("Z9", 0, 0)
    with pytest.raises(DatabaseError, match="Z9"):
        recorder.record([RunStarted("tuning", {}, (stranger,))])


@pytest.mark.parametrize("batch_size", [1, 3, 100])
def test_blocks_are_stored_as_the_records_they_stand_for(database_url, batch_size):
    engine = open_database(database_url)
    devices = tuple(DeviceAddress("A1", r, c) for r, c in ((0, 0), (1, 2), (3, 3)))
    trace = DeviceTrace(
        devices[0],
        np.array([0, 1, 0, -1, 0], dtype=np.int8),
        np.array([3e-5, 4e-5, 5e-5, 6e-5, 7e-5]),
        np.array([0.2, 1.3, 0.2, -1.6, 0.2]),
        np.array([7e-5, 2e-4, 8e-5, -3e-4, 6e-5]),
        2e-7,
        1e-3,
    )
    blocks = [
        ReadBlock(devices, 0.0, 0.2, np.array([2e-5, 3e-5, 4e-5])),
        PulseBlock(devices[:2], 1e-5, np.array([1.2, -1.5]), 2e-7, None, np.array([1e-4, -2e-4])),
        ReadBlock(devices[1:], 2e-5, 0.2, np.array([5e-5, 6e-5])),
        trace,
    ]
    expanded = [record for block in blocks for record in block.records()]
    run_ids = []
    for stream in (blocks, expanded):
        recorder = Recorder(engine, "db-bench", small_config().sample, batch_size=batch_size)
        run_ids.append(recorder.record([RunStarted("tuning", {}, devices), *stream]))
    tables = [
        (
            frame(engine, Selection(runs=[run_id]))
            .drop(columns=["run_id", "id"], errors="ignore")
            .reset_index(drop=True)
        )
        for run_id in run_ids
        for frame in (pulses, reads)
    ]
    pd.testing.assert_frame_equal(tables[0], tables[2])  # pulses
    pd.testing.assert_frame_equal(tables[1], tables[3])  # reads
    assert list(tables[1]["seq"]) == [0, 1, 2, 5, 6, 7, 9, 11]  # one sequence number per row, in order
    assert list(tables[0]["seq"]) == [3, 4, 8, 10]
    assert list(tables[0]["kind"]) == ["SET", "RESET", "SET", "RESET"]
