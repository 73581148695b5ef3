"""Program a matrix of target conductances onto an array in a stated order, then read it all back.

Each device is tuned (Alibart) in turn; at the end every device is read again, and each gets a
"disturbance" Result: its conductance after its own tuning, at the end, and the number of devices
programmed after it, which is seed 002's disturbance-by-order database.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict

import numpy as np

from labrram.bench.base import Bench, DeviceAddress
from labrram.errors import ParameterError
from labrram.procedures.common import require
from labrram.procedures.tuning import AlibartSettings, tune_device
from labrram.records import Progress, Read, Record, Result, RunStarted


def programming_order(rows: int, cols: int, order: str | Sequence[tuple[int, int]]) -> list:
    """Device (row, col) sequence for "row-major", "column-major" or an explicit list."""
    if order == "row-major":
        return [(r, c) for r in range(rows) for c in range(cols)]
    if order == "column-major":
        return [(r, c) for c in range(cols) for r in range(rows)]
    if isinstance(order, str):
        raise ParameterError("order", f"must be 'row-major', 'column-major' or a list, got {order!r}")
    sequence = [(int(r), int(c)) for r, c in order]
    if len(set(sequence)) != len(sequence):
        raise ParameterError("order", "lists a device twice")
    for r, c in sequence:
        if not (0 <= r < rows and 0 <= c < cols):
            raise ParameterError("order", f"device ({r}, {c}) lies outside the {rows}x{cols} array")
    return sequence


def _planned(
    bench: Bench, array: str, targets_s: np.ndarray, order: str | Sequence[tuple[int, int]]
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Checked targets and the (row, col) sequence of the devices that have one."""
    require(array in bench.arrays, "array", f"no array {array!r} on this bench")
    geometry = bench.arrays[array]
    targets_s = np.asarray(targets_s, dtype=float)
    require(
        targets_s.shape == (geometry.rows, geometry.cols),
        "targets_s",
        f"has shape {targets_s.shape}; array {array!r} is {geometry.rows}x{geometry.cols} (NaN: skip)",
    )
    finite = targets_s[np.isfinite(targets_s)]
    require(bool(np.all(finite > 0)), "targets_s", "must be positive conductances")
    order_rc = programming_order(geometry.rows, geometry.cols, order)
    return targets_s, [rc for rc in order_rc if np.isfinite(targets_s[rc])]


def program_array(
    bench: Bench,
    array: str,
    targets_s: np.ndarray,
    settings: AlibartSettings,
    order: str | Sequence[tuple[int, int]] = "column-major",
    programmed_s: Mapping[DeviceAddress, float] | None = None,
) -> Iterator[Record]:
    """Tune every device with a finite target in order; read all back; yield disturbance Results.

    ``programmed_s`` holds the devices an interrupted run already tuned, with the conductance read
    after their own tuning: they are not tuned again. A device that does not move during its whole
    pulse budget is reported as a "stuck" Result (HRS below its target, LRS above) and left out of the
    disturbance database, as in seed 002.
    """
    targets_s = np.asarray(targets_s, dtype=float)
    geometry = bench.arrays[array]
    if targets_s.shape != (geometry.rows, geometry.cols):
        raise ParameterError(
            "targets_s",
            f"has shape {targets_s.shape}, array {array!r} is {geometry.rows}x{geometry.cols} "
            "(use NaN for devices to skip)",
        )
    sequence = [
        rc for rc in programming_order(geometry.rows, geometry.cols, order) if np.isfinite(targets_s[rc])
    ]
    after_own = {(d.row, d.col): g for d, g in (programmed_s or {}).items() if d.array == array}
    started = time.monotonic()
    tuned_here = 0
    for position, (row, col) in enumerate(sequence):
        device = DeviceAddress(array, row, col)
        if (row, col) in after_own:
            continue
        for record in tune_device(bench, device, float(targets_s[row, col]), settings, traced=True):
            if isinstance(record, Result):
                after_own[(row, col)] = record.values["achieved_s"]
                if not record.values["success"]:
                    yield from _stuck(record)
            yield record
        tuned_here += 1
        elapsed = time.monotonic() - started
        remaining = sum(1 for rc in sequence[position + 1 :] if rc not in after_own)
        yield Progress(position + 1, len(sequence), device, elapsed / tuned_here * remaining)
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


def _stuck(tuning: Result) -> Iterator[Result]:
    """A "stuck" Result when a failed tuning never moved the device beyond its read noise."""
    low, high = tuning.values["range_seen_s"]
    target = tuning.values["target_s"]
    tolerance = tuning.values["settings"]["tolerance"]
    # Read noise scales with the device's own conductance: an LRS-stuck device far above its target
    # wanders more in absolute terms than the target's band.
    if high - low <= 2 * tolerance * max(target, high):
        state = "HRS" if tuning.values["achieved_s"] < target else "LRS"
        yield Result(tuning.device, "stuck", {"state": state, "conductance_s": tuning.values["achieved_s"]})


def array_programming(
    bench: Bench,
    array: str,
    targets_s: np.ndarray,
    settings: AlibartSettings,
    order: str | Sequence[tuple[int, int]] = "column-major",
    programmed_s: Mapping[DeviceAddress, float] | None = None,
    seed: int | None = None,
) -> Iterator[Record]:
    """The array-programming run: RunStarted, then `program_array`."""
    targets_s = np.asarray(targets_s, dtype=float)
    geometry = bench.arrays[array]
    sequence = programming_order(geometry.rows, geometry.cols, order) if targets_s.ndim == 2 else []
    devices = tuple(
        DeviceAddress(array, r, c)
        for r, c in sequence
        if targets_s.shape == (geometry.rows, geometry.cols) and np.isfinite(targets_s[r, c])
    )
    parameters = {
        "array": array,
        "targets_s": np.where(np.isfinite(targets_s), targets_s, None).tolist(),
        "order": order if isinstance(order, str) else [list(rc) for rc in order],
        "settings": asdict(settings),
    }
    yield RunStarted("array_programming", parameters, devices, seed)
    yield from program_array(bench, array, targets_s, settings, order, programmed_s)


def disturbance_by_order(records: Iterable[Record]) -> dict[int, list[float]]:
    """Conductance changes (S) keyed by the number of devices programmed after each device."""
    table: dict[int, list[float]] = {}
    for record in records:
        if isinstance(record, Result) and record.kind == "disturbance":
            n = record.values["programmed_after"]
            table.setdefault(n, []).append(record.values["delta_s"])
    return table
