"""The CLI: the demo runs end to end, records its run, and the db commands read it back."""

from __future__ import annotations

from pathlib import Path

import pytest

from labrram.cli import main
from labrram.db import head_revision


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_db_upgrade_and_export(tmp_path: Path, capsys, database):
    assert main(["db", "upgrade", "--database", database]) == 0
    assert f"schema empty -> {head_revision()}" in capsys.readouterr().out
    assert main(["db", "export", "7", "--database", database, "--out", str(tmp_path)]) == 2
    assert "there is no run 7" in capsys.readouterr().err


def test_bad_config_is_a_clear_error_not_a_traceback(tmp_path: Path, capsys, database):
    bad = tmp_path / "bench.toml"
    bad.write_text('[bench]\nname = "x"\n[sample]\nchip = "c"\npreset = "unobtainium"\n')
    assert main(["demo", "--config", str(bad), "--database", database]) == 2
    err = capsys.readouterr().err
    assert "sample.preset" in err and "unobtainium" in err


def test_a_database_url_nobody_supports_is_a_clear_error(capsys):
    assert main(["db", "runs", "--database", "mysql://x@localhost/db"]) == 2
    assert "SQLite and PostgreSQL" in capsys.readouterr().err
