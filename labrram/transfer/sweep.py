"""Sweeps of many transfer evaluations (networks x device models x times), locally or on a Dask cluster.

Each point of the sweep is a self-contained task: it trains its network and evaluates it with its own
seed (derived from the sweep's seed and the point's place in the sweep), so the results are the same
whether the points run one after another here, in local processes, or on the workers of a Dask
distributed cluster (``scheduler`` = its address; needs ``pip install labrram[dask]``).
"""

from __future__ import annotations

import itertools
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from labrram.analysis.model import DeviceModel
from labrram.errors import LabrramError
from labrram.transfer.datasets import load_task
from labrram.transfer.evaluate import evaluate_task
from labrram.transfer.montecarlo import TransferSettings
from labrram.transfer.network import parse_sizes
from labrram.transfer.training import TrainingSettings


@dataclass(frozen=True)
class SweepPoint:
    """One evaluation: task, network, model file, time after programming, seed."""

    task: str
    network: str
    model_path: str
    time_s: float | None
    seed: int
    training: TrainingSettings
    transfer: TransferSettings
    hardware_aware: bool


def points(
    task: str,
    networks: list[str],
    models: list[str],
    times_s: list[float | None],
    training: TrainingSettings,
    transfer: TransferSettings,
    hardware_aware: bool,
    seed: int = 0,
) -> list[SweepPoint]:
    """Every combination, each with its own seed."""
    combos = itertools.product(networks, models, times_s)
    return [
        SweepPoint(
            task,
            net,
            str(Path(model)),
            time_s,
            seed + 1000 * i,
            replace(training, seed=seed + 1000 * i),
            replace(transfer, time_s=time_s),
            hardware_aware,
        )
        for i, (net, model, time_s) in enumerate(combos)
    ]


def run_point(point: SweepPoint) -> dict[str, Any]:
    """Train and evaluate one point; plain data back (picklable for processes and Dask workers)."""
    dataset = load_task(point.task, point.seed)
    model = DeviceModel.load(point.model_path)
    evaluations = evaluate_task(
        dataset,
        model,
        parse_sizes(point.network),
        point.training,
        point.transfer,
        hardware_aware=point.hardware_aware,
        seed=point.seed,
    )
    return {
        "task": point.task,
        "network": point.network,
        "model": point.model_path,
        "time_s": point.time_s,
        "seed": point.seed,
        "results": [
            {key: value for key, value in e.to_dict().items() if key != "consistency_table"}
            for e in evaluations
        ],
    }


def run_sweep(
    sweep: list[SweepPoint], scheduler: str | None = None, workers: int = 1
) -> list[dict[str, Any]]:
    """Run every point: on a Dask cluster at ``scheduler``, in ``workers`` local processes, or here."""
    if scheduler:
        try:
            from dask.distributed import Client
        except ImportError:
            raise LabrramError(
                "a Dask scheduler was given but dask.distributed is not installed: "
                "pip install 'labrram[dask]'"
            ) from None
        with Client(scheduler) as client:
            futures = client.map(run_point, sweep, pure=False)
            return client.gather(futures)
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            return list(pool.map(run_point, sweep))
    return [run_point(point) for point in sweep]
