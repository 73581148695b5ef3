"""Tuning independent devices: the parallel state machine beside today's device-by-device path.

Alibart tuning (1 us pulses, the HfO2 1T1R technology, formed devices) to random targets in 60-150 uS on
a 256x256 1T1R array: `tune_parallel` over every device, then the same procedure device by device
(`tune_devices`) on a sample of them, both on the direct simulated bench in the same run. Prints devices
tuned per second (goal >= 10,000/s for 256x256), device-pulses per second, and the parallel run's
records written by the Recorder into SQLite (the records as the sequential procedure yields them).

    python benchmarks/tuning_parallel.py [--side 256] [--sequential 200]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from labrram.bench import DeviceAddress
from labrram.bench.factory import direct_simulated_bench
from labrram.config import BenchConfig, parse_config
from labrram.db import Recorder, open_database
from labrram.procedures.parallel_tuning import parallel_tuning_run, tune_parallel
from labrram.procedures.tuning import AlibartSettings, tune_devices

SETTINGS = AlibartSettings(
    width_s=1e-6, set_start_v=0.6, set_stop_v=1.2, reset_start_v=-1.0, reset_stop_v=-1.8, max_pulses=400
)


def config(side: int) -> BenchConfig:
    return parse_config(
        {
            "bench": {"name": "parallel", "seed": 3},
            "sample": {
                "chip": "chip-1t1r",
                "preset": "hfo2-1t1r",
                "overrides": {"virgin_fraction": 0.0},
                "arrays": [{"name": "M1", "rows": side, "cols": side}],
            },
            "safety": {"max_positive_v": 3.0, "max_negative_v": 3.0, "max_compliance_a": 1e-3},
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=256)
    parser.add_argument("--sequential", type=int, default=200, help="devices tuned one by one (baseline)")
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    devices = [DeviceAddress("M1", r, c) for r in range(args.side) for c in range(args.side)]
    targets = {d: float(rng.uniform(60e-6, 150e-6)) for d in devices}

    bench = direct_simulated_bench(config(args.side))
    start = time.perf_counter()
    columns = tune_parallel(bench, targets, SETTINGS)
    parallel_s = time.perf_counter() - start
    pulses = int(columns.outcome.pulses.sum())

    sample = dict(list(targets.items())[: args.sequential])
    bench = direct_simulated_bench(config(args.side))
    start = time.perf_counter()
    sequential_pulses = sum(
        1 for record in tune_devices(bench, sample, SETTINGS) if type(record).__name__ == "Pulse"
    )
    sequential_s = time.perf_counter() - start

    recorded = dict(list(targets.items())[: min(len(targets), 4096)])
    bench = direct_simulated_bench(config(args.side))
    with tempfile.TemporaryDirectory() as folder:
        engine = open_database(f"sqlite:///{Path(folder) / 'parallel.db'}")
        recorder = Recorder(engine, "parallel", config(args.side).sample)
        start = time.perf_counter()
        recorder.record(parallel_tuning_run(bench, recorded, SETTINGS))
        recorded_s = time.perf_counter() - start

    parallel_rate, sequential_rate = len(targets) / parallel_s, len(sample) / sequential_s
    print(f"Alibart tuning of a {args.side}x{args.side} 1T1R array (HfO2, 1 us pulses)")
    print(
        f"  parallel, {len(targets)} devices      {parallel_s:7.2f} s  {parallel_rate:9.0f} devices/s  "
        f"{pulses / parallel_s:11.3g} device-pulses/s  success {columns.outcome.success.mean():.1%}  "
        f"goal 10,000/s: {parallel_rate / 1e4:.2f}x"
    )
    print(
        f"  device by device, {len(sample)} devices {sequential_s:7.2f} s  {sequential_rate:9.0f} devices/s  "
        f"{sequential_pulses / sequential_s:11.3g} device-pulses/s"
    )
    print(f"  parallel / device by device: {parallel_rate / sequential_rate:.0f}x")
    print(
        f"  parallel with every record into SQLite, {len(recorded)} devices: {recorded_s:.2f} s, "
        f"{len(recorded) / recorded_s:.0f} devices/s (blocks of rows; SQLite inserts are the limit)"
    )


if __name__ == "__main__":
    main()
