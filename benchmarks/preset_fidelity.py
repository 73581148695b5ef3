"""How close the tio2-passive-8x8 preset comes to the measured V/3 disturbance of seed 002.

Programs simulated 8x8 crossbars column-major by Alibart tuning (seed 002's: the full pulse budget for
every device, stuck ones too) to random targets in 150-450 uS, reads
the whole array back at the end, and compares the conductance change of each device against the number N
of devices programmed after it (simulated N pooled over a few neighbouring values) with the measured
database in shared/data/drolet-tio2-xbar (REFERENCE.md's table). Prints simulated / measured ratios.

With ``--blocks B``, B blocks of ``--chips`` chips each (different seeds): the simulated sd by N as the
median and 5-95% range over blocks (how much a measurement on that many chips can vary), beside the
measured sd with its bootstrap 95% interval.

    python benchmarks/preset_fidelity.py [--chips 6] [--blocks 20] [--preset NAME@N] [--data ../shared/data]
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


def simulate(
    chips: int, overrides: dict[str, float], first_seed: int = 0, preset: str = "tio2-passive-8x8"
) -> dict[int, np.ndarray]:
    """Disturbance samples (siemens) by N, pooled over ``chips`` simulated crossbars."""
    pooled: dict[int, list[float]] = {}
    for seed in range(first_seed, first_seed + chips):
        config = parse_config(
            {
                "bench": {"name": "fidelity", "seed": seed},
                "sample": {
                    "chip": f"c{seed}",
                    "preset": preset,
                    "overrides": overrides,
                },
            }
        )
        bench = direct_simulated_bench(config)
        rng = np.random.default_rng(1000 + seed)
        targets = rng.uniform(150e-6, 450e-6, size=(8, 8))
        # Seed 002 tuned every device to its full pulse budget: stuck devices too (no early stop), and the
        # neighbours of a stuck device take the whole ramp's V/3.
        settings = AlibartSettings(unresponsive_pulses=0)
        records = program_array(bench, "A1", targets, settings, order="column-major")
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


def pooled_sd(samples: dict[int, np.ndarray], n: int) -> float:
    """sd (uS) of the disturbance samples pooled over the N values around ``n``."""
    return float(np.concatenate([samples[k] for k in POOL[n] if k in samples]).std(ddof=1) * 1e6)


def bootstrap_sd(values: np.ndarray, rng: np.random.Generator, rounds: int = 1000) -> tuple[float, float]:
    """95% interval (uS) of the sd of ``values`` over resamples."""
    sds = [rng.choice(values, values.size).std(ddof=1) * 1e6 for _ in range(rounds)]
    return float(np.percentile(sds, 2.5)), float(np.percentile(sds, 97.5))


def blocks_table(
    blocks: int, chips: int, overrides: dict[str, float], real: dict[int, np.ndarray], preset: str
) -> None:
    """Simulated sd by N over blocks of chips beside the measured sd and its bootstrap interval."""
    sds = np.array(
        [[pooled_sd(simulate(chips, overrides, b * chips, preset), n) for n in ORDERS] for b in range(blocks)]
    )
    rng = np.random.default_rng(0)
    print(f"sd of dG (uS) by N: {blocks} blocks of {chips} chips (median, 5-95%) | measured (95% interval)")
    for column, n in enumerate(ORDERS):
        low, median, high = np.percentile(sds[:, column], [5, 50, 95])
        line = f"N={n:<3} {median:6.1f} ({low:5.1f}-{high:5.1f})"
        if n in real:
            interval = bootstrap_sd(real[n], rng)
            line += f"   {real[n].std(ddof=1) * 1e6:6.1f} ({interval[0]:5.1f}-{interval[1]:5.1f})"
        print(line)
    ratio = sds[:, -1] / sds[:, 0]
    low, median, high = np.percentile(ratio, [5, 50, 95])
    measured_ratio = real[30].std() / real[1].std() if 1 in real and 30 in real else float("nan")
    print(f"sd(N=30) / sd(N=1): {median:.1f} ({low:.1f}-{high:.1f}); measured {measured_ratio:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chips", type=int, default=6)
    parser.add_argument(
        "--preset", default="tio2-passive-8x8", help="a version pinned as name@N, or the newest"
    )
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[2] / "shared" / "data")
    parser.add_argument("--blocks", type=int, default=0, help="blocks of --chips chips for intervals")
    parser.add_argument("--set", nargs=2, action="append", default=[], metavar=("PARAM", "VALUE"))
    args = parser.parse_args()
    overrides = {name: float(value) for name, value in args.set}
    real = measured(args.data) if args.data.exists() else {}
    if args.blocks:
        blocks_table(args.blocks, args.chips, overrides, real, args.preset)
        return
    sim = simulate(args.chips, overrides, preset=args.preset)
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
