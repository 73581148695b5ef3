"""On-chip (in-situ) training with jump-tables (Burr et al.; Sidler et al., seed 003).

Each weight is a device pair, w = (G+ - G-) x weight_per_siemens. Backpropagation gives each weight a
desired change; it becomes a number of pulses, n = stochastic round(|dw| / step), where the step is the
weight change of the median SET pulse at the middle of the window, capped at ``max_pulses``. Every
pulse's conductance change is drawn from the jump-table at the device's present conductance, so
non-linearity, asymmetry and stochasticity all act as they would on a chip. Update rules:
- "bidirectional" (seed 003's studies): an increase fires SET pulses on G+, a decrease RESET pulses on
  G+; G- is the pair's reference, left at the middle of the window;
- "potentiation" (Burr et al.'s PCM scheme): an increase SETs G+, a decrease SETs G-; only the occasional
  RESET brings devices back down;
- "balanced": an increase SETs G+ and RESETs G- in turn, a decrease the mirror image (the mean
  asymmetry cancels between the two devices).

Asymmetry compensation (seed 003): the downstream neuron knows whether it asks for SET or RESET and
fires RESET pulses ``reset_ratio`` times as often (fewer when RESET steps are steeper); "auto" takes the
ratio of the median SET step to the median |RESET step| at the window's middle. Occasional RESET
(seed 003, Burr): with the potentiation and balanced rules, every ``refresh_every`` batches the pairs
with a device in the top ``refresh_top`` of the window are set back to a pair that encodes the same
weight from the bottom of the window.

`artificial_jump_table` builds the jump-tables of seed 003's studies: linear, asymmetric (RESET steps
``asymmetry`` times the SET steps), a non-linear region over the first ``nonlinear_extent`` of the window
whose last step is ``strength`` times its first, and a relative step spread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from labrram.analysis.jumptable import JumpTable, ResponseTable
from labrram.errors import LabrramError
from labrram.transfer.datasets import Dataset
from labrram.transfer.network import MLP

UPDATES = ("bidirectional", "potentiation", "balanced")


def artificial_jump_table(
    window_s: tuple[float, float] = (100e-6, 500e-6),
    steps: int = 200,
    asymmetry: float = 1.0,
    nonlinear_extent: float = 0.0,
    strength: float = 1.0,
    spread: float = 0.0,
    bins: int = 100,
    grid: int = 101,
) -> JumpTable:
    """A constructed SET/RESET jump-table: ``steps`` linear SET steps span the window.

    In the non-linear region (the lowest ``nonlinear_extent`` of the window) the SET step falls
    geometrically from base/strength to the base step; with ``nonlinear_extent`` = 1 the whole window
    is non-linear, its minimum step ``strength`` times its maximum (seed 003, Figs. 9-11). RESET steps
    are linear, ``asymmetry`` times the base SET step. Each step is normal with sd ``spread`` x mean.
    """
    if steps < 1 or asymmetry <= 0 or not 0 <= nonlinear_extent <= 1 or not 0 < strength <= 1 or spread < 0:
        raise LabrramError(
            "artificial jump-table: steps >= 1, asymmetry > 0, extent in [0, 1], strength in (0, 1]"
        )
    low, high = window_s
    edges = np.linspace(low, high, bins + 1)
    x = (0.5 * (edges[:-1] + edges[1:]) - low) / (high - low)
    base = (high - low) / steps
    set_mean = np.full(bins, base)
    if nonlinear_extent > 0:
        inside = x < nonlinear_extent
        fraction = x[inside] / nonlinear_extent
        set_mean[inside] = base * strength ** (fraction - 1.0)  # base/strength at x = 0, base at the edge
    reset_mean = np.full(bins, -asymmetry * base)
    z = stats.norm.ppf(np.clip(np.linspace(0.0, 1.0, grid), 1e-4, 1 - 1e-4))
    responses = {}
    for kind, mean in (("SET", set_mean), ("RESET", reset_mean)):
        quantiles = mean[:, None] + spread * np.abs(mean)[:, None] * z[None, :]
        shape = (1, bins)
        responses[kind] = ResponseTable(
            kind,
            edges,
            quantiles[None],
            np.zeros(shape, dtype=np.int64),
            np.zeros(shape, dtype=bool),
            {"source": "artificial"},
        )
    note = (
        f"artificial: {steps} steps, asymmetry {asymmetry:g}, non-linear extent {nonlinear_extent:g}, "
        f"strength {strength:g}, spread {spread:g}"
    )
    return JumpTable(responses, window_s, notes=(note,))


@dataclass(frozen=True)
class OnChipSettings:
    """Pulse arithmetic of the update rule."""

    epochs: int = 10
    batch_size: int = 8  # small batches: updates are noise-dominated, where asymmetry bites (seed 003)
    learning_rate: float = 0.1
    max_pulses: int = 8
    reset_ratio: float | str = 1.0  # "auto": compensate the SET/RESET asymmetry of the table
    refresh_every: int = 50  # batches between occasional RESETs of saturated pairs (0: never)
    refresh_top: float = 0.1
    weight_range: float = 2.0  # the weight a full-window difference stands for
    update: str = "bidirectional"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.update not in UPDATES:
            raise LabrramError(f"update must be one of {', '.join(UPDATES)}, got {self.update!r}")
        if self.reset_ratio != "auto" and not float(self.reset_ratio) > 0:
            raise LabrramError(f"reset_ratio must be 'auto' or > 0, got {self.reset_ratio!r}")


class DevicePairs:
    """The G+ and G- devices of every weight of a network, stepped by a jump-table."""

    def __init__(
        self, network: MLP, table: JumpTable, weight_range: float, update: str, rng: np.random.Generator
    ) -> None:
        self.table = table
        low, high = table.window_s
        self.low, self.high = low, high
        self.per_siemens = weight_range / (high - low)
        middle = 0.5 * (low + high)
        self.positive, self.negative, self.tables = [], [], []
        for w, b in zip(network.weights, network.biases, strict=True):
            g = np.vstack([w, b[None, :]]) / self.per_siemens
            if update == "bidirectional":  # G- is a fixed reference at the middle
                positive, negative = middle + g, np.full(g.shape, middle)
            elif update == "potentiation":  # both start low: they can only go up between refreshes
                positive, negative = low + np.maximum(g, 0.0), low + np.maximum(-g, 0.0)
            else:
                positive, negative = middle + g / 2, middle - g / 2
            self.positive.append(np.clip(positive, low, high))
            self.negative.append(np.clip(negative, low, high))
            self.tables.append(table.assign_tables(g.size, rng).reshape(g.shape))

    def weights(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        matrices = [(p - n) * self.per_siemens for p, n in zip(self.positive, self.negative, strict=True)]
        return [m[:-1] for m in matrices], [m[-1] for m in matrices]

    def pulse(self, layer: int, devices: str, kind: str, mask: np.ndarray, rng: np.random.Generator) -> None:
        """One pulse of ``kind`` on the masked devices (``devices``: "positive" or "negative")."""
        if not mask.any():
            return
        state = self.positive[layer] if devices == "positive" else self.negative[layer]
        state[mask] = self.table.step(state[mask], kind, rng, self.tables[layer][mask])

    def refresh(self, top: float) -> int:
        """Pairs with a device near the top of the window re-encoded from the bottom; how many."""
        threshold = self.high - top * (self.high - self.low)
        moved = 0
        for p, n in zip(self.positive, self.negative, strict=True):
            full = (p > threshold) | (n > threshold)
            difference = p[full] - n[full]
            p[full] = self.low + np.maximum(difference, 0.0)
            n[full] = self.low + np.maximum(-difference, 0.0)
            moved += int(full.sum())
        return moved


def train_on_chip(network: MLP, dataset: Dataset, table: JumpTable, settings: OnChipSettings) -> dict:
    """Train ``network``'s architecture on device pairs; the network ends with the pairs' weights.

    Returns the test accuracy after every epoch, the pulses fired and the pairs refreshed.
    """
    rng = np.random.default_rng(settings.seed)
    pairs = DevicePairs(network, table, settings.weight_range, settings.update, rng)
    middle = 0.5 * (pairs.low + pairs.high)
    set_step = float(np.median(table.sample(np.full(2001, middle), "SET", np.random.default_rng(0))))
    reset_step = -float(np.median(table.sample(np.full(2001, middle), "RESET", np.random.default_rng(0))))
    if set_step <= 0 or reset_step <= 0:
        raise LabrramError("the jump-table's median SET step must be positive and RESET step negative")
    reset_ratio = set_step / reset_step if settings.reset_ratio == "auto" else float(settings.reset_ratio)
    weight_step = set_step * pairs.per_siemens
    # Only pairs whose devices both move can be re-encoded; the bidirectional rule's G- is a reference.
    refreshing = settings.refresh_every > 0 and settings.update != "bidirectional"
    history, fired, refreshed, batches = [], 0, 0, 0
    count = dataset.x_train.shape[0]
    for _ in range(settings.epochs):
        order = rng.permutation(count)
        for start in range(0, count, settings.batch_size):
            batch = order[start : start + settings.batch_size]
            weights, biases = pairs.weights()
            _, grad_w, grad_b = network.gradients(
                dataset.x_train[batch], dataset.y_train[batch], weights, biases
            )
            for layer, (gw, gb) in enumerate(zip(grad_w, grad_b, strict=True)):
                change = -settings.learning_rate * np.vstack([gw, gb[None, :]])
                wanted = np.abs(change) / weight_step
                pulses = np.minimum(np.floor(wanted + rng.random(wanted.shape)), settings.max_pulses).astype(
                    int
                )
                fired += _fire(pairs, layer, change > 0, pulses, reset_ratio, settings.update, rng)
            batches += 1
            if refreshing and batches % settings.refresh_every == 0:
                refreshed += pairs.refresh(settings.refresh_top)
        weights, biases = pairs.weights()
        history.append(float(np.mean(network.predict(dataset.x_test, weights, biases) == dataset.y_test)))
    network.weights, network.biases = pairs.weights()
    return {
        "test_accuracy": history,
        "pulses": fired,
        "refreshed_pairs": refreshed,
        "reset_ratio": reset_ratio,
    }


def _fire(
    pairs: DevicePairs,
    layer: int,
    up: np.ndarray,
    pulses: np.ndarray,
    reset_ratio: float,
    update: str,
    rng: np.random.Generator,
) -> int:
    """Fire each weight's pulses by the update rule; RESET counts scaled by ``reset_ratio``."""
    if update == "potentiation":
        plan = [("positive", "SET", up, pulses), ("negative", "SET", ~up, pulses)]
    elif update == "bidirectional":
        resets = np.floor(pulses * reset_ratio + rng.random(pulses.shape)).astype(int)
        plan = [("positive", "SET", up, pulses), ("positive", "RESET", ~up, np.where(up, 0, resets))]
    else:
        sets = (pulses + 1) // 2
        resets = np.floor((pulses // 2) * reset_ratio + rng.random(pulses.shape)).astype(int)
        plan = [
            ("positive", "SET", up, sets),
            ("negative", "SET", ~up, sets),
            ("negative", "RESET", up, resets),
            ("positive", "RESET", ~up, resets),
        ]
    fired = 0
    rounds = max(int(count[mask].max(initial=0)) for _, _, mask, count in plan)
    for k in range(rounds):
        for devices, kind, mask, count in plan:
            chosen = mask & (count > k)
            pairs.pulse(layer, devices, kind, chosen, rng)
            fired += int(chosen.sum())
    return fired
