"""Pulse + read cycles per second through the whole stack, beside the direct chip call, in one run.

The same cycle (select once, then a 100 us pulse at alternating +-1 V and a 0.2 V read) on the TiO2
8x8 preset through: the direct simulated bench (no drivers); the driver-backed matrix bench on the
in-process simulated VISA library; and that bench over loopback TCP via pyvisa-py to a
``labrram sim-server`` process. Each driver path runs with the two SMUs on connections of their own
(a pulse and its bias: 3 messages) and with smu2 on smu1's TSP-Link (1 message), and on seed 002's pulse
bench (a 4200A-SCS's PMU channels under KXCI: a test, its status and its data, plus the 707B's timer:
4 messages). Goals: >= 10,000/s in process and >= 2,000/s over TCP (real instruments manage ~10^3).

    python benchmarks/bench_cycles.py [--cycles 2000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from labrram.bench import Bench
from labrram.bench.factory import connect_bench, direct_simulated_bench, simulated_instrument_bench
from labrram.config import BenchConfig, load_config

BENCH_FILE = """\
[bench]
name = "cycles"
seed = 1
read_duration_s = 1e-4

[sample]
chip = "c"
preset = "tio2-passive-8x8"

[instruments]
visa_library = "@py"
matrix = {{ driver = "keithley707b", resource = "GPIB0::16::INSTR" }}
{sources}
"""
SOURCES = {
    None: 'smu1 = { driver = "keithley2600b", resource = "GPIB0::26::INSTR" }\n'
    'smu2 = { driver = "keithley2600b", resource = "GPIB0::27::INSTR" }',
    2: 'smu1 = { driver = "keithley2600b", resource = "GPIB0::26::INSTR" }\n'
    'smu2 = { driver = "keithley2600b", tsp_link_node = 2 }',
    "pulser": 'pulser = { driver = "keithley4200a", resource = "TCPIP0::localhost::1225::SOCKET" }',
}


def cycles_per_second(bench: Bench, cycles: int) -> float:
    bench.select(3, 4)
    start = time.perf_counter()
    for i in range(cycles):
        bench.pulse(1.0 if i % 2 else -1.0, 1e-4)
        bench.read(0.2)
    return cycles / (time.perf_counter() - start)


def bench_config(folder: Path, sources: int | str | None) -> BenchConfig:
    bench_file = folder / f"cycles-{sources}.toml"
    bench_file.write_text(BENCH_FILE.format(sources=SOURCES[sources]), encoding="utf-8")
    return load_config(bench_file)


def over_tcp_to_sim_server(folder: Path, sources: int | str | None, cycles: int) -> float:
    config = bench_config(folder, sources)
    bench_file = folder / f"cycles-{sources}.toml"
    command = [sys.executable, "-m", "labrram.cli", "sim-server", "--config", str(bench_file), "--port", "0"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        lines = [server.stdout.readline()]
        while not lines[-1].startswith("Ctrl-C"):
            lines.append(server.stdout.readline())
        resources = dict(line.split() for line in lines[1:-1])
        node = sources if isinstance(sources, int) else None
        bench = connect_bench(config, resources, "@py", instrument_clock=True, tsp_link_node=node)
        try:
            return cycles_per_second(bench, cycles)
        finally:
            bench.disconnect()
    finally:
        server.terminate()
        server.wait(timeout=10)


def in_process(folder: Path, sources: int | str | None, cycles: int) -> float:
    node = sources if isinstance(sources, int) else None
    return cycles_per_second(simulated_instrument_bench(bench_config(folder, sources), node)[0], cycles)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=2000)
    args = parser.parse_args()
    tcp_cycles = max(1, args.cycles // 4)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        direct = cycles_per_second(direct_simulated_bench(bench_config(folder, None)), args.cycles)
        rates = [
            ("drivers, in-process VISA", in_process(folder, None, args.cycles), 1e4),
            ("  with smu2 on TSP-Link", in_process(folder, 2, args.cycles), 1e4),
            ("  4200A-SCS PMU bench", in_process(folder, "pulser", args.cycles), 1e4),
            ("drivers, TCP to sim-server", over_tcp_to_sim_server(folder, None, tcp_cycles), 2e3),
            ("  with smu2 on TSP-Link", over_tcp_to_sim_server(folder, 2, tcp_cycles), 2e3),
            ("  4200A-SCS PMU bench", over_tcp_to_sim_server(folder, "pulser", tcp_cycles), 2e3),
        ]
    print("pulse + read cycles per second (TiO2 8x8, V/3, 100 us pulses)")
    print(f"  direct chip bench              {direct:9.0f} /s   1.00x")
    for label, rate, goal in rates:
        print(f"  {label:<30} {rate:9.0f} /s   {rate / direct:.3f}x   goal {goal:,.0f}/s: {rate / goal:.2f}x")


if __name__ == "__main__":
    main()
