"""The CLI: the demo runs end to end on the shipped bench and reports sensible figures."""

from __future__ import annotations

import re
from pathlib import Path

from labrram.cli import main


def test_demo_characterizes_the_simulated_chip(capsys):
    assert main(["demo", "--quiet"]) == 0
    out = capsys.readouterr().out
    tuned, total = map(int, re.search(r"tuned (\d+)/(\d+)", out).groups())
    assert total == 64 and tuned >= 60
    error_sd = float(re.search(r"sd (\d+\.\d+)%", out).group(1))
    assert error_sd < 1.0  # within the 1% tolerance
    rows = re.findall(r"^\s+(\d+)-(\d+)\s+(\d+)\s+(-?\d+\.\d+)\s+(\d+\.\d+)$", out, re.MULTILINE)
    sds = [float(sd) for *_, sd in rows]
    assert len(rows) == 4 and sds[-1] > sds[0]  # programmed early -> disturbed more
    assert "Retention: after 10000 s" in out


def test_bad_config_is_a_clear_error_not_a_traceback(tmp_path: Path, capsys):
    bad = tmp_path / "bench.toml"
    bad.write_text('[bench]\nname = "x"\n[sample]\nchip = "c"\npreset = "unobtainium"\n')
    assert main(["demo", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "sample.preset" in err and "unobtainium" in err
