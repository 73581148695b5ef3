"""The documented long format: one row per pulse or read, any instrument, any lab.

CSV or Parquet with the columns

| column | unit | meaning |
|---|---|---|
| chip, array | | names; one chip per file |
| row, col | | device position, from 0 |
| t_s | s | time of the pulse or read |
| kind | | ``pulse`` or ``read`` |
| amplitude_v | V | pulse amplitude (positive SET, negative RESET), or the read voltage |
| width_s | s | pulse width (empty for reads) |
| compliance_a | A | current compliance of the pulse, empty for none |
| current_a | A | measured current (reads: may be empty when conductance_s is given) |
| conductance_s | S | read conductance (may be empty when current_a is given) |

and optionally ``run`` (rows of one run share a label; runs are written in order of first appearance),
``procedure`` (what each run was; default ``imported_pulses``, which jump-tables are fitted from) and
``pulse_kind`` (SET, RESET or FORM; default by the amplitude's sign). Rows are taken in file order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from labrram.bench.base import DeviceAddress
from labrram.errors import ImportFormatError
from labrram.importers.common import Imported, ImportedRun, ImportedSample, grid_array, read_table
from labrram.physics.parameters import ArrayKind
from labrram.records import Pulse, PulseKind, Read, Record

REQUIRED = ("chip", "array", "row", "col", "t_s", "kind", "amplitude_v")


def import_long(path: Path, chip: str | None, options: dict[str, Any]) -> Imported:
    frame = read_table(path, REQUIRED)
    chips = frame["chip"].astype(str).unique()
    if len(chips) != 1:
        raise ImportFormatError(f"{path}: holds chips {', '.join(chips)}; import one chip per file")
    kinds = set(frame["kind"].astype(str).str.lower())
    if not kinds <= {"pulse", "read"}:
        raise ImportFormatError(f"{path}: column kind must be 'pulse' or 'read', found {sorted(kinds)}")
    for column in ("row", "col"):
        values = pd.to_numeric(frame[column], errors="coerce")
        if values.isna().any() or (values < 0).any() or (values != np.round(values)).any():
            raise ImportFormatError(f"{path}: column {column} must hold whole numbers >= 0")
    array_kind = ArrayKind(options.get("array_kind", "0T1R"))
    arrays = tuple(
        grid_array(str(name), int(group["row"].max()) + 1, int(group["col"].max()) + 1, array_kind)
        for name, group in frame.groupby("array", sort=False)
    )
    sample = ImportedSample(chip or str(chips[0]), options.get("technology", "imported"), arrays)
    labels = frame["run"].astype(str) if "run" in frame else pd.Series(["1"] * len(frame))
    runs = []
    for label in labels.unique():
        part = frame[labels.to_numpy() == label]
        procedure = (
            str(part["procedure"].iloc[0])
            if "procedure" in part
            else options.get("procedure", "imported_pulses")
        )
        devices = tuple(dict.fromkeys(_addresses(part)))
        runs.append(ImportedRun(procedure, {"run_label": label}, devices, _records(path, part)))
    return Imported(sample, runs)


def _addresses(frame: pd.DataFrame) -> list[DeviceAddress]:
    return [
        DeviceAddress(str(a), int(r), int(c))
        for a, r, c in zip(frame["array"], frame["row"], frame["col"], strict=True)
    ]


def _number(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)


def _records(path: Path, frame: pd.DataFrame) -> list[Record]:
    devices = _addresses(frame)
    kind = frame["kind"].astype(str).str.lower().to_numpy()
    t = _number(frame, "t_s")
    amplitude = _number(frame, "amplitude_v")
    width = _number(frame, "width_s")
    compliance = _number(frame, "compliance_a")
    current = _number(frame, "current_a")
    conductance = _number(frame, "conductance_s")
    declared = frame["pulse_kind"].astype(str).str.upper().to_numpy() if "pulse_kind" in frame else None
    records: list[Record] = []
    for i, device in enumerate(devices):
        line = i + 2  # the header is line 1
        if not np.isfinite(t[i]) or not np.isfinite(amplitude[i]):
            raise ImportFormatError(f"{path}: line {line}: t_s and amplitude_v must be numbers")
        if kind[i] == "pulse":
            if not (np.isfinite(width[i]) and width[i] > 0):
                raise ImportFormatError(f"{path}: line {line}: a pulse needs a positive width_s")
            pulse_kind = (
                PulseKind(declared[i])
                if declared is not None
                else (PulseKind.SET if amplitude[i] > 0 else PulseKind.RESET)
            )
            records.append(
                Pulse(
                    device,
                    float(t[i]),
                    float(amplitude[i]),
                    float(width[i]),
                    pulse_kind,
                    float(compliance[i]) if np.isfinite(compliance[i]) else None,
                    float(current[i]) if np.isfinite(current[i]) else float("nan"),
                )
            )
            continue
        if amplitude[i] == 0:
            raise ImportFormatError(f"{path}: line {line}: a read needs a non-zero voltage (amplitude_v)")
        g = conductance[i] if np.isfinite(conductance[i]) else current[i] / amplitude[i]
        i_a = current[i] if np.isfinite(current[i]) else g * amplitude[i]
        if not np.isfinite(g):
            raise ImportFormatError(f"{path}: line {line}: a read needs current_a or conductance_s")
        records.append(Read(device, float(t[i]), float(amplitude[i]), float(i_a), float(g)))
    return records
