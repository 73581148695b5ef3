"""A numpy multilayer perceptron that runs many weight sets at once, trained with Adam.

Layers are dense: ``h = f(x W + b)``. Every forward pass takes weights with a leading transfer axis,
``(T, n_in, n_out)``, so T simulated transfers of one network run as one batched matrix product. The
output is one sigmoid unit (binary tasks, binary cross-entropy) or a softmax over classes (cross-entropy).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from labrram.errors import LabrramError

ACTIVATIONS = ("sigmoid", "relu", "tanh")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free form of 1 / (1 + exp(-z))


def activate(z: np.ndarray, name: str) -> np.ndarray:
    if name == "sigmoid":
        return _sigmoid(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    return np.tanh(z)


def activation_slope(a: np.ndarray, name: str) -> np.ndarray:
    """d f / d z written in terms of the activation's output a = f(z)."""
    if name == "sigmoid":
        return a * (1.0 - a)
    if name == "relu":
        return (a > 0).astype(a.dtype)
    return 1.0 - a * a


def softmax(z: np.ndarray) -> np.ndarray:
    shifted = np.exp(z - z.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


@dataclass
class MLP:
    """Layer sizes, hidden activation and the parameters: ``weights[l]`` is (n_l, n_{l+1})."""

    sizes: tuple[int, ...]
    activation: str = "sigmoid"
    weights: list[np.ndarray] = field(default_factory=list)
    biases: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.sizes) < 2 or any(int(n) < 1 for n in self.sizes):
            raise LabrramError(f"a network needs at least an input and an output layer, got {self.sizes}")
        if self.activation not in ACTIVATIONS:
            raise LabrramError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}")
        self.sizes = tuple(int(n) for n in self.sizes)

    @classmethod
    def create(cls, sizes: Sequence[int], activation: str, rng: np.random.Generator) -> MLP:
        """Glorot-uniform weights, zero biases."""
        network = cls(tuple(sizes), activation)
        for n_in, n_out in zip(network.sizes[:-1], network.sizes[1:], strict=True):
            limit = np.sqrt(6.0 / (n_in + n_out))
            network.weights.append(rng.uniform(-limit, limit, (n_in, n_out)))
            network.biases.append(np.zeros(n_out))
        return network

    @property
    def classes(self) -> int:
        """Number of classes: 2 for a single sigmoid output."""
        return 2 if self.sizes[-1] == 1 else self.sizes[-1]

    def copy(self) -> MLP:
        return MLP(
            self.sizes, self.activation, [w.copy() for w in self.weights], [b.copy() for b in self.biases]
        )

    def forward(
        self,
        x: np.ndarray,
        weights: Sequence[np.ndarray] | None = None,
        biases: Sequence[np.ndarray] | None = None,
    ) -> list[np.ndarray]:
        """Activations of every layer (input first). Weights may carry a leading transfer axis (T, ...)."""
        weights = self.weights if weights is None else weights
        biases = self.biases if biases is None else biases
        outputs = [np.asarray(x, dtype=float)]
        last = len(weights) - 1
        for layer, (w, b) in enumerate(zip(weights, biases, strict=True)):
            z = outputs[-1] @ w + (b[..., None, :] if b.ndim == 2 else b)
            if layer < last:
                outputs.append(activate(z, self.activation))
            elif self.sizes[-1] == 1:
                outputs.append(_sigmoid(z))
            else:
                outputs.append(softmax(z))
        return outputs

    def predict(
        self,
        x: np.ndarray,
        weights: Sequence[np.ndarray] | None = None,
        biases: Sequence[np.ndarray] | None = None,
    ) -> np.ndarray:
        """Class of every input (for each transfer when the weights carry a transfer axis)."""
        out = self.forward(x, weights, biases)[-1]
        return (out[..., 0] > 0.5).astype(np.int64) if self.sizes[-1] == 1 else np.argmax(out, axis=-1)

    def gradients(
        self,
        x: np.ndarray,
        y: np.ndarray,
        weights: Sequence[np.ndarray] | None = None,
        biases: Sequence[np.ndarray] | None = None,
    ) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
        """Mean loss and its gradients w.r.t. the weights and biases the forward pass used."""
        weights = self.weights if weights is None else weights
        biases = self.biases if biases is None else biases
        outputs = self.forward(x, weights, biases)
        p = outputs[-1]
        n = x.shape[0]
        eps = 1e-12
        if self.sizes[-1] == 1:
            t = y.reshape(-1, 1).astype(float)
            loss = -float(np.mean(t * np.log(p + eps) + (1 - t) * np.log(1 - p + eps)))
            delta = (p - t) / n  # sigmoid + binary cross-entropy
        else:
            onehot = np.eye(self.sizes[-1])[y]
            loss = -float(np.mean(np.sum(onehot * np.log(p + eps), axis=1)))
            delta = (p - onehot) / n  # softmax + cross-entropy
        grad_w: list[np.ndarray] = [np.empty(0)] * len(weights)
        grad_b: list[np.ndarray] = [np.empty(0)] * len(weights)
        for layer in range(len(weights) - 1, -1, -1):
            grad_w[layer] = outputs[layer].T @ delta
            grad_b[layer] = delta.sum(axis=0)
            if layer:
                delta = (delta @ weights[layer].T) * activation_slope(outputs[layer], self.activation)
        return loss, grad_w, grad_b


class Adam:
    """Adam (Kingma and Ba) over a list of parameter arrays, updated in place."""

    def __init__(
        self,
        parameters: list[np.ndarray],
        learning_rate: float = 0.01,
        beta1: float = 0.9,
        beta2: float = 0.999,
    ) -> None:
        self.parameters = parameters
        self.learning_rate, self.beta1, self.beta2 = learning_rate, beta1, beta2
        self.m = [np.zeros_like(p) for p in parameters]
        self.v = [np.zeros_like(p) for p in parameters]
        self.step_count = 0

    def step(self, gradients: list[np.ndarray], masks: list[np.ndarray | None] | None = None) -> None:
        """One update; ``masks`` (1 where a parameter may move) freeze the others for this step."""
        self.step_count += 1
        b1, b2 = self.beta1, self.beta2
        correction = np.sqrt(1 - b2**self.step_count) / (1 - b1**self.step_count)
        for i, (p, g) in enumerate(zip(self.parameters, gradients, strict=True)):
            if masks is not None and masks[i] is not None:
                g = g * masks[i]
            self.m[i] = b1 * self.m[i] + (1 - b1) * g
            self.v[i] = b2 * self.v[i] + (1 - b2) * g * g
            p -= self.learning_rate * correction * self.m[i] / (np.sqrt(self.v[i]) + 1e-8)


def parse_sizes(text: str) -> tuple[int, ...]:
    """Layer sizes from ``2-8-1``."""
    try:
        sizes = tuple(int(part) for part in text.split("-"))
    except ValueError:
        raise LabrramError(f"network {text!r}: expected layer sizes like 2-8-1") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise LabrramError(f"network {text!r}: at least two layers of at least one unit")
    return sizes
