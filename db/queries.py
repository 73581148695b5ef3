"""Read the database into pandas: runs, pulses, reads and results for a selection; export a run.

Big selections stream in chunks (``chunk_rows``): each chunk is a DataFrame, so a million reads never
need to sit in memory as Python objects at once.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, Select, or_, select

from labrram.db.models import Array, Device, ProcedureResult, PulseRecord, ReadRecord, Run, Sample
from labrram.db.recorder import RESULT_TABLES, STALE_AFTER_S
from labrram.errors import DatabaseError

RESULT_MODELS = {kind: model for kind, (model, _) in RESULT_TABLES.items()} | {"other": ProcedureResult}


@dataclass(frozen=True)
class Selection:
    """Which records to fetch; every field left None selects everything."""

    runs: Sequence[int] | None = None
    chip: str | None = None
    array: str | None = None
    devices: Sequence[tuple[int, int]] | None = None
    procedure: str | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None


def _device_table(engine: Engine, selection: Selection) -> pd.DataFrame:
    """device_id -> chip, array, row, col for the devices the selection allows."""
    query = (
        select(
            Device.id.label("device_id"),
            Sample.name.label("chip"),
            Array.name.label("array"),
            Device.row,
            Device.col,
        )
        .join(Array, Array.id == Device.array_id)
        .join(Sample, Sample.id == Array.sample_id)
    )
    if selection.chip is not None:
        query = query.where(Sample.name == selection.chip)
    if selection.array is not None:
        query = query.where(Array.name == selection.array)
    if selection.devices is not None:
        query = query.where(or_(*((Device.row == r) & (Device.col == c) for r, c in selection.devices)))
    with engine.connect() as connection:
        result = connection.execute(query)
        table = pd.DataFrame(result.all(), columns=list(result.keys()))
    # Categories: a million records then share a handful of name objects instead of a million.
    return table.astype({"chip": "category", "array": "category"})


def _run_ids(engine: Engine, selection: Selection) -> list[int] | None:
    """Runs the selection allows, or None for all of them."""
    if selection.procedure is None and selection.started_after is None and selection.started_before is None:
        return None if selection.runs is None else list(selection.runs)
    query = select(Run.id)
    if selection.runs is not None:
        query = query.where(Run.id.in_(list(selection.runs)))
    if selection.procedure is not None:
        query = query.where(Run.procedure == selection.procedure)
    if selection.started_after is not None:
        query = query.where(Run.started_at >= selection.started_after)
    if selection.started_before is not None:
        query = query.where(Run.started_at < selection.started_before)
    with engine.connect() as connection:
        return list(connection.scalars(query))


def _records(
    engine: Engine, model: type, selection: Selection, chunk_rows: int | None, kind: str | None = None
) -> pd.DataFrame | Iterator[pd.DataFrame]:
    """Records of one table for the selection, with each device's chip, array, row and col.

    The big table is read through its (run_id, seq) index alone; device names are joined in pandas.
    """
    devices = _device_table(engine, selection)
    columns = [c for c in model.__table__.columns if c.name != "id"]
    query = select(*columns).order_by(model.run_id, model.seq)
    run_ids = _run_ids(engine, selection)
    if run_ids is not None:
        query = query.where(model.run_id.in_(run_ids))
    if selection.chip is not None or selection.array is not None or selection.devices is not None:
        query = query.where(model.device_id.in_(devices["device_id"].tolist()))
    if kind is not None:
        query = query.where(model.kind == kind)

    def named(frame: pd.DataFrame) -> pd.DataFrame:
        merged = frame.merge(devices, on="device_id", how="left", sort=False)
        ordered = ["chip", "array", "row", "col"] + [c for c in frame.columns if c != "device_id"]
        return merged[ordered]

    fetch = _driver_frames if model in (PulseRecord, ReadRecord) else _frames
    frames = (named(frame) for frame in fetch(engine, query, chunk_rows or 1_000_000))
    if chunk_rows is not None:
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be >= 1")
        return frames
    return pd.concat(list(frames), ignore_index=True)


def _frames(engine: Engine, query: Select, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Stream a query's rows as DataFrames, building each frame column by column."""
    with engine.connect() as connection:
        result = connection.execution_options(stream_results=True, max_row_buffer=chunk_rows).execute(query)
        columns = list(result.keys())
        empty = True
        for rows in result.partitions(chunk_rows):
            empty = False
            yield _frame(columns, rows)
        if empty:
            yield pd.DataFrame(columns=columns)


