"""The closed loop: a trained network programmed onto a (simulated) chip, then run on it by reads.

The network is mapped exactly as the transfer evaluator maps it (the same tiles, the same programming
order, the same pairs), each tile onto an array of its own starting at its corner. Passive arrays are
programmed by Alibart tuning with `array_programming` (the disturbance of later devices acts as it
does on a chip); with multilevel levels each device is programmed into its level's bin by
program-and-verify. Inference then reads every programmed device once and computes each layer's
matrix-vector product from the conductances read (the "read each device and compute" way, not an
analog product of input voltages), so the measured accuracy holds every non-ideality the chip has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from labrram.bench.base import Bench, DeviceAddress
from labrram.procedures.multilevel import LevelPlan, MultilevelSettings, program_levels
from labrram.procedures.program import array_programming
from labrram.procedures.tuning import AlibartSettings
from labrram.records import Read, Record, Result, RunFinished, RunStarted, RunStatus
from labrram.transfer.mapping import LayerMapping
from labrram.transfer.network import MLP


@dataclass(frozen=True)
class Placement:
    """Where one tile of one device matrix sits: layer, matrix (0: G+, 1: G-), tile corner, array."""

    layer: int
    matrix: int
    row0: int
    col0: int
    rows: int
    cols: int
    array: str


def placements(mappings: list[LayerMapping], tile: tuple[int, int], arrays: list[str]) -> list[Placement]:
    """Every tile of every device matrix, each on the next array of ``arrays``."""
    result = []
    for layer, mapping in enumerate(mappings):
        for matrix, target in enumerate(mapping.targets_s):
            rows, cols = target.shape
            for r0 in range(0, rows, tile[0]):
                for c0 in range(0, cols, tile[1]):
                    h, w = min(tile[0], rows - r0), min(tile[1], cols - c0)
                    result.append(Placement(layer, matrix, r0, c0, h, w, ""))
    if len(result) > len(arrays):
        raise ValueError(f"the network needs {len(result)} tiles; the chip has {len(arrays)} arrays")
    return [
        Placement(p.layer, p.matrix, p.row0, p.col0, p.rows, p.cols, a)
        for p, a in zip(result, arrays, strict=False)
    ]


def programming_runs(
    bench: Bench,
    mappings: list[LayerMapping],
    layout: list[Placement],
    tuning: AlibartSettings | None,
    levels: tuple[LevelPlan, MultilevelSettings] | None,
    seed: int,
) -> Iterator[Iterator[Record]]:
    """One record stream (a run) per tile: array programming, or multilevel program-and-verify."""
    for place in layout:
        geometry = bench.arrays[place.array]
        mapping = mappings[place.layer]
        if levels is None:
            targets = np.full((geometry.rows, geometry.cols), np.nan)
            block = mapping.targets_s[place.matrix][
                place.row0 : place.row0 + place.rows, place.col0 : place.col0 + place.cols
            ]
            targets[: place.rows, : place.cols] = block
            yield array_programming(bench, place.array, targets, tuning, "column-major", seed=seed)
        else:
            plan, settings = levels
            index = mapping.levels[place.matrix]
            assignment = {
                DeviceAddress(place.array, r, c): int(index[place.row0 + r, place.col0 + c])
                for c in range(place.cols)
                for r in range(place.rows)
            }
            yield program_levels(bench, assignment, plan, settings, seed=seed)


def inference_run(
    bench: Bench,
    network: MLP,
    mappings: list[LayerMapping],
    layout: list[Placement],
    x: np.ndarray,
    y: np.ndarray,
    label: str,
    read_voltage_v: float = 0.2,
) -> Iterator[Record]:
    """Read every programmed device once, build the weights from the conductances, classify the test set.

    Ends with a RunFinished whose message states the accuracy; a "closed_loop" Result on the first
    device read carries the figures.
    """
    devices = tuple(
        DeviceAddress(p.array, r, c) for p in layout for c in range(p.cols) for r in range(p.rows)
    )
    yield RunStarted(
        "closed_loop_inference", {"network": label, "method": "read each device and compute"}, devices
    )
    read = {}
    for place in layout:
        for c in range(place.cols):
            for r in range(place.rows):
                bench.select(r, c, place.array)
                result = bench.read(read_voltage_v)
                yield Read.of(result)
                read[(place.layer, place.matrix, place.row0 + r, place.col0 + c)] = result.conductance_s
    weights, biases = [], []
    for layer, mapping in enumerate(mappings):
        conductances = []
        for matrix, target in enumerate(mapping.targets_s):
            g = np.empty(target.shape)
            for (lay, mat, r, c), value in read.items():
                if lay == layer and mat == matrix:
                    g[r, c] = value
            conductances.append(g)
        w, b = mapping.weights(tuple(conductances))
        weights.append(w)
        biases.append(b)
    accuracy = float(np.mean(network.predict(x, weights, biases) == y))
    yield Result(
        devices[0], "closed_loop", {"network": label, "accuracy": accuracy, "test_points": int(y.size)}
    )
    yield RunFinished(RunStatus.COMPLETED, f"{label}: accuracy {accuracy:.4f} on {y.size} test points")


def measured_accuracy(
    records: Iterator[Record], sink: Callable[[Iterator[Record]], int]
) -> tuple[int, float]:
    """Record an inference run through ``sink`` (a Recorder's record) and return its id and accuracy."""
    found: list[float] = []

    def watch() -> Iterator[Record]:
        for record in records:
            if isinstance(record, Result) and record.kind == "closed_loop":
                found.append(record.values["accuracy"])
            yield record

    run_id = sink(watch())
    return run_id, found[0]
