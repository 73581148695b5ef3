"""Pulse + read cycles per second through the whole stack, beside the direct chip call, in one run.

The same cycle (select once, then a 100 us pulse at alternating +-1 V and a 0.2 V read) on the TiO2
8x8 preset through: the direct simulated bench (no drivers), the driver-backed matrix bench on the
in-process simulated VISA library, and the same bench over loopback TCP to the instrument server via
pyvisa-py. Goals: >= 10,000/s in process and >= 2,000/s over TCP (real instruments manage ~10^3).

    python benchmarks/bench_cycles.py [--cycles 2000]
"""

from __future__ import annotations

import argparse
import time

from labrram.bench import Bench
from labrram.bench.factory import (
    connect_bench,
    direct_simulated_bench,
    simulated_instrument_bench,
    simulated_lab,
)
from labrram.config import parse_config
from labrram.drivers.simulated.server import InstrumentServer


def config():
    return parse_config(
        {
            "bench": {"name": "cycles", "seed": 1, "read_duration_s": 1e-4},
            "sample": {"chip": "c", "preset": "tio2-passive-8x8"},
        }
    )


def cycles_per_second(bench: Bench, cycles: int) -> float:
    bench.select(3, 4)
    start = time.perf_counter()
    for i in range(cycles):
        bench.pulse(1.0 if i % 2 else -1.0, 1e-4)
        bench.read(0.2)
    return cycles / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=2000)
    args = parser.parse_args()
    direct = cycles_per_second(direct_simulated_bench(config()), args.cycles)
    in_process, _ = simulated_instrument_bench(config())
    visa = cycles_per_second(in_process, args.cycles)
    lab = simulated_lab(config())
    with InstrumentServer(lab.emulators()) as server:
        over_tcp = connect_bench(config(), server.resources, "@py", instrument_clock=True)
        tcp = cycles_per_second(over_tcp, max(1, args.cycles // 4))
        over_tcp.disconnect()
    print("pulse + read cycles per second (TiO2 8x8, V/3, 100 us pulses)")
    print(f"  direct chip bench            {direct:9.0f} /s   1.00x")
    for label, rate, goal in (
        ("drivers, in-process VISA", visa, 1e4),
        ("drivers, TCP (pyvisa-py)", tcp, 2e3),
    ):
        print(f"  {label:<28} {rate:9.0f} /s   {rate / direct:.3f}x   goal {goal:,.0f}/s: {rate / goal:.2f}x")


if __name__ == "__main__":
    main()
