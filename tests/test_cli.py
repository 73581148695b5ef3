"""The CLI: the demo runs end to end, records its run, and the db commands read it back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from labrram.cli import main
from labrram.db import head_revision


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_demo_characterizes_the_simulated_chip_and_records_it(capsys, database):
    assert main(["demo", "--quiet", "--database", database]) == 0
    out = capsys.readouterr().out
    tuned, total = map(int, re.search(r"tuned (\d+)/(\d+)", out).groups())
    assert total == 64 and tuned >= 60
    error_sd = float(re.search(r"sd (\d+\.\d+)%", out).group(1))
    assert error_sd < 1.0  # within the 1% tolerance
    rows = re.findall(r"^\s+(\d+)-(\d+)\s+(\d+)\s+(-?\d+\.\d+)\s+(\d+\.\d+)$", out, re.MULTILINE)
    sds = [float(sd) for *_, sd in rows]
    assert len(rows) == 4 and sds[-1] > sds[0]  # programmed early -> disturbed more
    assert "Retention: after 10000 s" in out
    assert re.search(r"Recorded as run 1 in sqlite:///", out)

    assert main(["db", "runs", "--database", database]) == 0
    assert re.search(r"^\s*1\s+demo\s+tio2-demo-chip\s+completed", capsys.readouterr().out, re.MULTILINE)
    assert main(["db", "runs", "--stale", "--database", database]) == 0
    assert "no stale runs" in capsys.readouterr().out
    assert main(["db", "show", "1", "--database", database]) == 0
    assert re.search(r"procedure: demo", capsys.readouterr().out)


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
