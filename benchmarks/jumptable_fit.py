"""Jump-table fitting and sampling throughput, each beside a baseline measured in the same run.

1. Fit: `JumpTable.fit` on N (G before, dG) pairs (half SET, half RESET, 50 equal-width bins, 101-point
   grid), against pandas: the same bins by `pd.cut`, then `groupby([kind, bin]).quantile(grid)`. Goal:
   <= 1 s for 10^7 pairs and >= 5x faster than pandas.
2. Sampling: `JumpTable.sample` for 10^7 devices at once (inverse CDF, integer indexing), against a
   per-device Python loop over `np.interp` on the same table (on 10^4 devices, scaled). Goal: 10^8
   draws/s class.
3. End to end from the database: a SQLite file holding ``--db-pulses`` pulse-train pulses, each read
   before and after (built once, reused from ``--db-folder``): the columnar path (cold: first read of a
   completed run, ADBC in a child process into the Parquet cache; warm: from the cache) plus pairing
   plus fit, against `labrram.db.pulses`/`reads` (the row path) plus the same pairing and fit.

    python benchmarks/jumptable_fit.py [--pairs 10000000] [--db-pulses 1000000] [--db-folder DIR]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from timing import best_of

from labrram.analysis.jumptable import JumpTable
from labrram.analysis.responses import PULSE_KINDS, PulseResponses, pulse_responses
from labrram.bench import DeviceAddress
from labrram.config import parse_config
from labrram.db import Recorder, Selection, open_database, pulses, reads
from labrram.db.columnar import record_table
from labrram.records import RunStarted

BINS, GRID = 50, 101


def synthetic(count: int, rng: np.random.Generator) -> PulseResponses:
    g = rng.uniform(100e-6, 500e-6, count)
    x = (g - 100e-6) / 400e-6
    sign = np.where(np.arange(count) < count // 2, 1.0, -1.0)
    delta = sign * (2e-6 * (1 - x) + (0.2e-6 + 0.5e-6 * x) * rng.standard_normal(count))
    kind = pd.Categorical(np.where(sign > 0, "SET", "RESET"), categories=PULSE_KINDS)
    ids = np.zeros(count, dtype=np.int64)
    return PulseResponses(
        g, delta, kind, 1.2 * sign, np.full(count, 1e-7), np.full(count, np.nan), ids, ids + 1, ids
    )


def pandas_fit(responses: PulseResponses) -> pd.Series:
    frame = pd.DataFrame(
        {"kind": np.asarray(responses.kind), "g": responses.g_before_s, "dg": responses.delta_s}
    )
    frame["bin"] = pd.cut(frame["g"], BINS, labels=False)
    return frame.groupby(["kind", "bin"])["dg"].quantile(list(np.linspace(0, 1, GRID)))


def fit_benchmark(pairs: int) -> None:
    responses = synthetic(pairs, np.random.default_rng(0))
    ours = best_of(3, lambda: JumpTable.fit(responses, bins=BINS, grid=GRID))
    theirs = best_of(1, lambda: pandas_fit(responses))
    table = JumpTable.fit(responses, bins=BINS, grid=GRID)
    reference = pandas_fit(responses)
    ours_median = table.curves("SET")["median_s"]
    theirs_median = reference.loc["SET"].xs(0.5, level=1).to_numpy()
    agree = np.allclose(ours_median, theirs_median, rtol=1e-9, atol=1e-15)
    print(f"fit of {pairs:.0e} pairs: JumpTable.fit {ours:.2f} s, pandas groupby/quantile {theirs:.2f} s")
    print(f"  ratio pandas/ours {theirs / ours:.1f}x (goal >= 5x), ours {ours:.2f} s (goal <= 1 s)")
    print(f"  per-bin medians equal to pandas': {agree}")


def sampling_benchmark(draws: int) -> None:
    table = JumpTable.fit(synthetic(1_000_000, np.random.default_rng(1)), bins=BINS, grid=GRID)
    g = np.random.default_rng(2).uniform(100e-6, 500e-6, draws)
    rng = np.random.default_rng(3)
    ours = best_of(3, lambda: table.sample(g, "SET", rng))
    response = table.responses["SET"]
    few = g[:10_000]

    def loop() -> None:
        local = np.random.default_rng(4)
        for value in few:
            row = response.quantiles_s[0, int(response.bin_of(np.array([value]))[0])]
            np.interp(local.random(), response.probabilities, row)

    theirs = best_of(1, loop) * draws / few.size
    print(f"sampling {draws:.0e} draws: {draws / ours:.3g} draws/s vectorized")
    print(f"  per-device loop {draws / theirs:.3g} draws/s")
    print(f"  ratio {theirs / ours:.0f}x (goal: 1e8 draws/s class)")


PULSE_SQL = (
    "INSERT INTO pulse (run_id, device_id, seq, t_s, amplitude_v, width_s, kind, compliance_a, current_a) "
    "VALUES (?, ?, ?, ?, 1.2, 2e-7, 'SET', NULL, 1e-4)"
)
READ_SQL = (
    "INSERT INTO read (run_id, device_id, seq, t_s, voltage_v, current_a, conductance_s) "
    "VALUES (?, ?, ?, ?, 0.2, ?, ?)"
)


def build_database(path: Path, count: int) -> str:
    """A completed pulse-train run of ``count`` SET pulses on 64 devices, each read before and after."""
    url = f"sqlite:///{path}"
    if path.exists():
        return url
    building = path.with_suffix(".building")
    building.unlink(missing_ok=True)
    config = parse_config(
        {"bench": {"name": "bench", "seed": 1}, "sample": {"chip": "bench", "preset": "tio2-passive-8x8"}}
    )
    engine = open_database(f"sqlite:///{building}")
    devices = tuple(DeviceAddress("A1", r, c) for r in range(8) for c in range(8))
    recorder = Recorder(engine, "bench", config.sample)
    recorder.write(RunStarted("pulse_train", {}, devices))
    recorder.finish("completed")
    ids = np.array([recorder._devices[d] for d in devices])
    engine.dispose()
    rng = np.random.default_rng(5)
    device = np.repeat(ids, count // 64)
    before = rng.uniform(100e-6, 500e-6, device.size)
    after = before + rng.normal(1e-6, 0.5e-6, device.size)
    seq = np.arange(device.size) * 3
    run = recorder.run_id
    with closing(sqlite3.connect(building)) as connection, connection:
        connection.executemany(
            PULSE_SQL, ((run, int(d), int(s) + 1, float(s)) for d, s in zip(device, seq, strict=True))
        )
        for offset, values in ((0, before), (2, after)):
            connection.executemany(
                READ_SQL,
                (
                    (run, int(d), int(s) + offset, float(s), 0.2 * x, float(x))
                    for d, s, x in zip(device, seq, values, strict=True)
                ),
            )
    # Fold the write-ahead log into the file before it takes its final name (the log keeps the old one).
    with closing(sqlite3.connect(building)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("PRAGMA journal_mode=DELETE")
    building.rename(path)
    return url


def _as_table(frame: pd.DataFrame) -> pa.Table:
    """A row-query frame as the columnar tables look (a device id from row and column)."""
    columns = {name: frame[name] for name in frame.columns if name not in ("chip", "array", "row", "col")}
    columns["device_id"] = frame["row"] * 8 + frame["col"]
    return pa.table({name: pa.array(values.to_numpy()) for name, values in columns.items()})


def database_benchmark(count: int, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    url = build_database(folder / f"jumptable-{count}.db", count)
    engine = open_database(url)
    cache = Path(tempfile.mkdtemp(prefix="labrram-bench-cache-"))

    def columnar() -> JumpTable:
        pulse_table = record_table(engine, "pulse", cache=cache)
        read_table = record_table(
            engine, "read", cache=cache, columns=("run_id", "device_id", "seq", "conductance_s")
        )
        return JumpTable.fit(pulse_responses(pulse_table, read_table), bins=BINS)

    def rows() -> JumpTable:
        pulse_frame, read_frame = pulses(engine, Selection()), reads(engine, Selection())
        return JumpTable.fit(pulse_responses(_as_table(pulse_frame), _as_table(read_frame)), bins=BINS)

    cold = best_of(1, columnar)
    warm = best_of(3, columnar)
    baseline = best_of(1, rows)
    print(f"from the database ({count:.0e} pulses, {3 * count:.0e} records):")
    print(f"  columnar path + pairing + fit: cold {cold:.2f} s, warm {warm:.2f} s")
    print(f"  row path (pulses()/reads()) + the same: {baseline:.2f} s")
    print(f"  ratio row/columnar: {baseline / warm:.1f}x warm, {baseline / cold:.1f}x cold")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=10_000_000)
    parser.add_argument("--draws", type=int, default=10_000_000)
    parser.add_argument("--db-pulses", type=int, default=1_000_000)
    parser.add_argument("--db-folder", default=str(Path(tempfile.gettempdir()) / "labrram-bench"))
    args = parser.parse_args()
    fit_benchmark(args.pairs)
    sampling_benchmark(args.draws)
    if args.db_pulses:
        database_benchmark(args.db_pulses, Path(args.db_folder))


if __name__ == "__main__":
    main()
