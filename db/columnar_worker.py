"""Child process of the columnar path: reads runs of a SQLite file through ADBC into Parquet files.

Run as ``python -m labrram.db.columnar_worker '{"database": ..., "table": ..., "runs": {id: path}}'``.
It lives in its own process so that ADBC's copy of SQLite never shares POSIX file locks with the copy
the Recorder writes through (see `labrram.db.columnar`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import adbc_driver_sqlite.dbapi as adbc_sqlite

from labrram.db.columnar import fetch_run, write_atomically


def main(argv: list[str]) -> int:
    request = json.loads(argv[0])
    with adbc_sqlite.connect(request["database"]) as connection:
        for run_id, path in request["runs"].items():
            write_atomically(fetch_run(connection, request["table"], int(run_id), sqlite=True), Path(path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
