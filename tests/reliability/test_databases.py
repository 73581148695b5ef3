"""Which database a command takes, and databases that are not labrram's, not there or not well: each is
refused with one line (exit 2) and left as it was."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from labrram.cli import main
from labrram.db import head_revision, open_database, resolve_database_url, runs
from labrram.db.engine import DATABASE_URL_VARIABLE


def one_line_error(capsys: pytest.CaptureFixture[str], *expected: str) -> str:
    """The error a command printed: one line, no traceback, naming what was expected."""
    err = capsys.readouterr().err.strip()
    assert err.startswith("labrram: error: ") and "\n" not in err, err
    assert all(part in err for part in expected), err
    return err


def test_the_database_option_comes_before_the_environment_and_the_bench_file(tmp_path, monkeypatch, capsys):
    environment = tmp_path / "from-environment.db"
    chosen = tmp_path / "chosen.db"
    monkeypatch.setenv(DATABASE_URL_VARIABLE, f"sqlite:///{environment}")
    assert resolve_database_url(f"sqlite:///{chosen}", "sqlite:///bench.db") == f"sqlite:///{chosen}"
    assert resolve_database_url(None, "sqlite:///bench.db") == f"sqlite:///{environment}"
    assert main(["db", "upgrade", "--database", f"sqlite:///{chosen}"]) == 0
    assert chosen.exists() and not environment.exists()
    monkeypatch.delenv(DATABASE_URL_VARIABLE)
    assert resolve_database_url(None, "sqlite:///bench.db") == "sqlite:///bench.db"


def _foreign_sqlite(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        connection.execute("INSERT INTO customers (name) VALUES ('ada')")


def _journal_mode(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        return connection.execute("PRAGMA journal_mode").fetchone()[0]


@pytest.mark.parametrize(
    "command", [["db", "upgrade"], ["db", "runs"], ["measure", "iv"], ["demo", "--fast"]]
)
def test_a_foreign_sqlite_file_is_refused_untouched(tmp_path, capsys, command):
    foreign = tmp_path / "shop.db"
    _foreign_sqlite(foreign)
    before = foreign.read_bytes()
    assert main([*command, "--database", f"sqlite:///{foreign}"]) == 2
    one_line_error(capsys, "no labrram schema")
    assert foreign.read_bytes() == before and _journal_mode(foreign) == "delete"


def test_a_foreign_postgresql_database_is_refused_untouched(capsys, postgres_url):
    url = postgres_url
    with create_engine(url).begin() as connection:
        connection.execute(text("CREATE TABLE customers (id integer PRIMARY KEY)"))
    assert main(["db", "upgrade", "--database", url]) == 2
    one_line_error(capsys, "no labrram schema")
    assert inspect(create_engine(url)).get_table_names() == ["customers"]


def test_reading_commands_on_a_mistyped_path_create_nothing(tmp_path, capsys):
    missing = tmp_path / "labrram-typo.db"
    for command in (["db", "runs"], ["db", "show", "1"], ["db", "export", "1"]):
        assert main([*command, "--database", f"sqlite:///{missing}"]) == 2
        one_line_error(capsys, "no database at")
    assert not missing.exists()


def test_a_database_at_a_revision_labrram_does_not_know_is_refused_untouched(tmp_path, capsys):
    path = tmp_path / "future.db"
    open_database(f"sqlite:///{path}").dispose()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'f00dcafe1234'")
    for command in (["db", "upgrade"], ["db", "runs"]):
        assert main([*command, "--database", f"sqlite:///{path}"]) == 2
        one_line_error(capsys, "f00dcafe1234")
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "f00dcafe1234"


def test_garbage_a_missing_folder_and_unreachable_servers_are_one_line_errors(tmp_path, capsys):
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database " * 100)
    cases = {
        f"sqlite:///{garbage}": "not a database",
        f"sqlite:///{tmp_path / 'no-such-folder' / 'x.db'}": "does not exist",
        "postgresql://postgres@127.0.0.1:1/test": "127.0.0.1",
    }
    for url, expected in cases.items():
        assert main(["db", "runs", "--database", url]) == 2
        one_line_error(capsys, expected)
    assert garbage.read_bytes() == b"this is not a database " * 100


def test_a_missing_postgresql_database_or_user_is_a_one_line_error(capsys, postgres_url):
    for url, expected in (
        ("postgresql://postgres@127.0.0.1:5432/labrram_no_such_database", "labrram_no_such_database"),
        ("postgresql://labrram_no_such_user@127.0.0.1:5432/test", "labrram_no_such_user"),
    ):
        assert main(["db", "runs", "--database", url]) == 2
        one_line_error(capsys, expected)


def test_four_processes_migrating_one_empty_postgresql_database_all_succeed(postgres_url):
    url = postgres_url
    command = [sys.executable, "-m", "labrram.cli", "db", "upgrade", "--database", url]
    processes = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    errors = [process.communicate(timeout=120)[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0, 0], errors
    with create_engine(url).connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
    assert runs(open_database(url)).empty
