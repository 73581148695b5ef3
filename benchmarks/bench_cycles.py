"""Pulse + read cycles per second through the whole stack, beside the direct chip call, in one run.

The same cycle (select once, then a 100 us pulse at alternating +-1 V and a 0.2 V read) on the TiO2
8x8 preset through: the direct simulated bench (no drivers); the driver-backed matrix bench on the
in-process simulated VISA library; and that bench over loopback TCP via pyvisa-py to a
``labrram sim-server`` process. Each driver path runs with the two SMUs on connections of their own
(a pulse and its bias: 3 messages) and with smu2 on smu1's TSP-Link (1 message). Goals: >= 10,000/s
in process and >= 2,000/s over TCP (real instruments manage ~10^3).

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
smu1 = {{ driver = "keithley2600b", resource = "GPIB0::26::INSTR" }}
smu2 = {{ driver = "keithley2600b", {smu2} }}
"""
SMU2 = {None: 'resource = "GPIB0::27::INSTR"', 2: "tsp_link_node = 2"}


def cycles_per_second(bench: Bench, cycles: int) -> float:
    bench.select(3, 4)
    start = time.perf_counter()
    for i in range(cycles):
        bench.pulse(1.0 if i % 2 else -1.0, 1e-4)
        bench.read(0.2)
    return cycles / (time.perf_counter() - start)


def over_tcp_to_sim_server(folder: Path, tsp_link_node: int | None, cycles: int) -> float:
    bench_file = folder / f"cycles-{tsp_link_node}.toml"
    bench_file.write_text(BENCH_FILE.format(smu2=SMU2[tsp_link_node]), encoding="utf-8")
    config = load_config(bench_file)
    command = [sys.executable, "-m", "labrram.cli", "sim-server", "--config", str(bench_file), "--port", "0"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        lines = [server.stdout.readline() for _ in range(4)]
        resources = dict(line.split() for line in lines[1:])
        bench = connect_bench(config, resources, "@py", instrument_clock=True, tsp_link_node=tsp_link_node)
        try:
            return cycles_per_second(bench, cycles)
        finally:
            bench.disconnect()
    finally:
        server.terminate()
        server.wait(timeout=10)


def in_process(config: BenchConfig, tsp_link_node: int | None, cycles: int) -> float:
    return cycles_per_second(simulated_instrument_bench(config, tsp_link_node)[0], cycles)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=2000)
    args = parser.parse_args()
    tcp_cycles = max(1, args.cycles // 4)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "direct.toml").write_text(BENCH_FILE.format(smu2=SMU2[None]), encoding="utf-8")
        config = load_config(folder / "direct.toml")
        direct = cycles_per_second(direct_simulated_bench(config), args.cycles)
        rates = [
            ("drivers, in-process VISA", in_process(config, None, args.cycles), 1e4),
            ("  with smu2 on TSP-Link", in_process(config, 2, args.cycles), 1e4),
            ("drivers, TCP to sim-server", over_tcp_to_sim_server(folder, None, tcp_cycles), 2e3),
            ("  with smu2 on TSP-Link", over_tcp_to_sim_server(folder, 2, tcp_cycles), 2e3),
        ]
    print("pulse + read cycles per second (TiO2 8x8, V/3, 100 us pulses)")
    print(f"  direct chip bench              {direct:9.0f} /s   1.00x")
    for label, rate, goal in rates:
        print(f"  {label:<30} {rate:9.0f} /s   {rate / direct:.3f}x   goal {goal:,.0f}/s: {rate / goal:.2f}x")


if __name__ == "__main__":
    main()
