"""The loopback instrument server: real sockets, one client per instrument, the CLI entry point."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pyvisa

from labrram.drivers.simulated import Simulated707B
from labrram.drivers.simulated.server import InstrumentServer, is_loopback


def test_instruments_answer_over_raw_sockets_and_refuse_a_second_client():
    with InstrumentServer({"matrix": Simulated707B()}) as server:
        resource = server.resources["matrix"]
        assert resource.startswith("TCPIP0::127.0.0.1::") and resource.endswith("::SOCKET")
        manager = pyvisa.ResourceManager("@py")
        first = manager.open_resource(resource, read_termination="\n", write_termination="\n")
        assert "707B" in first.query("*IDN?")
        first.write('channel.close("1A01")')
        assert first.query('print(channel.getclose("allslots"))') == "1A01"
        port = int(resource.split("::")[2])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as second:
            assert second.recv(200) == b""  # closed at once, nothing a client could take for a reply
        assert "707B" in first.query("*IDN?")  # the first client is undisturbed
        first.close()
        time.sleep(0.1)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as third:
            third.sendall(b"*IDN?\n")
            assert b"707B" in third.recv(200)  # free again once the first client left


def test_only_loopback_counts_as_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("localhost")
    assert not is_loopback("192.0.2.1")


def test_the_sim_server_command_serves_the_bench_file_until_stopped():
    process = subprocess.Popen(
        [sys.executable, "-m", "labrram.cli", "sim-server", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [process.stdout.readline() for _ in range(4)]
        resources = [line.split()[-1] for line in lines[1:] if "TCPIP0::127.0.0.1" in line]
        assert len(resources) == 3
        smu = pyvisa.ResourceManager("@py").open_resource(
            resources[1], read_termination="\n", write_termination="\n"
        )
        assert "2636B" in smu.query("*IDN?")
        smu.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
