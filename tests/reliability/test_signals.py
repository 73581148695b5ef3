"""Every catchable signal during `labrram measure` on instruments over TCP ends in the safe state with the
run marked; SIGKILL leaves what was committed complete, and the next session cleans up and resumes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from labrram.bench.factory import SimulatedLab, simulated_lab
from labrram.config import load_config
from labrram.db import Selection, open_database, pulses, results, runs
from labrram.drivers.simulated.server import InstrumentServer
from tests.measure_helpers import WIDE_PULSES, instruments_file, tune_with_wide_pulses

DEVICES = "A1"  # 16 devices, about 470 pulses
CAUGHT_EXIT = {signal.SIGTERM: 143, signal.SIGHUP: 129, signal.SIGINT: 130}


def _signal_after(lab: SimulatedLab, pulses: int, process: list[subprocess.Popen]) -> threading.Event:
    """Send the signal from the instrument's side once it has given ``pulses`` pulses (a point mid-run)."""
    sent = threading.Event()
    count = [0]
    original = lab.smus["smu1"]._pulse

    def counting(*args: float) -> tuple[float, float]:
        reply = original(*args)
        count[0] += 1
        if count[0] == pulses and process:
            os.kill(process[0].pid, process[0].signal_to_send)
            sent.set()
        return reply

    lab.smus["smu1"]._pulse = counting
    return sent


def _is_safe(lab: SimulatedLab) -> bool:
    smus = [state for emulator in lab.smus.values() for state in emulator.smu.values()]
    return not lab.matrix.closed and all(not s.output and s.level_v == 0.0 for s in smus)


def _run_and_signal(tmp_path: Path, database: str, number: int, at_pulse: int):
    placeholder = {"matrix": "x", "smu1": "x", "smu2": "x"}
    lab = simulated_lab(load_config(instruments_file(tmp_path, "@py", placeholder, "instrument")))
    server = InstrumentServer(lab.emulators()).start()
    config = instruments_file(tmp_path, "@py", server.resources, "instrument")
    started: list[subprocess.Popen] = []
    sent = _signal_after(lab, at_pulse, started)
    command = [sys.executable, "-m", "labrram.cli", "measure", "tuning", "--config", str(config)]
    command += [
        "--database",
        database,
        "--quiet",
        "--devices",
        DEVICES,
        *(f"--param={p}" for p in WIDE_PULSES),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    process.signal_to_send = number
    started.append(process)
    _, err = process.communicate(timeout=120)
    assert sent.is_set(), f"the run ended before pulse {at_pulse}: {err}"
    return lab, server, process.returncode, err


def _stored_results_are_whole(database: str) -> None:
    """Every tuning result stored has its fields and every pulse it counts, and no device has two."""
    engine = open_database(database)
    tuning = results(engine, "tuning", Selection(runs=[1]))
    assert not tuning[["success", "achieved_s", "pulses"]].isna().any().any()
    assert not tuning.duplicated(["row", "col"]).any()
    given = pulses(engine, Selection(runs=[1])).groupby(["row", "col"]).size()
    for device in tuning.itertuples():
        assert given[(device.row, device.col)] == device.pulses


POINTS = random.Random(2026).sample(range(5, 400), 4)  # pulses after which each signal is sent


@pytest.mark.parametrize(("number", "at_pulse"), list(zip(CAUGHT_EXIT, POINTS, strict=False)))
def test_a_caught_signal_ends_in_the_safe_state_and_the_run_aborted_then_resumes(
    tmp_path, database_url, number, at_pulse
):
    lab, server, returncode, err = _run_and_signal(tmp_path, database_url, number, at_pulse)
    try:
        assert returncode == CAUGHT_EXIT[number], err
        assert signal.Signals(number).name in err and "Traceback" not in err
        assert _is_safe(lab)  # outputs off at 0 V, every crosspoint open: unselected lines float
        run = runs(open_database(database_url)).iloc[0]
        assert run["status"] == "aborted" and signal.Signals(number).name in run["message"]
        _stored_results_are_whole(database_url)
        config = instruments_file(tmp_path, "@py", server.resources, "instrument")
        assert tune_with_wide_pulses(config, database_url, DEVICES, "--resume", "1") == 0
    finally:
        server.stop()
    tuning = results(open_database(database_url), "tuning", Selection(runs=[1]))
    assert len(tuning) == 16 and not tuning.duplicated(["row", "col"]).any()
    assert runs(open_database(database_url))["status"].iloc[0] == "completed"


def test_after_sigkill_the_run_is_left_running_and_the_next_session_cleans_up_and_resumes(tmp_path):
    database = f"sqlite:///{tmp_path / 'killed.db'}"
    lab, server, returncode, _ = _run_and_signal(tmp_path, database, signal.SIGKILL, POINTS[3])
    try:
        assert returncode == -signal.SIGKILL
        assert runs(open_database(database))["status"].iloc[0] == "running"  # nobody could mark it
        _stored_results_are_whole(database)
        config = instruments_file(tmp_path, "@py", server.resources, "instrument")
        assert tune_with_wide_pulses(config, database, DEVICES, "--resume", "1") == 0
        assert _is_safe(lab)
    finally:
        server.stop()
    tuning = results(open_database(database), "tuning", Selection(runs=[1]))
    assert len(tuning) == 16 and not tuning.duplicated(["row", "col"]).any()
