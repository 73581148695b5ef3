"""The simulated-instrument server under misuse (endless lines, a second client, remote binding, stale
errors, absurd delays) and the command-line failures that must be one line, exit 2."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import tracemalloc

import pytest

from labrram.bench.factory import simulated_lab
from labrram.cli import main
from labrram.config import load_config
from labrram.drivers.simulated.keithley707b import Simulated707B
from labrram.drivers.simulated.keithley2600b import MAX_DELAY_S, Resistor, Simulated2600B
from labrram.drivers.simulated.server import MAX_MESSAGE, InstrumentServer
from tests.measure_helpers import instruments_file, tune_with_wide_pulses
from tests.reliability.test_databases import one_line_error
from tests.test_measure import bench_file


def ask(connection: socket.socket, message: bytes) -> bytes:
    connection.sendall(message)
    reply = b""
    while not reply.endswith(b"\n"):
        reply += connection.recv(4096)
    return reply


def test_a_line_over_the_cap_is_dropped_with_an_input_overrun_error_and_bounded_memory():
    with InstrumentServer({"matrix": Simulated707B()}) as server:
        port = int(server.resources["matrix"].split("::")[2])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            chunk = b"x" * (1 << 16)
            tracemalloc.start()
            try:
                for _ in range(16 * MAX_MESSAGE // len(chunk)):  # 16 MiB with no terminator
                    connection.sendall(chunk)
                connection.sendall(b"\n")
                assert float(ask(connection, b"print(errorqueue.count)\n")) == 1
                peak_bytes = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            assert peak_bytes < 4 * MAX_MESSAGE  # the server held at most about one message
            code, message = ask(connection, b"print(errorqueue.next())\n").split(b"\t")[:2]
            assert float(code) == -363 and b"overrun" in message
            assert b"707B" in ask(connection, b"*IDN?\r\n")  # CR LF ends a message as LF does


def test_a_second_client_is_closed_without_a_word_and_the_first_is_undisturbed():
    with InstrumentServer({"matrix": Simulated707B()}) as server:
        port = int(server.resources["matrix"].split("::")[2])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as first:
            assert b"707B" in ask(first, b"*IDN?\n")
            with socket.create_connection(("127.0.0.1", port), timeout=5) as second:
                assert second.recv(100) == b""
            assert b"707B" in ask(first, b"*IDN?\n")


def test_a_delay_beyond_any_test_is_an_error_and_leaves_the_clock_alone():
    smu = Simulated2600B(Resistor(1e4), Resistor(1e4))
    for absurd in (f"{MAX_DELAY_S * 10:g}", "1e300", "-1", "0/0"):
        before = smu.timebase.now_s
        smu.write(f"delay({absurd})")
        assert smu.timebase.now_s == before
    smu.write("print(errorqueue.count)")
    assert float(smu.read()) == 4
    smu.write("delay(2.5)")
    assert smu.timebase.now_s == pytest.approx(2.5)


def test_errors_an_earlier_client_left_do_not_break_the_next_run(tmp_path, capsys):
    placeholder = {"matrix": "x", "smu1": "x", "smu2": "x"}
    lab = simulated_lab(load_config(instruments_file(tmp_path, "@py", placeholder, "instrument")))
    with InstrumentServer(lab.emulators()) as server:
        for name in ("matrix", "smu1", "smu2"):
            port = int(server.resources[name].split("::")[2])
            with socket.create_connection(("127.0.0.1", port), timeout=5) as earlier:
                earlier.sendall(b"no_such_function()\n")
                time.sleep(0.05)
        config = instruments_file(tmp_path, "@py", server.resources, "instrument")
        assert tune_with_wide_pulses(config, f"sqlite:///{tmp_path / 's.db'}", "A1:0:0") == 0


def test_binding_beyond_loopback_needs_allow_remote_and_says_who_may_connect(capsys):
    assert main(["sim-server", "--host", "0.0.0.0", "--port", "0"]) == 2
    one_line_error(capsys, "--allow-remote")
    command = [sys.executable, "-m", "labrram.cli", "sim-server", "--host", "0.0.0.0", "--allow-remote"]
    process = subprocess.Popen([*command, "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        lines = [process.stdout.readline() for _ in range(6)]
        assert any("anyone who can reach 0.0.0.0" in line for line in lines), lines
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0  # SIGTERM stops the server cleanly


def test_a_port_in_use_or_a_host_that_does_not_exist_is_one_line(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert main(["sim-server", "--port", str(taken.getsockname()[1])]) == 2
        one_line_error(capsys, "in use")
    assert main(["sim-server", "--host", "no-such-host.invalid", "--allow-remote", "--port", "0"]) == 2
    one_line_error(capsys)


def test_a_bench_file_that_is_not_utf8_is_one_line(tmp_path, capsys):
    path = tmp_path / "latin1.toml"
    path.write_bytes('[bench]\nname = "Müller"\n'.encode("latin-1"))
    assert main(["measure", "iv", "--config", str(path), "--database", f"sqlite:///{tmp_path / 'x.db'}"]) == 2
    one_line_error(capsys, "UTF-8")


def test_an_export_onto_existing_files_is_refused_unless_asked(tmp_path, capsys):
    database = f"sqlite:///{tmp_path / 'e.db'}"
    argv = ["measure", "iv", "--config", str(bench_file(tmp_path)), "--database", database, "--quiet"]
    assert main([*argv, "--devices", "A1:0:0", "--param=step_v=0.2"]) == 0
    export = ["db", "export", "1", "--database", database, "--out", str(tmp_path), "--format", "csv"]
    assert main(export) == 0
    written = {path: path.read_bytes() for path in tmp_path.glob("*.csv")}
    assert main(export) == 2
    one_line_error(capsys, "--overwrite")
    assert {path: path.read_bytes() for path in tmp_path.glob("*.csv")} == written
    assert main([*export, "--overwrite"]) == 0


def test_a_temperature_below_absolute_zero_is_one_line(tmp_path, capsys):
    database = f"sqlite:///{tmp_path / 't.db'}"
    argv = ["measure", "retention", "--config", str(bench_file(tmp_path)), "--database", database]
    assert main([*argv, "--param", "temperature_c=-300"]) == 2
    one_line_error(capsys, "temperature_c", "absolute zero")