def _driver_frames(engine: Engine, query: Select, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Like `_frames` but through the driver's own cursor, for the big numeric tables.

    Skipping SQLAlchemy's Row objects keeps a 10^6-row query near the driver's fetch speed. The
    query must hold only integers and names (its parameters are rendered inline) and plain numeric
    or text columns (no type conversion happens); PostgreSQL streams through a server-side cursor.
    """
    with engine.connect() as connection:
        sql = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
        driver = connection.connection.driver_connection
        postgres = connection.dialect.name == "postgresql"
        cursor = driver.cursor(name="labrram_stream") if postgres else driver.cursor()
        try:
            cursor.execute(sql)
            columns = [description[0] for description in cursor.description]
            empty = True
            while rows := cursor.fetchmany(chunk_rows):
                empty = False
                yield pd.DataFrame.from_records(rows, columns=columns)
            if empty:
                yield pd.DataFrame(columns=columns)
        finally:
            cursor.close()


def _frame(columns: list[str], rows: Sequence[Sequence[object]]) -> pd.DataFrame:
    # Plain tuples through from_records: pandas probing SQLAlchemy Row objects is several times slower.
    return pd.DataFrame.from_records([tuple(row) for row in rows], columns=columns)


def pulses(
    engine: Engine, selection: Selection = Selection(), kind: str | None = None, chunk_rows: int | None = None
) -> pd.DataFrame | Iterator[pd.DataFrame]:
    """Pulses of the selection (optionally one kind: SET, RESET, FORM), ordered by run and sequence."""
    return _records(engine, PulseRecord, selection, chunk_rows, kind)


def reads(
    engine: Engine, selection: Selection = Selection(), chunk_rows: int | None = None
) -> pd.DataFrame | Iterator[pd.DataFrame]:
    """Reads of the selection, ordered by run and sequence."""
    return _records(engine, ReadRecord, selection, chunk_rows)


def results(engine: Engine, kind: str, selection: Selection = Selection()) -> pd.DataFrame:
    """Results of one kind: tuning, level, retention, iv, endurance, or other (JSON values)."""
    if kind not in RESULT_MODELS:
        raise DatabaseError(f"unknown result kind {kind!r}; known: {', '.join(RESULT_MODELS)}")
    return _records(engine, RESULT_MODELS[kind], selection, None)


def runs(engine: Engine) -> pd.DataFrame:
    """Every run with its procedure, sample, bench, status and times."""
    query = (
        select(
            Run.id,
            Run.procedure,
            Sample.name.label("chip"),
            Run.status,
            Run.started_at,
            Run.ended_at,
            Run.heartbeat_at,
            Run.host,
            Run.pid,
            Run.operator,
            Run.seed,
            Run.labrram_version,
            Run.message,
        )
        .join(Sample, Sample.id == Run.sample_id)
        .order_by(Run.id)
    )
    return pd.concat(list(_frames(engine, query, 100_000)), ignore_index=True)


def stale_runs(engine: Engine, stale_after_s: float = STALE_AFTER_S) -> pd.DataFrame:
    """Runs still marked running whose recorder is gone.

    Gone means: on this host, its process no longer exists; anywhere, no heartbeat for
    ``stale_after_s`` seconds.
    """
    table = runs(engine)
    running = table[table["status"] == "running"]
    if running.empty:
        return running
    now = datetime.now(UTC)
    host = socket.gethostname()

    def is_stale(run: pd.Series) -> bool:
        heartbeat = pd.Timestamp(run["heartbeat_at"])
        heartbeat = heartbeat.tz_localize(UTC) if heartbeat.tzinfo is None else heartbeat
        if now - heartbeat.to_pydatetime() > timedelta(seconds=stale_after_s):
            return True
        return run["host"] == host and not _process_alive(int(run["pid"]))

    return running[running.apply(is_stale, axis=1)]


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def export_run(engine: Engine, run_id: int, directory: Path, fmt: str, overwrite: bool = False) -> list[Path]:
    """Write a run's pulses, reads and results as Parquet or CSV files; return their paths."""
    if fmt not in ("parquet", "csv"):
        raise DatabaseError(f"export format must be parquet or csv, not {fmt!r}")
    table = runs(engine)
    if run_id not in set(table["id"]):
        raise DatabaseError(f"there is no run {run_id}")
    directory.mkdir(parents=True, exist_ok=True)
    selection = Selection(runs=[run_id])
    frames = {"pulses": pulses(engine, selection), "reads": reads(engine, selection)}
    for kind in RESULT_MODELS:
        frame = results(engine, kind, selection)
        if not frame.empty:
            frames[f"results_{kind}"] = frame
    targets = {name: directory / f"run{run_id}_{name}.{fmt}" for name in frames}
    existing = [str(path) for path in targets.values() if path.exists()]
    if existing and not overwrite:
        raise DatabaseError(
            f"export would overwrite {', '.join(existing)}: choose another folder or --overwrite"
        )
    written = []
    for name, frame in frames.items():
        path = targets[name]
        for column in ("extra", "values"):
            if column in frame:
                frame[column] = frame[column].map(_json_text)
        if fmt == "parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
        written.append(path)
    return written


def _json_text(value: object) -> str:
    return json.dumps(value, sort_keys=True)
