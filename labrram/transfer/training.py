"""Training: plain Adam, hardware-aware (seed 002) and error-aware binary (seed 001).

Hardware-aware: for every batch the current weights are mapped onto conductances (the mapping's range
re-evaluated each batch, as seed 002 does), one transfer is sampled from the device model, and the
forward and backward passes run on the transferred weights. Their gradient is applied to the
software weights unchanged: w + (w_transferred - w) with the difference held constant, the
"reparametrization trick" of seed 002, a straight-through estimator. Weights whose devices came out
stuck in that transfer get no update for that batch.

Error-aware binary (Hirtzlin et al., seed 001): the forward pass uses sign(w) scaled by the layer's mean
|w| (biases stay real), with a random share ``bit_error_rate`` of the signs flipped each batch; the
gradient reaches the real-valued weights straight through (zeroed where |w| > 1, the usual clipped STE).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from labrram.analysis.model import DeviceModel
from labrram.errors import LabrramError
from labrram.transfer.datasets import Dataset
from labrram.transfer.montecarlo import TransferSettings, transferred_weights
from labrram.transfer.network import MLP, Adam

# The batch's weights and biases as the forward pass sees them, and the masks of what may move.
Perturb = Callable[[MLP, np.random.Generator], tuple[list[np.ndarray], list[np.ndarray], list | None]]


@dataclass(frozen=True)
class TrainingSettings:
    """Seed 002's recipe by default: Adam, learning rate 0.01, batches of 256."""

    epochs: int = 300
    batch_size: int = 256
    learning_rate: float = 0.01
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or not self.learning_rate > 0:
            raise LabrramError("epochs and batch size must be >= 1 and the learning rate > 0")


def _epochs(
    network: MLP, dataset: Dataset, settings: TrainingSettings, perturb: Perturb | None
) -> list[float]:
    rng = np.random.default_rng(settings.seed)
    optimizer = Adam([*network.weights, *network.biases], settings.learning_rate)
    losses = []
    count = dataset.x_train.shape[0]
    for _ in range(settings.epochs):
        order = rng.permutation(count)
        total = 0.0
        for start in range(0, count, settings.batch_size):
            batch = order[start : start + settings.batch_size]
            x, y = dataset.x_train[batch], dataset.y_train[batch]
            if perturb is None:
                loss, grad_w, grad_b = network.gradients(x, y)
                masks = None
            else:
                weights, biases, masks = perturb(network, rng)
                loss, grad_w, grad_b = network.gradients(x, y, weights, biases)
            optimizer.step([*grad_w, *grad_b], masks)
            total += loss * batch.size
        losses.append(total / count)
    return losses


def train(network: MLP, dataset: Dataset, settings: TrainingSettings) -> list[float]:
    """Plain training in place; the mean loss of every epoch."""
    return _epochs(network, dataset, settings, None)


def train_hardware_aware(
    network: MLP,
    dataset: Dataset,
    model: DeviceModel,
    settings: TrainingSettings,
    transfer: TransferSettings | None = None,
) -> list[float]:
    """Training through one sampled transfer per batch (seed 002), in place; the loss of every epoch."""
    transfer = transfer or TransferSettings(transfers=1)

    def perturb(net: MLP, rng: np.random.Generator):
        weights, biases, stuck = transferred_weights(net, model, transfer, 1, rng)
        frozen_w = [~s[0, :-1, :] for s in stuck]  # the bias row is the last of each stuck mask
        frozen_b = [~s[0, -1, :] for s in stuck]
        masks = [m.astype(float) for m in (*frozen_w, *frozen_b)]
        return [w[0] for w in weights], [b[0] for b in biases], masks

    return _epochs(network, dataset, settings, perturb)


def binarized(network: MLP, flips: list[np.ndarray] | None = None, ternary: bool = False) -> list[np.ndarray]:
    """The weights a 2T2R array holds, scaled by each layer's mean |w|: sign(w) (binary), or -1/0/+1 with
    0 below 0.7 mean|w| (ternary, seed 001's third state: both devices in HRS). ``flips`` marks the
    cells read wrong: a binary sign inverts; a ternary +-1 reads as 0, and a 0 as +1 or -1 (alternating
    over the matrix, so misread zeros carry no net sign)."""
    result = []
    for i, w in enumerate(network.weights):
        scale = np.mean(np.abs(w))
        states = np.where(w >= 0, 1.0, -1.0)
        if ternary:
            states = np.where(np.abs(w) < 0.7 * scale, 0.0, states)
        if flips is not None:
            if ternary:
                random_sign = np.where(np.add.reduce(np.indices(w.shape)) % 2 == 0, 1.0, -1.0)
                states = np.where(flips[i], np.where(states == 0, random_sign, 0.0), states)
            else:
                states = np.where(flips[i], -states, states)
        result.append(states * scale)
    return result


def train_binary(
    network: MLP,
    dataset: Dataset,
    settings: TrainingSettings,
    bit_error_rate: float = 0.0,
    ternary: bool = False,
) -> list[float]:
    """Binary (ternary) weight training; error-aware when ``bit_error_rate`` > 0 (misreads every batch)."""
    if not 0 <= bit_error_rate < 0.5:
        raise LabrramError(f"bit error rate must lie in [0, 0.5), got {bit_error_rate}")

    def perturb(net: MLP, rng: np.random.Generator):
        flips = [rng.random(w.shape) < bit_error_rate for w in net.weights] if bit_error_rate else None
        masks = [(np.abs(w) <= 1.0).astype(float) for w in net.weights] + [None] * len(net.biases)
        return binarized(net, flips, ternary), list(net.biases), masks

    return _epochs(network, dataset, settings, perturb)


def binary_accuracy(
    network: MLP,
    x: np.ndarray,
    y: np.ndarray,
    bit_error_rate: float,
    trials: int,
    seed: int = 0,
    ternary: bool = False,
) -> np.ndarray:
    """Accuracy of the binary (ternary) network over ``trials`` arrays with cells misread at that rate."""
    rng = np.random.default_rng(seed)
    accuracies = np.empty(trials)
    for trial in range(trials):
        flips = [rng.random(w.shape) < bit_error_rate for w in network.weights]
        accuracies[trial] = np.mean(network.predict(x, binarized(network, flips, ternary)) == y)
    return accuracies


def pair_bit_error_rate(model: DeviceModel) -> float:
    """The 2T2R bit error rate the model's level distributions give: lowest vs highest level."""
    if model.levels is None or model.levels.count < 2:
        raise LabrramError("the device model has no multilevel levels to take HRS and LRS distributions from")
    order = np.argsort(model.levels.means_s)
    return model.levels.pair_bit_error(int(order[0]), int(order[-1]))["normal"]
