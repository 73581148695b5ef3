"""Weights to conductances and back, tiled onto arrays in the order they are programmed.

Each layer's weights and biases form one matrix (the biases as the row of a constant input, as a crossbar
implements them). Two schemes:
- "differential" (seed 002): the positive part of each weight on a device G+, the negative part on a
  device G-, each min-max scaled onto the window: G = g_min + (g_max - g_min) |w| / max|W|, the other
  device at g_min; W = (G+ - G-) max|W| / (g_max - g_min).
- "offset": one device per weight, min-max scaled over [min W, max W]; the weight is read against a
  reference conductance that stands for zero (taken as exact: a reference column programmed once).
With ``levels`` (a measured multilevel model) each target snaps to the nearest level's mean.

The matrix is cut into tiles of the programming scheme's array size (rows x cols); within a tile the
devices are programmed in the scheme's order (column-major by default, seed 002), which gives each
device the number of devices programmed after it: the key into the disturbance-by-order statistics.
G+ and G- matrices sit on tiles of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from labrram.analysis.levels import MultilevelLevels
from labrram.errors import LabrramError
from labrram.transfer.network import MLP

SCHEMES = ("differential", "offset")
ORDERS = ("column-major", "row-major")


@dataclass(frozen=True)
class LayerMapping:
    """One layer's target conductances (augmented matrix: inputs then the bias row) and how to read them."""

    targets_s: tuple[np.ndarray, ...]  # differential: (G+, G-); offset: (G,)
    later_programmed: tuple[np.ndarray, ...]  # N after each device, same shapes
    levels: tuple[np.ndarray, ...] | None  # level index of each device when quantized
    weight_per_siemens: float
    reference_s: float  # the conductance that reads as zero weight (offset scheme)

    def weights(self, conductances_s: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Weights and biases from (possibly transfer-stacked) conductances: (..., in, out), (..., out)."""
        if len(conductances_s) == 2:
            matrix = (conductances_s[0] - conductances_s[1]) * self.weight_per_siemens
        else:
            matrix = (conductances_s[0] - self.reference_s) * self.weight_per_siemens
        return matrix[..., :-1, :], matrix[..., -1, :]


def augmented(weights: np.ndarray, biases: np.ndarray) -> np.ndarray:
    """The layer as a crossbar holds it: the weight rows, then the bias row."""
    return np.vstack([weights, biases[None, :]])


@lru_cache(maxsize=64)
def later_programmed(
    shape: tuple[int, int], tile: tuple[int, int], order: str = "column-major"
) -> np.ndarray:
    """For each device of a matrix cut into tiles, how many devices of its tile are programmed after it."""
    if order not in ORDERS:
        raise LabrramError(f"programming order must be one of {', '.join(ORDERS)}, got {order!r}")
    rows, cols = shape
    tile_rows, tile_cols = tile
    if tile_rows < 1 or tile_cols < 1:
        raise LabrramError(f"tiles need at least one row and column, got {tile}")
    result = np.empty(shape, dtype=np.int64)
    for r0 in range(0, rows, tile_rows):
        for c0 in range(0, cols, tile_cols):
            block = result[r0 : r0 + tile_rows, c0 : c0 + tile_cols]
            h, w = block.shape
            position = (
                np.arange(h * w).reshape((w, h)).T
                if order == "column-major"
                else np.arange(h * w).reshape(h, w)
            )
            block[:] = h * w - 1 - position
    result.flags.writeable = False
    return result


def map_layer(
    weights: np.ndarray,
    biases: np.ndarray,
    window_s: tuple[float, float],
    scheme: str = "differential",
    tile: tuple[int, int] = (8, 8),
    order: str = "column-major",
    levels: MultilevelLevels | None = None,
) -> LayerMapping:
    """Target conductances of one layer (min-max onto the window, or onto the levels' span)."""
    if scheme not in SCHEMES:
        raise LabrramError(f"mapping scheme must be one of {', '.join(SCHEMES)}, got {scheme!r}")
    matrix = augmented(weights, biases)
    if levels is not None:
        means = np.sort(levels.means_s)
        g_min, g_max = float(means[0]), float(means[-1])
    else:
        g_min, g_max = window_s
    span = g_max - g_min
    n_after = later_programmed(tuple(matrix.shape), tuple(tile), order)
    if scheme == "differential":
        largest = float(np.max(np.abs(matrix))) or 1.0
        positive = g_min + span * np.maximum(matrix, 0.0) / largest
        negative = g_min + span * np.maximum(-matrix, 0.0) / largest
        targets = (positive, negative)
        per_siemens = largest / span
        reference = g_min
        later = (n_after, n_after)
    else:
        low, high = float(np.min(matrix)), float(np.max(matrix))
        if high <= low:
            high = low + 1.0
        low, high = min(low, 0.0), max(high, 0.0)
        targets = (g_min + span * (matrix - low) / (high - low),)
        per_siemens = (high - low) / span
        reference = g_min + span * (0.0 - low) / (high - low)
        later = (n_after,)
    level_index = None
    if levels is not None:
        level_index = tuple(levels.nearest(t) for t in targets)
        targets = tuple(levels.means_s[i] for i in level_index)
    return LayerMapping(targets, later, level_index, per_siemens, reference)


def map_network(
    network: MLP,
    window_s: tuple[float, float],
    scheme: str = "differential",
    tile: tuple[int, int] = (8, 8),
    order: str = "column-major",
    levels: MultilevelLevels | None = None,
) -> list[LayerMapping]:
    """Every layer of a network mapped onto conductances."""
    return [
        map_layer(w, b, window_s, scheme, tile, order, levels)
        for w, b in zip(network.weights, network.biases, strict=True)
    ]
