"""Monte Carlo transfers: every non-ideality of a DeviceModel sampled for T transfers as one tensor.

For each device (its target conductance and its place in the programming order) and each transfer:
the programmed conductance is the tuning result (target x (1 + offset + sigma z), seed 002), or a draw
from its level's measured distribution when the weights are quantized to levels; the disturbance of the
devices programmed after it is added (by its N); a device may be stuck (its stuck conductance replaces
everything); retention moves it by the time after programming; the read adds noise. The network then
runs on all T weight sets at once, in chunks of transfers that bound the memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labrram.analysis.model import DeviceModel
from labrram.analysis.stuck import WORKING
from labrram.errors import LabrramError
from labrram.transfer.mapping import LayerMapping, map_network
from labrram.transfer.network import MLP

NONIDEALITIES = ("tuning", "disturbance", "stuck", "levels", "retention", "read_noise")
# Every measured statistic (an achieved conductance, a level, a disturbance) was taken by a read and
# already holds one read's noise, as the read an inference makes does: read noise on top would count it
# twice. It is simulated only when asked for (statistics from averaged reads, artificial models).
DEFAULT_NONIDEALITIES = frozenset(NONIDEALITIES) - {"read_noise"}
CHUNK_ELEMENTS = 1_000_000  # transfers x samples x widest layer per chunk: 8 MB, cache-friendly


@dataclass(frozen=True)
class TransferSettings:
    """How weights are transferred and which non-idealities are simulated."""

    transfers: int = 1000
    scheme: str = "differential"
    quantize: bool = False
    time_s: float | None = None
    include: frozenset[str] = DEFAULT_NONIDEALITIES
    tile: tuple[int, int] | None = None  # default: the device model's array size, else 8 x 8
    order: str | None = None  # default: the device model's programming order

    def __post_init__(self) -> None:
        if not isinstance(self.transfers, int) or self.transfers < 1:
            raise LabrramError(f"transfers must be a positive integer, got {self.transfers!r}")
        unknown = set(self.include) - set(NONIDEALITIES)
        if unknown:
            raise LabrramError(f"unknown non-idealities {sorted(unknown)}; known: {', '.join(NONIDEALITIES)}")
        if self.time_s is not None and not self.time_s >= 0:
            raise LabrramError(f"time after programming must be >= 0 s, got {self.time_s}")


def layout(model: DeviceModel, settings: TransferSettings) -> tuple[tuple[int, int], str]:
    """Tile size and programming order: the settings', else the model's scheme, else 8x8 column-major."""
    scheme = model.scheme
    tile = settings.tile or (int(scheme.get("array_rows", 8)), int(scheme.get("array_cols", 8)))
    order = settings.order or str(scheme.get("order", "column-major"))
    return tile, order


def mappings_for(network: MLP, model: DeviceModel, settings: TransferSettings) -> list[LayerMapping]:
    tile, order = layout(model, settings)
    if settings.quantize and model.levels is None:
        raise LabrramError("quantizing to levels needs a device model with multilevel levels")
    levels = model.levels if settings.quantize else None
    return map_network(network, model.window_s, settings.scheme, tile, order, levels)


def sample_conductances(
    model: DeviceModel,
    mapping: LayerMapping,
    transfers: int,
    settings: TransferSettings,
    rng: np.random.Generator,
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Conductances of every device of one layer for each transfer: (T, rows, cols) per device matrix,
    with the stuck state of each (True where stuck)."""
    include = settings.include
    sampled, stuck_masks = [], []
    for index, (target, n_after) in enumerate(zip(mapping.targets_s, mapping.later_programmed, strict=True)):
        shape = (transfers, *target.shape)
        if mapping.levels is not None and "levels" in include:
            g = model.levels.sample(np.broadcast_to(mapping.levels[index], shape), rng)
        elif model.tuning is not None and "tuning" in include:
            # The same targets in every transfer: each device's mean and sd once, then one draw each.
            mean, sd = model.tuning.moments(target)
            g = rng.standard_normal(shape)
            g *= sd
            g += mean
        else:
            g = np.broadcast_to(target, shape).copy()
        if model.disturbance is not None and "disturbance" in include:
            g += model.disturbance.sample_transfers(n_after, transfers, rng)
        if model.retention is not None and "retention" in include and settings.time_s:
            g = g + model.retention.sample(g, settings.time_s, rng)
        stuck = np.zeros(shape, dtype=bool)
        if model.stuck is not None and "stuck" in include:
            states = model.stuck.sample_states(shape, rng)
            stuck = states != WORKING
            if stuck.any():
                g[stuck] = model.stuck.sample_conductance(states[stuck], rng)
        if model.read_noise is not None and "read_noise" in include:
            g = model.read_noise.sample(g, rng)
        sampled.append(np.maximum(g, 0.0))
        stuck_masks.append(stuck)
    return tuple(sampled), tuple(stuck_masks)


def transferred_weights(
    network: MLP,
    model: DeviceModel,
    settings: TransferSettings,
    transfers: int,
    rng: np.random.Generator,
    mappings: list[LayerMapping] | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Weights (T, in, out), biases (T, out) and stuck masks (T, in + 1, out) of every layer, transferred."""
    mappings = mappings or mappings_for(network, model, settings)
    weights, biases, stuck = [], [], []
    for mapping in mappings:
        conductances, masks = sample_conductances(model, mapping, transfers, settings, rng)
        w, b = mapping.weights(conductances)
        weights.append(w)
        biases.append(b)
        stuck.append(np.logical_or.reduce(masks))
    return weights, biases, stuck


def transfer_correctness(
    network: MLP,
    x: np.ndarray,
    y: np.ndarray,
    model: DeviceModel,
    settings: TransferSettings,
    seed: int = 0,
) -> np.ndarray:
    """Whether each test point is classified correctly by each transfer: a (T, samples) boolean array.

    Transfers run in chunks sized so that no activation tensor exceeds CHUNK_ELEMENTS values, each chunk
    on its own random stream spawned from ``seed``: the same seed and inputs give the same transfers.
    """
    mappings = mappings_for(network, model, settings)
    widest = max(network.sizes)
    chunk = max(1, min(settings.transfers, CHUNK_ELEMENTS // max(1, x.shape[0] * widest)))
    streams = np.random.default_rng(seed).spawn(-(-settings.transfers // chunk))
    correct = np.empty((settings.transfers, x.shape[0]), dtype=bool)
    for block, start in enumerate(range(0, settings.transfers, chunk)):
        count = min(chunk, settings.transfers - start)
        weights, biases, _ = transferred_weights(network, model, settings, count, streams[block], mappings)
        correct[start : start + count] = network.predict(x, weights, biases) == y[None, :]
    return correct
