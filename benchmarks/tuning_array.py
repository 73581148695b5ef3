"""Tuning a 64x64 TiO2 passive array end to end: procedure, bench, physics and database together.

Alibart tuning (seed 002 settings) of devices of a 64x64 array of the tio2-passive-8x8 technology under
the V/3 scheme, to random targets in 150-450 uS, recorded into a fresh SQLite file, three ways on the
same chip (same seed): each device's loop run inside the simulated chip (`Bench.run_tuning_loop`, what
`tune_devices` does on a direct bench made with ``runs_loops=True``), the same with stuck devices pulsed
to the whole budget (``unresponsive_pulses=0``), and every read and pulse stepped by the procedure (the
baseline: the path of a bench that does not run the loop itself). Prints devices per second, pulses,
and where the time goes: inside the simulated chip, in the bench around it, in the database (Recorder
batches), and in the procedure itself (the rest: the algorithm and its records).

    python benchmarks/tuning_array.py [--devices 4096] [--preset tio2-passive-8x8@1]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from labrram.bench import DeviceAddress
from labrram.bench.factory import direct_simulated_bench
from labrram.config import parse_config
from labrram.db import Recorder, open_database
from labrram.procedures.tuning import AlibartSettings, tune_devices
from labrram.records import Record, Result

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
    devices: int, settings: AlibartSettings, preset: str, stepped: bool = False
) -> tuple[float, int, int, dict[str, float]]:
    """Seconds, pulses, pulses on stuck devices and where the time went, tuning ``devices`` of a fresh
    64x64 chip of ``preset`` (same seed); ``stepped``: the procedure steps every read and pulse instead
    of letting the simulated bench run each device's loop inside the chip."""
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
    bench = direct_simulated_bench(config, runs_loops=not stepped)
    addresses = [DeviceAddress("A1", r, c) for c in range(COLS) for r in range(ROWS)][:devices]
    rng = np.random.default_rng(1)
    targets = {d: float(rng.uniform(150e-6, 450e-6)) for d in addresses}

    # "physics": inside the simulated chip (its calls, or a whole loop run there); "bench": around it.
    physics, bench_total, database = Stopwatch(), Stopwatch(), Stopwatch()
    chip = bench.chip
    for name in ("apply", "pulse_lines", "measure"):
        setattr(chip, name, physics.wrap(getattr(chip, name)))
    bench.run_tuning_loop = physics.wrap(bench.run_tuning_loop)
    for name in ("pulse", "read", "select", "run_tuning_loop"):
        setattr(bench, name, bench_total.wrap(getattr(bench, name)))
    results: list[Result] = []

    def kept(records: Iterable[Record]) -> Iterator[Record]:
        for record in records:
            if isinstance(record, Result):
                results.append(record)
            yield record

    with tempfile.TemporaryDirectory() as folder:
        engine = open_database(f"sqlite:///{Path(folder) / 'tuning.db'}")
        recorder = Recorder(engine, config.name, config.sample)
        recorder.flush, recorder.finish = database.wrap(recorder.flush), database.wrap(recorder.finish)
        start = time.perf_counter()
        recorder.record(kept(tune_devices(bench, targets, settings)))
        total = time.perf_counter() - start
    shares = {
        "physics": physics.seconds,
        "bench": bench_total.seconds - physics.seconds,
        "database": database.seconds,
        "procedure": total - bench_total.seconds - database.seconds,
    }
    stuck = chip.arrays["A1"].stuck_map() != 0
    pulses = {(r.device.row, r.device.col): r.values["pulses"] for r in results}
    on_stuck = sum(count for (row, col), count in pulses.items() if stuck[row, col])
    return total, sum(pulses.values()), on_stuck, shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=ROWS * COLS, help="how many devices (column-major)")
    parser.add_argument("--preset", default="tio2-passive-8x8", help="a passive preset, NAME or NAME@VERSION")
    args = parser.parse_args()
    for stepped in (False, True):  # compiled loops loaded (or compiled) before timing
        tune_array(1, AlibartSettings(), args.preset, stepped)
    runs = {
        "loop inside the chip, stuck devices stopped": tune_array(
            args.devices, AlibartSettings(), args.preset
        ),
        "loop inside the chip, stuck devices pulsed to the budget": tune_array(
            args.devices, AlibartSettings(unresponsive_pulses=0), args.preset
        ),
        "stepped by the procedure, stuck devices stopped": tune_array(
            args.devices, AlibartSettings(), args.preset, stepped=True
        ),
    }
    print(f"{args.devices} devices of a {ROWS}x{COLS} {args.preset} array tuned and recorded")
    for label, (seconds, count, stuck_count, _) in runs.items():
        print(
            f"  {label:<57} {seconds:6.1f} s  {args.devices / seconds:6.1f} devices/s  {count:8d} pulses, "
            f"{stuck_count:6d} on stuck devices ({stuck_count / max(count, 1):.1%})"
        )
    (loop_s, *_, shares), (budget_s, *_), (stepped_s, *_, stepped_shares) = runs.values()
    speed_up, early_stop = stepped_s / loop_s, budget_s / loop_s
    print(f"  loop inside the chip vs stepped: {speed_up:.2f}x; stuck early stop: {early_stop:.2f}x")
    for name, by_layer in (("loop inside the chip", shares), ("stepped", stepped_shares)):
        total = sum(by_layer.values())
        print(f"  where the time went, {name}:")
        for label, seconds in by_layer.items():
            print(f"    {label:<10} {seconds:7.2f} s  {seconds / total:6.1%}")


if __name__ == "__main__":
    main()
