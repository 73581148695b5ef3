"""Transfer simulation and hardware-aware training speed, each beside a plain-numpy baseline of the same run.

1. T Monte Carlo transfers (every non-ideality sampled, inference of the whole test set for every
   transfer) against T plain forward passes of the same network on the same test set, one after
   another. Goal: <= 1.5x the baseline's time.
2. One hardware-aware epoch (a transfer sampled per batch) against one plain epoch. Goal: <= 2x.

Both on seed 002's moons network (2-8-1) and on the digits network (64-32-10), with a device model of
seed 002's figures (tuning spread and offset, disturbance by order, 0.5% stuck devices each way).

    python benchmarks/transfer_throughput.py [--transfers 1000]
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import best_of

from labrram.analysis import DeviceModel, DisturbanceByOrder, StuckDevices, TuningImprecision
from labrram.transfer import MLP, TrainingSettings, TransferSettings, digits, moons, transfer_correctness
from labrram.transfer.training import train, train_hardware_aware


def seed_002_model() -> DeviceModel:
    rng = np.random.default_rng(0)
    target = np.repeat(np.linspace(100e-6, 500e-6, 8), 500)
    tuning = TuningImprecision.fit(target, target * (1 - 0.006 + 0.005 * rng.standard_normal(target.size)))
    n = np.repeat(np.arange(1, 64), 300)
    sd = 8e-6 + 14e-6 * (np.minimum(n, 30) - 1) / 29
    disturbance = DisturbanceByOrder.fit(n, sd * rng.standard_normal(n.size), max_abs_s=None)
    states = ["HRS"] * 50 + ["LRS"] * 50
    stuck = StuckDevices.fit(
        10_000, states, [*rng.uniform(10e-6, 100e-6, 50), *rng.normal(573e-6, 99e-6, 50)]
    )
    scheme = {"order": "column-major", "array_rows": 8, "array_cols": 8}
    return DeviceModel((100e-6, 500e-6), scheme, tuning=tuning, disturbance=disturbance, stuck=stuck)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--transfers", type=int, default=1000)
    args = parser.parse_args()
    model = seed_002_model()
    for name, dataset, sizes, batch in (
        ("moons", moons(0), (2, 8, 1), 256),
        ("digits", digits(0), (64, 32, 10), 64),
    ):
        network = MLP.create(sizes, "sigmoid", np.random.default_rng(0))
        train(network, dataset, TrainingSettings(epochs=20, batch_size=batch))
        settings = TransferSettings(transfers=args.transfers)
        x, y = dataset.x_test, dataset.y_test

        def simulated(network=network, x=x, y=y, settings=settings) -> None:
            transfer_correctness(network, x, y, model, settings, seed=1)

        def plain_passes(network=network, x=x) -> None:
            for _ in range(args.transfers):
                network.predict(x)

        ours, theirs = best_of(3, simulated), best_of(3, plain_passes)
        print(f"{name} {sizes}: {args.transfers} transfers {ours:.3f} s")
        print(f"  {args.transfers} plain forward passes {theirs:.3f} s")
        print(f"  ratio {ours / theirs:.2f}x (goal <= 1.5x)")

        def epoch(aware: bool, network=network, dataset=dataset, batch=batch) -> None:
            copy = network.copy()
            one = TrainingSettings(epochs=1, batch_size=batch)
            if aware:
                train_hardware_aware(copy, dataset, model, one)
            else:
                train(copy, dataset, one)

        aware, plain = best_of(5, lambda: epoch(True)), best_of(5, lambda: epoch(False))
        print(f"  hardware-aware epoch {aware * 1e3:.1f} ms, plain epoch {plain * 1e3:.1f} ms")
        print(f"  ratio {aware / plain:.2f}x (goal <= 2x)")


if __name__ == "__main__":
    main()
