"""Tuning a 64x64 TiO2 passive array end to end: procedure, bench, physics and database together.

Alibart tuning (seed 002 settings) of every device of a 64x64 array of the tio2-passive-8x8 technology
under the V/3 scheme, to random targets in 150-450 uS, recorded into a fresh SQLite file. Prints devices
per second and where the time goes: in the chip physics, in the bench around it, in the database
(Recorder batches), and in the procedure itself (the rest: the algorithm and its records).

    python benchmarks/tuning_array.py [--devices 4096]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from labrram.bench import DeviceAddress
from labrram.bench.factory import direct_simulated_bench
from labrram.config import parse_config
from labrram.db import Recorder, open_database
from labrram.procedures.tuning import AlibartSettings, tune_devices

ROWS = COLS = 64


class Stopwatch:
    """Accumulates the time spent inside wrapped callables."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=ROWS * COLS, help="how many devices (column-major)")
    args = parser.parse_args()
    config = parse_config(
        {
            "bench": {"name": "bench-64", "seed": 1},
            "sample": {
                "chip": "chip-64",
                "preset": "tio2-passive-8x8",
                "arrays": [{"rows": ROWS, "cols": COLS}],
            },
        }
    )
    bench = direct_simulated_bench(config)
    devices = [DeviceAddress("A1", r, c) for c in range(COLS) for r in range(ROWS)][: args.devices]
    rng = np.random.default_rng(1)
    targets = {d: float(rng.uniform(150e-6, 450e-6)) for d in devices}

    physics, bench_total, database = Stopwatch(), Stopwatch(), Stopwatch()
    chip = bench.chip
    chip.apply, chip.measure = physics.wrap(chip.apply), physics.wrap(chip.measure)
    for name in ("pulse", "read", "select"):
        setattr(bench, name, bench_total.wrap(getattr(bench, name)))
    with tempfile.TemporaryDirectory() as folder:
        engine = open_database(f"sqlite:///{Path(folder) / 'tuning.db'}")
        recorder = Recorder(engine, config.name, config.sample)
        recorder.flush, recorder.finish = database.wrap(recorder.flush), database.wrap(recorder.finish)
        start = time.perf_counter()
        recorder.record(tune_devices(bench, targets, AlibartSettings()))
        total = time.perf_counter() - start

    bench_only = bench_total.seconds - physics.seconds
    procedure = total - bench_total.seconds - database.seconds
    print(
        f"{len(devices)} devices of a {ROWS}x{COLS} array tuned and recorded in {total:.1f} s: "
        f"{len(devices) / total:.1f} devices/s"
    )
    shares = {
        "physics": physics.seconds,
        "bench": bench_only,
        "database": database.seconds,
        "procedure": procedure,
    }
    for label, seconds in shares.items():
        print(f"  {label:<10} {seconds:7.2f} s  {seconds / total:6.1%}")


if __name__ == "__main__":
    main()
