"""Drolet et al.'s TiO2 crossbar data (../shared/data/drolet-tio2-xbar): disturbance by order, stuck maps.

- ``drolet-disturbance``: ``disturbance_by_order_long.csv`` (or ``delta_dicts.json``), dG of programmed
  devices keyed by the number N programmed after them. The source gives no device positions: each value
  is filed as its own device (array "D", one row, a column per value) and the run says so.
- ``drolet-stuck``: the ``dead_xbar_*.csv`` maps (a folder of them, or ``stuck_maps_long.csv``): each map is
  an 8x8 array read at ``vread`` (0.2 V). The data do not say which devices are stuck; devices below
  ``hrs_below_s`` (default 100 uS) count as stuck in HRS and above ``lrs_above_s`` (default 500 uS) as stuck
  in LRS: seed 002's 100-500 uS window. Positions follow the 64 values in row-major order (assumed, as the
  data's README says).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from labrram.bench.base import DeviceAddress
from labrram.errors import ImportFormatError
from labrram.importers.common import Imported, ImportedRun, ImportedSample, grid_array, read_table
from labrram.physics.parameters import ArrayKind
from labrram.records import Read, Record, Result

TECHNOLOGY = "TiO2 passive (Drolet et al.)"


def import_disturbance(path: Path, chip: str | None, options: dict[str, Any]) -> Imported:
    if path.suffix.lower() == ".json":
        try:
            table = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise ImportFormatError(f"{path}: not a readable JSON object ({error})") from None
        pairs = [(int(n), float(v)) for n, values in table.items() for v in values]
    else:
        frame = read_table(path, ("n_programmed_after", "delta_g_S"))
        pairs = list(
            zip(frame["n_programmed_after"].astype(int), frame["delta_g_S"].astype(float), strict=True)
        )
    if not pairs:
        raise ImportFormatError(f"{path}: no disturbance values")
    array = grid_array("D", 1, len(pairs), ArrayKind.PASSIVE)
    sample = ImportedSample(chip or "drolet-tio2-xbar", TECHNOLOGY, (array,))
    devices = tuple(DeviceAddress("D", 0, i) for i in range(len(pairs)))
    records: list[Record] = [
        Result(device, "disturbance", {"programmed_after": n, "delta_s": delta})
        for device, (n, delta) in zip(devices, pairs, strict=True)
    ]
    parameters = {
        "note": "device positions are not in the source: each value is filed as a device of its own"
    }
    return Imported(sample, [ImportedRun("imported_disturbance", parameters, devices, records)])


def import_stuck(path: Path, chip: str | None, options: dict[str, Any]) -> Imported:
    hrs_below = float(options.get("hrs_below_s", 100e-6))
    lrs_above = float(options.get("lrs_above_s", 500e-6))
    maps = _maps(path)
    arrays = tuple(grid_array(name, 8, 8, ArrayKind.PASSIVE) for name in maps)
    sample = ImportedSample(chip or "drolet-tio2-xbar", TECHNOLOGY, arrays)
    runs = []
    for name, (read_v, conductance) in maps.items():
        devices = tuple(DeviceAddress(name, r, c) for r in range(8) for c in range(8))
        records: list[Record] = []
        for device, g in zip(devices, conductance, strict=True):
            records.append(Read(device, 0.0, read_v, g * read_v, g))
            if g < hrs_below or g > lrs_above:
                state = "HRS" if g < hrs_below else "LRS"
                records.append(Result(device, "stuck", {"state": state, "conductance_s": g}))
        parameters = {
            "map": name,
            "read_voltage_v": read_v,
            "hrs_below_s": hrs_below,
            "lrs_above_s": lrs_above,
            "note": "stuck: outside [hrs_below_s, lrs_above_s] (the source labels none); read times unknown",
        }
        runs.append(ImportedRun("stuck_map", parameters, devices, records))
    return Imported(sample, runs)


def _maps(path: Path) -> dict[str, tuple[float, np.ndarray]]:
    """Map name -> (read voltage, 64 conductances in row-major order)."""
    if path.is_dir():
        files = sorted(path.glob("dead_xbar_*.csv"))
        if not files:
            raise ImportFormatError(f"{path}: no dead_xbar_*.csv maps in this folder")
        maps = {}
        for file in files:
            lines = file.read_text().splitlines()
            try:
                names = [n.strip() for n in lines[0].split(";")]
                values = [float(v) for v in lines[1].split(";")]
                resistance = np.array([float(v) for v in lines[2].split(";") if v.strip()])
            except (IndexError, ValueError) as error:
                raise ImportFormatError(f"{file}: not a dead_xbar map ({error})") from None
            if resistance.size != 64 or "vread" not in names:
                raise ImportFormatError(f"{file}: expected 64 resistances and a vread setting")
            maps[file.stem.removeprefix("dead_xbar_")] = (values[names.index("vread")], 1.0 / resistance)
        return maps
    frame = read_table(path, ("crossbar", "row", "col", "conductance_S"))
    maps = {}
    for name, group in frame.groupby("crossbar", sort=True):
        ordered = group.sort_values(["row", "col"])
        if len(ordered) != 64:
            raise ImportFormatError(f"{path}: crossbar {name} has {len(ordered)} devices, not 64")
        maps[str(name).removeprefix("dead_xbar_")] = (0.2, ordered["conductance_S"].to_numpy(dtype=float))
    return maps
