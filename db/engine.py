"""Engines for the device database: a SQLite file by default, PostgreSQL for a shared lab database.

The URL comes from, in order: ``--database`` on the command line, the ``LABRRAM_DATABASE_URL``
environment variable, the bench TOML's ``bench.database_url``, or the default SQLite file
``$XDG_DATA_HOME/labrram/labrram.db`` (XDG_DATA_HOME defaults to ``~/.local/share``). SQLite runs in
WAL mode with foreign keys on; ``postgresql://`` URLs use psycopg 3.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError as SQLAlchemyDatabaseError
from sqlalchemy.exc import OperationalError

from labrram.db.migrate import current_revision, head_revision, known_revisions, upgrade
from labrram.errors import DatabaseError, SchemaVersionError

DATABASE_URL_VARIABLE = "LABRRAM_DATABASE_URL"
SQLITE_BUSY_TIMEOUT_S = 30.0


def default_database_path() -> Path:
    """Where the default SQLite database lives."""
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "labrram" / "labrram.db"


def resolve_database_url(explicit: str | None = None, configured: str | None = None) -> str:
    """The database URL to use: the one given explicitly (``--database``), then the environment variable,
    then the bench file's, then the default file."""
    url = explicit or os.environ.get(DATABASE_URL_VARIABLE) or configured
    if url:
        return url
    path = default_database_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def make_engine(url: str) -> Engine:
    """An engine for the URL; SQLite gets WAL, foreign keys and a busy timeout."""
    try:
        parsed = make_url(url)
    except Exception as error:  # SQLAlchemy raises ArgumentError for malformed URLs
        raise DatabaseError(f"not a database URL: {url!r} ({error})") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise DatabaseError(f"labrram supports SQLite and PostgreSQL, not {parsed.get_backend_name()}")
    return create_engine(parsed, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _schema_state(engine: Engine) -> tuple[str | None, bool]:
    """The database's labrram revision (None: none) and whether it holds foreign tables without one.

    The revision is read again after tables were seen: another process's migration may have committed
    both (at once) between the two reads.
    """
    revision = current_revision(engine)
    if revision is not None:
        return revision, False
    if not inspect(engine).get_table_names():
        return None, False
    revision = current_revision(engine)
    return revision, revision is None


def upgrade_database(url: str) -> tuple[Engine, str | None]:
    """Migrate a labrram database (or an empty one) to head; the engine and the revision it had.

    A database holding other tables and no labrram schema is refused untouched.
    """
    engine = make_engine(url)
    name = engine.url.render_as_string(hide_password=True)
    with translated_errors(name):
        before, foreign = _schema_state(engine)
        if foreign:
            raise SchemaVersionError(f"{name} holds tables but no labrram schema version: not upgrading it")
        if before is not None and before not in known_revisions():
            raise SchemaVersionError(f"{name} is at schema revision {before}, newer than this labrram knows")
        upgrade(engine)
    return engine, before


def open_database(url: str, create: bool = True) -> Engine:
    """An engine on a database at the current schema.

    An empty database is migrated to head when ``create`` is true; without ``create`` a SQLite file must
    already exist (a mistyped path is an error, not a new database). A database at an older revision
    raises SchemaVersionError (run ``labrram db upgrade``); one at a revision this labrram does not know,
    or holding tables but no labrram schema, is refused untouched. SQLite files are switched to WAL
    only once they are known to be labrram's.
    """
    engine = make_engine(url)
    name = engine.url.render_as_string(hide_password=True)
    if engine.url.get_backend_name() == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        path = Path(engine.url.database)
        if not path.parent.is_dir():
            raise DatabaseError(f"{name}: the folder {path.parent} does not exist")
        if not create and not path.exists():
            raise DatabaseError(f"{name}: no database at {path} (check the path)")
    with translated_errors(name):
        revision, foreign = _schema_state(engine)
        head = head_revision()
        if foreign:
            raise SchemaVersionError(
                f"{name} holds tables but no labrram schema version: it is not a labrram database"
            )
        if revision is not None and revision not in known_revisions():
            raise SchemaVersionError(
                f"{name} is at schema revision {revision}, which this labrram does not know (it writes "
                f"{head}): a newer labrram, or another application, wrote it"
            )
        if revision is None and create:
            upgrade(engine)
            revision = head
        if revision != head:
            raise SchemaVersionError(
                f"database {name} is at schema revision {revision or 'none'}, this labrram writes {head}: "
                "run `labrram db upgrade` first"
            )
        if engine.url.get_backend_name() == "sqlite":
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")
    return engine


@contextmanager
def translated_errors(name: str) -> Iterator[None]:
    """Database driver failures as one DatabaseError line that names the database."""
    try:
        yield
    except (OperationalError, SQLAlchemyDatabaseError) as error:
        detail = str(getattr(error, "orig", error)).strip().splitlines()
        raise DatabaseError(f"{name}: {detail[0] if detail else type(error).__name__}") from None
