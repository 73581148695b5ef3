"""Program a matrix of target conductances onto an array in a stated order, then read it all back.

Each device is tuned (Alibart) in turn; at the end every device is read again, and each gets a
"disturbance" Result: its conductance after its own tuning, at the end, and the number of devices
programmed after it, which is seed 002's disturbance-by-order database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from labrram.bench.base import Bench, DeviceAddress
from labrram.procedures.tuning import AlibartSettings, tune_device
from labrram.records import Progress, Read, Record, Result


def programming_order(rows: int, cols: int, order: str | Sequence[tuple[int, int]]) -> list:
    """Device (row, col) sequence for "row-major", "column-major" or an explicit list."""
    if order == "row-major":
        return [(r, c) for r in range(rows) for c in range(cols)]
    if order == "column-major":
        return [(r, c) for c in range(cols) for r in range(rows)]
    if isinstance(order, str):
        raise ValueError(f"order must be 'row-major', 'column-major' or a list, got {order!r}")
    sequence = [(int(r), int(c)) for r, c in order]
    if len(set(sequence)) != len(sequence):
        raise ValueError("the programming order lists a device twice")
    for r, c in sequence:
        if not (0 <= r < rows and 0 <= c < cols):
            raise ValueError(f"device ({r}, {c}) in the order lies outside the {rows}x{cols} array")
    return sequence


def program_array(
    bench: Bench,
    array: str,
    targets_s: np.ndarray,
    settings: AlibartSettings,
    order: str | Sequence[tuple[int, int]] = "column-major",
) -> Iterator[Record]:
    """Tune every device with a finite target in order; read all back; yield disturbance Results."""
    targets_s = np.asarray(targets_s, dtype=float)
    geometry = bench.arrays[array]
    if targets_s.shape != (geometry.rows, geometry.cols):
        raise ValueError(
            f"targets_s has shape {targets_s.shape}, array {array!r} is "
            f"{geometry.rows}x{geometry.cols} (use NaN for devices to skip)"
        )
    sequence = [
        rc for rc in programming_order(geometry.rows, geometry.cols, order) if np.isfinite(targets_s[rc])
    ]
    after_own: dict[tuple[int, int], float] = {}
    for position, (row, col) in enumerate(sequence):
        device = DeviceAddress(array, row, col)
        for record in tune_device(bench, device, float(targets_s[row, col]), settings):
            if isinstance(record, Result):
                after_own[(row, col)] = record.values["achieved_s"]
            yield record
        yield Progress(position + 1, len(sequence), device)
    for position, (row, col) in enumerate(sequence):
        device = DeviceAddress(array, row, col)
        bench.select(row, col, array)
        read = bench.read(settings.read_voltage_v)
        yield Read.of(read)
        yield Result(
            device,
            "disturbance",
            {
                "position": position,
                "programmed_after": len(sequence) - 1 - position,
                "after_own_tuning_s": after_own[(row, col)],
                "at_end_s": read.conductance_s,
                "delta_s": read.conductance_s - after_own[(row, col)],
            },
        )


def disturbance_by_order(records: Iterable[Record]) -> dict[int, list[float]]:
    """Conductance changes (S) keyed by the number of devices programmed after each device."""
    table: dict[int, list[float]] = {}
    for record in records:
        if isinstance(record, Result) and record.kind == "disturbance":
            n = record.values["programmed_after"]
            table.setdefault(n, []).append(record.values["delta_s"])
    return table
