"""Schema: migrations from empty to head, version checks, constraint violations as clear errors."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from labrram.db import current_revision, head_revision, make_engine, open_database, upgrade
from labrram.db.models import Base
from labrram.errors import SchemaVersionError


def test_migrations_take_an_empty_database_to_head_with_every_table(database_url):
    engine = make_engine(database_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_migrated_schema_matches_the_models(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    inspector = inspect(engine)
    for name, table in Base.metadata.tables.items():
        columns = {c["name"]: c for c in inspector.get_columns(name)}
        assert set(columns) == {c.name for c in table.columns}, name
        for column in table.columns:
            assert columns[column.name]["nullable"] == column.nullable, (name, column.name)
        uniques = {tuple(u["column_names"]) for u in inspector.get_unique_constraints(name)}
        for constraint in table.constraints:
            if constraint.__class__.__name__ == "UniqueConstraint":
                assert tuple(c.name for c in constraint.columns) in uniques, (name, constraint.name)


def test_opening_a_database_at_an_older_revision_is_refused(database_url):
    engine = make_engine(database_url)
    upgrade(engine, "0001")
    with pytest.raises(SchemaVersionError, match="labrram db upgrade"):
        open_database(database_url)
    upgrade(engine)
    assert current_revision(open_database(database_url)) == head_revision()


def test_an_empty_database_is_created_at_head_on_first_open(database_url):
    engine = open_database(database_url)
    assert current_revision(engine) == head_revision()


def test_a_database_that_is_not_labrrams_is_refused(database_url):
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE inventory (id INTEGER PRIMARY KEY)"))
    with pytest.raises(SchemaVersionError, match="not a labrram database"):
        open_database(database_url)


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
