"""How close the tio2-passive-8x8 preset comes to the measured V/3 disturbance of seed 002.

Programs simulated 8x8 crossbars column-major by Alibart tuning to random targets in 150-450 uS, reads
the whole array back at the end, and compares the conductance change of each device against the number N
of devices programmed after it (simulated N pooled over a few neighbouring values) with the measured
database in shared/data/drolet-tio2-xbar (REFERENCE.md's table). Prints simulated / measured ratios.

    python benchmarks/preset_fidelity.py [--chips 6] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from labrram.bench.factory import direct_simulated_bench
from labrram.config import parse_config
from labrram.procedures.program import disturbance_by_order, program_array
from labrram.procedures.tuning import AlibartSettings

ORDERS = (1, 5, 10, 20, 30)
POOL = {1: range(1, 3), 5: range(4, 7), 10: range(9, 12), 20: range(18, 23), 30: range(27, 34)}


def simulate(chips: int, overrides: dict[str, float]) -> dict[int, np.ndarray]:
    """Disturbance samples (siemens) by N, pooled over ``chips`` simulated crossbars."""
    pooled: dict[int, list[float]] = {}
    for seed in range(chips):
        config = parse_config(
            {
                "bench": {"name": "fidelity", "seed": seed},
                "sample": {
                    "chip": f"c{seed}",
                    "preset": "tio2-passive-8x8",
                    "overrides": overrides,
                },
            }
        )
        bench = direct_simulated_bench(config)
        rng = np.random.default_rng(1000 + seed)
        targets = rng.uniform(150e-6, 450e-6, size=(8, 8))
        records = program_array(bench, "A1", targets, AlibartSettings(), order="column-major")
        for n, values in disturbance_by_order(records).items():
            pooled.setdefault(n, []).extend(values)
    return {n: np.asarray(v) for n, v in pooled.items()}


def measured(data_dir: Path) -> dict[int, np.ndarray]:
    import pandas as pd

    table = pd.read_csv(data_dir / "drolet-tio2-xbar" / "disturbance_by_order_long.csv")
    return {int(n): group["delta_g_S"].to_numpy() for n, group in table.groupby("n_programmed_after")}


def summary(values: np.ndarray) -> tuple[float, float, float, float]:
    micro = values * 1e6
    return micro.mean(), micro.std(ddof=1), np.percentile(micro, 5), np.percentile(micro, 95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chips", type=int, default=6)
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[2] / "shared" / "data")
    parser.add_argument("--set", nargs=2, action="append", default=[], metavar=("PARAM", "VALUE"))
    args = parser.parse_args()
    overrides = {name: float(value) for name, value in args.set}
    sim = simulate(args.chips, overrides)
    real = measured(args.data) if args.data.exists() else {}
    print("N   sim mean/sd/p5/p95 (uS)            measured mean/sd/p5/p95 (uS)        sd ratio")
    for n in ORDERS:
        s = summary(np.concatenate([sim[k] for k in POOL[n]]))
        line = f"{n:<3} {s[0]:7.2f} {s[1]:6.2f} {s[2]:7.2f} {s[3]:6.2f}"
        if n in real:
            r = summary(real[n])
            line += f"      {r[0]:7.2f} {r[1]:6.2f} {r[2]:7.2f} {r[3]:6.2f}      {s[1] / r[1]:5.2f}"
        print(line)


if __name__ == "__main__":
    main()
