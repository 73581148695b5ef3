"""Shared fixtures. Database tests run on SQLite, and on PostgreSQL at 127.0.0.1:5432 when reachable.

Each PostgreSQL test gets a database of its own, created on the server's ``test`` database and dropped
afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_unreachable() -> str | None:
    try:
        engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except OperationalError as error:
        return f"PostgreSQL not reachable at 127.0.0.1:5432 ({str(error.orig).strip().splitlines()[0]})"
    return None


_UNREACHABLE = _postgres_unreachable()


def _postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database of its own, dropped afterwards (the test is skipped without a server)."""
    if _UNREACHABLE:
        pytest.skip(_UNREACHABLE)
    name = f"labrram_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A URL to an empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'labrram.db'}"
        return
    yield from _postgres_database()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL to an empty PostgreSQL database, for what only a server shows (locks, roles, connections)."""
    yield from _postgres_database()


@pytest.fixture(autouse=True)
def private_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test reads or writes the user's database, data folder or cache."""
    monkeypatch.delenv("LABRRAM_DATABASE_URL", raising=False)
    home = tmp_path_factory.getbasetemp() / "home"
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
