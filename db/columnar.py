"""The columnar path: pulses and reads as Arrow tables, fast enough for 10^7 records.

Analysis reads whole columns, not rows. Records are fetched through ADBC (Arrow straight from the
driver: COPY on PostgreSQL, the SQLite C API on SQLite), and each *completed* run is kept in a Parquet
cache: a completed run never changes (it cannot be resumed), so its file, named by the run's id and
start time, stays valid. Runs still running, aborted or failed are always read from the database. The
cache lives under ``$XDG_CACHE_HOME/labrram/columnar`` (``~/.cache``) unless a folder is given;
``cache=False`` turns it off.

SQLite files are read by ADBC in a child process (`labrram.db.columnar_worker`): ADBC links its own
copy of SQLite, and two copies in one process share POSIX file locks badly (closing one copy's file
drops the other's locks, a known way to corrupt a database) and were seen to read stale snapshots.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import adbc_driver_postgresql.dbapi as adbc_postgresql
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import Engine, select

from labrram.db.models import Run
from labrram.db.queries import Selection, _device_table, _run_ids
from labrram.db.recorder import PULSE_COLUMNS, READ_COLUMNS
from labrram.errors import DatabaseError

# Columns of each big table as the columnar path returns them: the Recorder's (run_id, device_id, seq first).
COLUMNS = {"pulse": PULSE_COLUMNS, "read": READ_COLUMNS}
# Nullable REAL columns: SQLite's Arrow reader infers a column's type from its first rows, so NULLs
# travel as +inf (never a stored value) and become nulls again here.
_NULLABLE = {"compliance_a", "current_a"}


def cache_folder() -> Path:
    """Where completed runs are cached as Parquet files."""
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home) / "labrram" / "columnar"


def record_table(
    engine: Engine,
    table: str,
    selection: Selection | None = None,
    cache: bool | Path = True,
    columns: tuple[str, ...] | None = None,
) -> pa.Table:
    """Every pulse or read of the selection as an Arrow table ordered by run and sequence number.

    Columns: ``columns`` (default: all of `COLUMNS[table]`; ``device_id`` is always kept). Device names
    are not joined here (see `device_table`): the analysis works on ``device_id`` and names devices only
    in its reports.
    """
    if table not in COLUMNS:
        raise DatabaseError(f"the columnar path reads 'pulse' or 'read', not {table!r}")
    wanted_columns = list(COLUMNS[table]) if columns is None else list(dict.fromkeys(columns))
    unknown = set(wanted_columns) - set(COLUMNS[table])
    if unknown:
        raise DatabaseError(f"table {table!r} has no columns {sorted(unknown)}")
    if "device_id" not in wanted_columns:
        wanted_columns.append("device_id")
    selection = selection or Selection()
    folder = _cache_folder(engine, cache)
    parts = []
    with tempfile.TemporaryDirectory(prefix="labrram-columnar-") as scratch:
        paths = {}
        for run_id, status, started_at in _runs(engine, _run_ids(engine, selection)):
            name = f"{table}-run{run_id}-{_stamp(started_at)}.parquet"
            kept = folder is not None and status == "completed"
            paths[run_id] = folder / name if kept else Path(scratch) / name
        missing = {run_id: path for run_id, path in paths.items() if not path.exists()}
        if missing:
            _fetch_to_files(engine, table, missing)
        parts = [pq.read_table(path, columns=wanted_columns) for path in paths.values()]
    result = pa.concat_tables(parts) if parts else _empty(table).select(wanted_columns)
    if selection.chip is not None or selection.array is not None or selection.devices is not None:
        wanted = pa.array(_device_table(engine, selection)["device_id"].to_numpy(dtype=np.int64))
        result = result.filter(pc.is_in(result["device_id"], value_set=wanted))
    return result


def device_table(engine: Engine, selection: Selection | None = None):
    """device_id -> chip, array, row, col for the devices the selection allows (a DataFrame)."""
    return _device_table(engine, selection or Selection())


def fetch_run(connection, table: str, run_id: int, sqlite: bool) -> pa.Table:
    """One run's records of one table through an open ADBC connection, as normalized Arrow columns."""
    names = COLUMNS[table]
    if sqlite:
        selected = ", ".join(f"ifnull({c}, 9e999) AS {c}" if c in _NULLABLE else c for c in names)
    else:
        selected = ", ".join(names)
    sql = f'SELECT {selected} FROM "{table}" WHERE run_id = {int(run_id)} ORDER BY seq'
    with connection.cursor() as cursor:
        cursor.execute(sql)
        fetched = cursor.fetch_arrow_table()
    return _normalized(table, fetched)


def write_atomically(table: pa.Table, path: Path) -> None:
    """Write a Parquet file under a temporary name, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
    os.close(handle)
    try:
        pq.write_table(table, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _fetch_to_files(engine: Engine, table: str, paths: dict[int, Path]) -> None:
    """Write each run's records of one table to its Parquet file."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        runs = {str(run_id): str(path) for run_id, path in paths.items()}
        request = json.dumps({"database": str(Path(url.database)), "table": table, "runs": runs})
        done = subprocess.run(
            [sys.executable, "-m", "labrram.db.columnar_worker", request],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise DatabaseError(f"reading the {table} records of {url.database} failed: {reason}")
        return
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with adbc_postgresql.connect(plain) as connection:
        for run_id, path in paths.items():
            write_atomically(fetch_run(connection, table, run_id, sqlite=False), path)


def _runs(engine: Engine, run_ids: list[int] | None) -> list[tuple[int, str, object]]:
    query = select(Run.id, Run.status, Run.started_at).order_by(Run.id)
    if run_ids is not None:
        query = query.where(Run.id.in_(run_ids))
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query).all()]


def _stamp(started_at: object) -> str:
    """A run's start time as a file-name part: with the id, it tells two databases' runs apart."""
    return str(started_at).replace(" ", "T").replace(":", "").replace("+", "p")


def _cache_folder(engine: Engine, cache: bool | Path) -> Path | None:
    if cache is False:
        return None
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return None
    identity = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite":
        identity = str(Path(url.database).resolve())
    base = cache_folder() if cache is True else Path(cache)
    return base / hashlib.sha256(identity.encode()).hexdigest()[:16]


def _normalized(table: str, fetched: pa.Table) -> pa.Table:
    """Fixed column types whatever the backend returned; +inf sentinels back to nulls."""
    columns = []
    for name in COLUMNS[table]:
        column = fetched[name]
        if name in ("run_id", "device_id", "seq"):
            column = column.cast(pa.int64())
        elif name == "kind":
            column = column.cast(pa.string())
        else:
            column = column.cast(pa.float64())
            if name in _NULLABLE:
                column = pc.if_else(pc.is_inf(column), pa.scalar(None, pa.float64()), column)
        columns.append(column)
    return pa.table(columns, names=list(COLUMNS[table]))


def _empty(table: str) -> pa.Table:
    types = {"run_id": pa.int64(), "device_id": pa.int64(), "seq": pa.int64(), "kind": pa.string()}
    return pa.table({name: pa.array([], types.get(name, pa.float64())) for name in COLUMNS[table]})
