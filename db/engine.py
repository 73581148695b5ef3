"""Engines for the device database: a SQLite file by default, PostgreSQL for a shared lab database.

The URL comes from, in order: the ``LABRRAM_DATABASE_URL`` environment variable, the bench TOML's
``bench.database_url``, or the default SQLite file ``$XDG_DATA_HOME/labrram/labrram.db`` (XDG_DATA_HOME
defaults to ``~/.local/share``). SQLite runs in WAL mode with foreign keys on; ``postgresql://`` URLs
use psycopg 3.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url

from labrram.db.migrate import current_revision, head_revision, upgrade
from labrram.errors import DatabaseError, SchemaVersionError

DATABASE_URL_VARIABLE = "LABRRAM_DATABASE_URL"
SQLITE_BUSY_TIMEOUT_S = 30.0


def default_database_path() -> Path:
    """Where the default SQLite database lives."""
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "labrram" / "labrram.db"


def resolve_database_url(configured: str | None = None) -> str:
    """The database URL to use: environment variable, then configuration, then the default file."""
    url = os.environ.get(DATABASE_URL_VARIABLE) or configured
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
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def open_database(url: str, create: bool = True) -> Engine:
    """An engine on a database at the current schema.

    An empty database is migrated to head when ``create`` is true; a database at an older revision
    raises SchemaVersionError (run ``labrram db upgrade``), and so does one that is not labrram's.
    """
    engine = make_engine(url)
    revision = current_revision(engine)
    head = head_revision()
    if revision == head:
        return engine
    if revision is None:
        if inspect(engine).get_table_names():
            raise SchemaVersionError(
                f"{engine.url.render_as_string(hide_password=True)} holds tables but no labrram schema "
                "version: it is not a labrram database"
            )
        if create:
            upgrade(engine)
            return engine
    raise SchemaVersionError(
        f"database {engine.url.render_as_string(hide_password=True)} is at schema revision "
        f"{revision or 'none'}, this labrram writes {head}: run `labrram db upgrade` first"
    )
