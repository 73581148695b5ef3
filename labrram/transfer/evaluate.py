"""The question every user ends with: what will these devices do to my network?

`evaluate` runs T simulated transfers of a trained network with a DeviceModel and reports the accuracy
distribution, the software baseline, seed 002's consistency table and, when asked, accuracy against the
time after programming. `evaluate_task` is the whole recipe: train (plain and/or hardware-aware), then
evaluate each network on the same transfers' statistics.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from labrram.analysis.model import DeviceModel
from labrram.transfer.datasets import Dataset
from labrram.transfer.metrics import AccuracySummary
from labrram.transfer.montecarlo import TransferSettings, transfer_correctness
from labrram.transfer.network import MLP
from labrram.transfer.training import TrainingSettings, train, train_hardware_aware


@dataclass
class Evaluation:
    """One network's transfer figures: the summary, the correctness matrix and accuracy vs time."""

    label: str
    network: MLP
    summary: AccuracySummary
    correct: np.ndarray  # (transfers, test samples)
    over_time: list[dict[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "network": list(self.network.sizes),
            **self.summary.to_dict(),
            "accuracy_vs_time": self.over_time,
        }


def evaluate(
    network: MLP,
    dataset: Dataset,
    model: DeviceModel,
    settings: TransferSettings,
    seed: int = 0,
    times_s: tuple[float, ...] = (),
    label: str = "network",
) -> Evaluation:
    """T transfers of ``network`` onto devices of ``model``, tested on the dataset's test set."""
    software = float(np.mean(network.predict(dataset.x_test) == dataset.y_test))
    correct = transfer_correctness(network, dataset.x_test, dataset.y_test, model, settings, seed)
    over_time = []
    for time_s in times_s:
        later = transfer_correctness(
            network, dataset.x_test, dataset.y_test, model, replace(settings, time_s=time_s), seed
        )
        accuracy = later.mean(axis=1)
        summary = AccuracySummary.of(later, software)
        over_time.append(
            {
                "time_s": float(time_s),
                "mean_accuracy": float(accuracy.mean()),
                "p5": float(np.percentile(accuracy, 5)),
                "p95": float(np.percentile(accuracy, 95)),
                "consistent_95": summary.at_least_95,
            }
        )
    return Evaluation(label, network, AccuracySummary.of(correct, software), correct, over_time)


def evaluate_task(
    dataset: Dataset,
    model: DeviceModel,
    sizes: tuple[int, ...],
    training: TrainingSettings,
    transfer: TransferSettings,
    activation: str = "sigmoid",
    hardware_aware: bool = True,
    plain: bool = True,
    times_s: tuple[float, ...] = (),
    seed: int = 0,
) -> list[Evaluation]:
    """Train the plain and/or hardware-aware network from the same initial weights and evaluate both."""
    start = MLP.create(sizes, activation, np.random.default_rng(seed))
    results = []
    if plain:
        network = start.copy()
        train(network, dataset, training)
        results.append(evaluate(network, dataset, model, transfer, seed + 1, times_s, "plain"))
    if hardware_aware:
        network = start.copy()
        train_hardware_aware(network, dataset, model, training, replace(transfer, transfers=1))
        results.append(evaluate(network, dataset, model, transfer, seed + 1, times_s, "hardware-aware"))
    return results
