"""Tuning a 64x64 TiO2 passive array end to end: procedure, bench, physics and database together.

Alibart tuning (seed 002 settings) of every device of a 64x64 array of the tio2-passive-8x8 technology
under the V/3 scheme, to random targets in 150-450 uS, recorded into a fresh SQLite file. Prints devices
per second and where the time goes: in the chip physics, in the bench around it, in the database
(Recorder batches), and in the procedure itself (the rest: the algorithm and its records), and the rate
the physics alone would allow; beside it, the same chip tuned with stuck devices pulsed to the whole
budget (``unresponsive_pulses=0``), the baseline.

    python benchmarks/tuning_array.py [--devices 4096] [--preset tio2-passive-8x8@1]
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


def tune_array(
    devices: int, settings: AlibartSettings, preset: str
) -> tuple[float, int, int, dict[str, float]]:
    """Seconds, pulses, pulses on stuck devices and where the time went, tuning ``devices`` of a fresh
    64x64 chip of ``preset`` (same seed)."""
    config = parse_config(
        {
            "bench": {"name": "bench-64", "seed": 1},
            "sample": {
                "chip": "chip-64",
                "preset": preset,
                "arrays": [{"rows": ROWS, "cols": COLS}],
            },
        }
    )
    bench = direct_simulated_bench(config)
    addresses = [DeviceAddress("A1", r, c) for c in range(COLS) for r in range(ROWS)][:devices]
    rng = np.random.default_rng(1)
    targets = {d: float(rng.uniform(150e-6, 450e-6)) for d in addresses}

    physics, bench_total, database = Stopwatch(), Stopwatch(), Stopwatch()
    chip = bench.chip
    for name in ("apply", "pulse_lines", "measure"):
        setattr(chip, name, physics.wrap(getattr(chip, name)))
    pulses = np.zeros((ROWS, COLS), dtype=int)
    pulse = bench.pulse

    def counted(*args: Any, **kwargs: Any) -> Any:
        pulses[bench.selected.row, bench.selected.col] += 1
        return pulse(*args, **kwargs)

    bench.pulse = counted
    for name in ("pulse", "read", "select"):
        setattr(bench, name, bench_total.wrap(getattr(bench, name)))
    with tempfile.TemporaryDirectory() as folder:
        engine = open_database(f"sqlite:///{Path(folder) / 'tuning.db'}")
        recorder = Recorder(engine, config.name, config.sample)
        recorder.flush, recorder.finish = database.wrap(recorder.flush), database.wrap(recorder.finish)
        start = time.perf_counter()
        recorder.record(tune_devices(bench, targets, settings))
        total = time.perf_counter() - start
    shares = {
        "physics": physics.seconds,
        "bench": bench_total.seconds - physics.seconds,
        "database": database.seconds,
        "procedure": total - bench_total.seconds - database.seconds,
    }
    stuck = chip.arrays["A1"].stuck_map() != 0
    return total, int(pulses.sum()), int(pulses[stuck].sum()), shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=ROWS * COLS, help="how many devices (column-major)")
    parser.add_argument("--preset", default="tio2-passive-8x8", help="a passive preset, NAME or NAME@VERSION")
    args = parser.parse_args()
    baseline = tune_array(args.devices, AlibartSettings(unresponsive_pulses=0), args.preset)
    total, pulses, on_stuck, shares = tune_array(args.devices, AlibartSettings(), args.preset)
    print(f"{args.devices} devices of a {ROWS}x{COLS} {args.preset} array tuned and recorded")
    for label, (seconds, count, stuck_count) in (
        ("stuck devices stopped (unresponsive_pulses=50)", (total, pulses, on_stuck)),
        ("stuck devices pulsed to the 2000-pulse budget", baseline[:3]),
    ):
        print(
            f"  {label:<48} {seconds:6.1f} s  {args.devices / seconds:6.1f} devices/s  {count:8d} pulses, "
            f"{stuck_count:7d} on stuck devices ({stuck_count / max(count, 1):.1%})"
        )
    print(f"  time ratio baseline / stopped: {baseline[0] / total:.2f}x; where the time went (stopped):")
    for label, seconds in shares.items():
        print(f"  {label:<10} {seconds:7.2f} s  {seconds / total:6.1%}")
    # What the exact physics allows on this machine if every other layer cost nothing.
    print(f"  physics alone bounds the rate at {args.devices / shares['physics']:.1f} devices/s")


if __name__ == "__main__":
    main()
