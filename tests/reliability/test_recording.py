"""The Recorder under interruption and failure: a batch cut short by Ctrl-C is kept, a live run keeps its
heartbeat and cannot be taken over, and a database lost or read-only mid-run is one line, records kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

import labrram.db.recorder as recorder_module
from labrram.cli import main
from labrram.db import Recorder, Selection, open_database, pulses, reads, runs, stale_runs
from labrram.errors import DatabaseError
from labrram.procedures.tuning import AlibartSettings, tune_devices
from labrram.records import RunStarted
from tests.db.helpers import small_bench, small_config, targets
from tests.test_measure import bench_file

ROOT = Path(__file__).resolve().parents[2]


def tuning_records():
    return tune_devices(small_bench(), targets(4), AlibartSettings(), seed=3)


@pytest.mark.parametrize("when", ["before the commit", "after the commit"])
def test_ctrl_c_during_a_batch_write_keeps_the_batch(database_url, monkeypatch, when):
    engine = open_database(database_url)
    recorder = Recorder(engine, "db-bench", small_config().sample, batch_size=40)
    original = Recorder._write_batch
    calls = []

    def interrupted_write(self, batch, first_seq):
        calls.append(first_seq)
        if len(calls) == 2 and when == "before the commit":
            raise KeyboardInterrupt
        original(self, batch, first_seq)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the commit went through, the caller never heard

    monkeypatch.setattr(Recorder, "_write_batch", interrupted_write)
    taken = []

    def stream():
        for record in tuning_records():
            taken.append(record)
            yield record

    with pytest.raises(KeyboardInterrupt):
        recorder.record(stream())
    assert runs(engine)["status"].iloc[0] == "aborted"
    stored = len(pulses(engine)) + len(reads(engine))
    assert stored == sum(type(r).__name__ in ("Pulse", "Read") for r in taken)  # every one taken, once


def test_records_are_committed_within_flush_after_s_even_in_a_small_batch(database_url):
    engine = open_database(database_url)
    recorder = Recorder(engine, "db-bench", small_config().sample, batch_size=10_000, flush_after_s=0.2)
    records = iter(tuning_records())
    recorder.write(next(records))  # RunStarted
    recorder.write(next(records))
    time.sleep(0.25)
    recorder.write(next(records))  # the oldest waited long enough: both go in
    assert len(pulses(engine)) + len(reads(engine)) == 2


def test_a_quiet_live_run_keeps_its_heartbeat(database_url, monkeypatch):
    monkeypatch.setattr(recorder_module, "HEARTBEAT_S", 0.05)
    engine = open_database(database_url)
    recorder = Recorder(engine, "db-bench", small_config().sample)

    def quiet():
        yield RunStarted("retention", {}, tuple(targets(2)))
        first = runs(engine)["heartbeat_at"].iloc[0]
        time.sleep(0.5)  # a long wait writes no record
        assert runs(engine)["heartbeat_at"].iloc[0] > first
        assert stale_runs(engine, stale_after_s=0.3).empty

    recorder.record(quiet())


def test_a_live_run_in_another_process_cannot_be_resumed(database_url, tmp_path, capsys):
    engine = open_database(database_url)
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.db.recording_child", "tune", database_url, "0.05"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while runs(engine).empty:
            assert child.poll() is None and time.monotonic() < deadline, child.stderr.read()
            time.sleep(0.05)
        with pytest.raises(DatabaseError, match="is live"):
            Recorder(engine, "db-bench", small_config().sample).resume(1)
        argv = ["measure", "tuning", "--config", str(bench_file(tmp_path)), "--database", database_url]
        assert main([*argv, "--resume", "1", "--param", "target_s=2e-4"]) == 2
        assert "is live" in capsys.readouterr().err
        assert runs(engine)["status"].iloc[0] == "running"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert list(stale_runs(engine)["id"]) == [1]  # its process gone: now it may be resumed


def test_a_database_lost_mid_run_is_one_line_and_the_run_resumes(postgres_url, tmp_path, capsys, monkeypatch):
    name = postgres_url.rsplit("/", 1)[1]
    admin = create_engine(postgres_url.rsplit("/", 1)[0] + "/test", isolation_level="AUTOCOMMIT")
    engine = open_database(postgres_url)
    original = Recorder.write
    written = []

    def losing_the_server(self, record):
        original(self, record)
        self.flush()  # each record committed as it comes
        written.append(record)
        if len(written) == 30:
            with admin.connect() as connection:
                connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
                connection.execute(
                    text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
                )

    monkeypatch.setattr(Recorder, "write", losing_the_server)
    argv = ["measure", "tuning", "--config", str(bench_file(tmp_path)), "--database", postgres_url, "--quiet"]
    argv += ["--devices", "A1:0:0-3", "--param", "target_s=2e-4"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("labrram: error:") and "\n" not in err and "connections" in err
    with admin.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    admin.dispose()
    engine.dispose()
    stored = pulses(engine, Selection(runs=[1]))
    assert len(stored) + len(reads(engine)) >= 28  # what was committed before the server went
    monkeypatch.setattr(Recorder, "write", original)
    assert runs(engine)["status"].iloc[0] == "running"  # nobody could mark it
    assert main([*argv, "--resume", "1"]) == 0
    assert runs(engine)["status"].iloc[0] == "completed"


def test_a_read_only_postgresql_database_is_one_line(postgres_url, tmp_path, capsys):
    name = postgres_url.rsplit("/", 1)[1]
    open_database(postgres_url).dispose()
    with create_engine(postgres_url, isolation_level="AUTOCOMMIT").connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    argv = ["measure", "iv", "--config", str(bench_file(tmp_path)), "--database", postgres_url, "--quiet"]
    assert main([*argv, "--devices", "A1:0:0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("labrram: error:") and "\n" not in err and "read-only" in err


def test_a_read_only_sqlite_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "locked.db"
    open_database(f"sqlite:///{path}").dispose()
    for side in path.parent.glob("locked.db-*"):
        side.unlink()
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("this file system cannot make a file immutable")
    try:
        argv = ["measure", "iv", "--config", str(bench_file(tmp_path)), "--database", f"sqlite:///{path}"]
        assert main([*argv, "--quiet", "--devices", "A1:0:0"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("labrram: error:") and "\n" not in err and "readonly" in err.replace("-", "")
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)
