"""Crash safety (SIGKILL mid-run, then resume) and four processes recording into one database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select, text

from labrram.db import Recorder, open_database, reads, results, runs, stale_runs
from labrram.db.models import ProcedureResult, PulseRecord, ReadRecord, TuningResult
from labrram.procedures.tuning import AlibartSettings, tune_devices
from tests.db.helpers import small_bench, small_config, targets

ROOT = Path(__file__).resolve().parents[2]


def child(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.db.recording_child", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def committed_reads(engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(ReadRecord))


def all_seqs(engine, run_id: int) -> list[int]:
    with engine.connect() as connection:
        seqs = []
        for model in (PulseRecord, ReadRecord, TuningResult, ProcedureResult):
            seqs += connection.scalars(select(model.seq).where(model.run_id == run_id)).all()
    return sorted(seqs)


def test_a_killed_recorder_loses_only_its_batch_in_flight_and_the_run_resumes(database_url):
    engine = open_database(database_url)
    process = child("tune", database_url, "0.0005")
    deadline = time.monotonic() + 60
    while committed_reads(engine) < 300:
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, "the child recorded nothing in 60 s"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    engine.dispose()
    engine = open_database(database_url)  # opens cleanly
    if database_url.startswith("sqlite"):
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    (run_id,) = runs(engine)["id"]
    seqs = all_seqs(engine, run_id)
    assert seqs == list(range(len(seqs)))  # whole batches only, nothing torn
    assert len(seqs) % 50 == 0
    stale = stale_runs(engine)
    assert list(stale["id"]) == [run_id]

    recorder = Recorder(engine, "db-bench", small_config().sample, batch_size=50)
    point = recorder.resume(run_id)
    assert point.next_seq == len(seqs)
    done_before = set(point.completed)
    recorder.record(tune_devices(small_bench(), targets(), AlibartSettings(), done=point.completed, seed=3))

    table = runs(engine)
    assert list(table["status"]) == ["completed"]
    tuning = results(engine, "tuning")
    devices = list(zip(tuning["row"], tuning["col"], strict=True))
    assert sorted(devices) == sorted((d.row, d.col) for d in targets())  # each device once
    seqs = all_seqs(engine, run_id)
    assert seqs == sorted(set(seqs))
    assert len(done_before) < len(targets())
    assert stale_runs(engine).empty


def test_four_processes_record_at_once_without_loss_or_duplicates(database_url):
    open_database(database_url)  # schema in place before the writers start
    count = 3000
    processes = [child("synthetic", database_url, str(count)) for _ in range(4)]
    outputs = [p.communicate(timeout=300) for p in processes]
    for process, (_out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
        assert "locked" not in err.lower()
    engine = open_database(database_url)
    table = runs(engine)
    assert len(table) == 4 and set(table["status"]) == {"completed"}
    frame = reads(engine)
    for run_id in table["id"]:
        mine = frame[frame["run_id"] == run_id]
        assert len(mine) == count
        assert mine["seq"].is_unique
        seqs = all_seqs(engine, run_id)
        assert seqs == list(range(2 * count + 16))
