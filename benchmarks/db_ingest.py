"""Record ingest through the Recorder against the raw driver, and a 10^6-read query into pandas.

SQLite: the Recorder (records -> batches -> executemany, heartbeat, one transaction per batch) against
raw ``sqlite3.executemany`` of the same rows into the same table in transactions of the same size, each
into a fresh database file, twice in alternation (best of two).
PostgreSQL (when 127.0.0.1:5432 answers): the Recorder (COPY) against a raw psycopg COPY of the same
rows. Goal for both: >= 0.7x of the raw rate. Then 10^6 reads are queried into a DataFrame through
`labrram.db.reads`, against a raw DBAPI cursor fetch into a DataFrame.

    python benchmarks/db_ingest.py [--records 200000] [--query-rows 1000000]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

import pandas as pd
import psycopg
from sqlalchemy import create_engine, text

from labrram.bench import DeviceAddress
from labrram.config import parse_config
from labrram.db import Recorder, Selection, open_database, reads
from labrram.db.recorder import PULSE_COLUMNS, READ_COLUMNS
from labrram.records import Pulse, PulseKind, Read, Record, RunStarted

BATCH = 5000
POSTGRES = "postgresql://postgres@127.0.0.1:5432"


def sample():
    config = parse_config(
        {
            "bench": {"name": "bench-b", "seed": 1},
            "sample": {"chip": "bench-chip", "preset": "tio2-passive-8x8"},
        }
    )
    return config.sample


def make_records(count: int) -> list[Record]:
    devices = [DeviceAddress("A1", r, c) for r in range(8) for c in range(8)]
    records: list[Record] = [RunStarted("ingest", {}, tuple(devices))]
    for i in range(count // 2):
        device = devices[i % 64]
        records.append(Pulse(device, i * 1e-6, 1.2, 2e-7, PulseKind.SET, None, 1e-4))
        records.append(Read(device, i * 1e-6 + 5e-7, 0.2, 4e-5, 2e-4))
    return records


def rows_of(records: list[Record], run_id: int, device_id: int) -> tuple[list[tuple], list[tuple]]:
    pulses, read_rows = [], []
    for seq, r in enumerate(records[1:]):
        if isinstance(r, Pulse):
            pulses.append((run_id, device_id, seq, r.t_s, r.amplitude_v, r.width_s, "SET", None, r.current_a))
        else:
            read_rows.append((run_id, device_id, seq, r.t_s, r.voltage_v, r.current_a, r.conductance_s))
    return pulses, read_rows


def batches(pulses: list[tuple], read_rows: list[tuple]):
    for start in range(0, len(pulses), BATCH // 2):
        yield pulses[start : start + BATCH // 2], read_rows[start : start + BATCH // 2]


def recorder_seconds(url: str, records: list[Record]) -> tuple[float, int]:
    engine = open_database(url)
    recorder = Recorder(engine, "bench-b", sample(), batch_size=BATCH)
    start = time.perf_counter()
    run_id = recorder.record(records)
    return time.perf_counter() - start, run_id


def sqlite_raw_seconds(path: Path, records: list[Record]) -> float:
    """Raw executemany into a fresh database at head (its run and devices made first, untimed)."""
    _, run_id = recorder_seconds(f"sqlite:///{path}", records[:1])
    pulses, read_rows = rows_of(records, run_id, 1)
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    insert_pulse = (
        f"INSERT INTO pulse ({', '.join(PULSE_COLUMNS)}) VALUES ({', '.join('?' * len(PULSE_COLUMNS))})"
    )
    insert_read = (
        f"INSERT INTO read ({', '.join(READ_COLUMNS)}) VALUES ({', '.join('?' * len(READ_COLUMNS))})"
    )
    start = time.perf_counter()
    for pulse_batch, read_batch in batches(pulses, read_rows):
        connection.execute("BEGIN")
        connection.executemany(insert_pulse, pulse_batch)
        connection.executemany(insert_read, read_batch)
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed


def postgres_raw_seconds(url: str, records: list[Record], run_id: int) -> float:
    pulses, read_rows = rows_of(records, run_id, 1)
    with psycopg.connect(url) as connection:
        connection.execute("DELETE FROM pulse")
        connection.execute("DELETE FROM read")
        connection.commit()
        start = time.perf_counter()
        for pulse_batch, read_batch in batches(pulses, read_rows):
            with connection.cursor() as cursor:
                with cursor.copy(f"COPY pulse ({', '.join(PULSE_COLUMNS)}) FROM STDIN") as copy:
                    for row in pulse_batch:
                        copy.write_row(row)
                with cursor.copy(f"COPY read ({', '.join(READ_COLUMNS)}) FROM STDIN") as copy:
                    for row in read_batch:
                        copy.write_row(row)
            connection.commit()
        return time.perf_counter() - start


def query_figures(url: str, rows: int) -> tuple[float, float]:
    """(labrram.db.reads seconds, raw cursor fetch seconds) for ``rows`` reads."""
    records = make_records(2 * rows)
    _, run_id = recorder_seconds(url, records)
    engine = open_database(url)
    start = time.perf_counter()
    frame = reads(engine, Selection(runs=[run_id]))
    labrram_s = time.perf_counter() - start
    assert len(frame) == rows
    start = time.perf_counter()
    with engine.connect() as connection:
        cursor = connection.connection.driver_connection.cursor()
        cursor.execute(f"SELECT * FROM read WHERE run_id = {run_id} ORDER BY run_id, seq")
        raw = pd.DataFrame.from_records(cursor.fetchall(), columns=[d[0] for d in cursor.description])
    raw_s = time.perf_counter() - start
    assert len(raw) == rows
    return labrram_s, raw_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--query-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    records = make_records(args.records)
    n = len(records) - 1
    with tempfile.TemporaryDirectory() as folder:
        # Fresh files for every measurement, each side twice in alternation; the better time counts.
        raw_s = recorder_s = float("inf")
        for attempt in range(2):
            raw_s = min(raw_s, sqlite_raw_seconds(Path(folder) / f"raw{attempt}.db", records))
            seconds, _ = recorder_seconds(f"sqlite:///{Path(folder) / f'recorder{attempt}.db'}", records)
            recorder_s = min(recorder_s, seconds)
        print(
            f"SQLite ingest: Recorder {n / recorder_s:,.0f} records/s, raw executemany {n / raw_s:,.0f}"
            f" rows/s: {raw_s / recorder_s:.2f}x of raw (goal 0.7x)"
        )
        labrram_s, fetch_s = query_figures(f"sqlite:///{Path(folder) / 'query.db'}", args.query_rows)
        print(
            f"SQLite query of {args.query_rows:,} reads into pandas: {labrram_s:.2f} s "
            f"(raw cursor fetch {fetch_s:.2f} s: {fetch_s / labrram_s:.2f}x of raw)"
        )

    admin = create_engine(
        f"{POSTGRES.replace('postgresql', 'postgresql+psycopg')}/test", isolation_level="AUTOCOMMIT"
    )
    try:
        connection = admin.connect()
    except Exception as error:
        print(f"PostgreSQL: not measured ({type(error).__name__})")
        return
    name = f"labrram_bench_{uuid.uuid4().hex[:8]}"
    connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = f"{POSTGRES}/{name}"
        recorder_s, run_id = recorder_seconds(url, records)
        raw_s = postgres_raw_seconds(url, records, run_id)
        print(
            f"PostgreSQL ingest: Recorder {n / recorder_s:,.0f} records/s, raw COPY {n / raw_s:,.0f}"
            f" rows/s: {raw_s / recorder_s:.2f}x of raw (goal 0.7x)"
        )
        labrram_s, fetch_s = query_figures(url, args.query_rows)
        print(
            f"PostgreSQL query of {args.query_rows:,} reads into pandas: {labrram_s:.2f} s "
            f"(raw cursor fetch {fetch_s:.2f} s: {fetch_s / labrram_s:.2f}x of raw)"
        )
    finally:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.close()


if __name__ == "__main__":
    main()
