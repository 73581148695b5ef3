"""The Stanford 256x256 1T1R NI-RRAM data (../shared/data/stanford-1t1r-nirram).

Cells are filed on array "M" by address (row = addr // 256, col = addr % 256).
- ``stanford-set`` / ``stanford-reset``: one pulse per cell, read before and after (read at 0.2 V, the
  setup's default): one "pulse_sweep" run per word-line voltage (the gate sets the compliance, which
  the pulse table has no column for), the pulse's amplitude the bit-line voltage (SET) or minus the
  source-line voltage (RESET). Times are only an order: read, pulse, read, cell after cell.
- ``stanford-mlc``: 32 levels x 32 cells read 15-30 min after write-verify: "level" results with the
  notebook's 4 uS bins (level k: [4k, 4k + 4) uS).
- ``stanford-bake``: ``bake_<T>C.csv``, each cell read, baked 1 h at T, read again: retention results
  (before at elapsed 0 and room temperature, after at 3600 s and T). Blocks the authors excluded are
  left out.
- ``stanford-endurance``: ``endurance_slow.csv``, the conductance after SET and after RESET every 1000
  cycles: endurance results.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from labrram.bench.base import DeviceAddress
from labrram.errors import ImportFormatError
from labrram.importers.common import Imported, ImportedRun, ImportedSample, grid_array, read_table
from labrram.physics.parameters import ArrayKind
from labrram.records import Pulse, PulseKind, Read, Record, Result

SIDE = 256
ARRAY = "M"
READ_V = 0.2
LEVEL_WIDTH_S = 4e-6
BAKE_S = 3600.0
TECHNOLOGY = "Stanford NI-RRAM 1T1R"


def _sample(chip: str | None) -> ImportedSample:
    return ImportedSample(
        chip or "stanford-nirram", TECHNOLOGY, (grid_array(ARRAY, SIDE, SIDE, ArrayKind.ONE_T_ONE_R),)
    )


def _address(addr: int) -> DeviceAddress:
    return DeviceAddress(ARRAY, int(addr) // SIDE % SIDE, int(addr) % SIDE)


def _sweep(path: Path, chip: str | None, line: str, kind: PulseKind) -> Imported:
    frame = read_table(path, ("addr", "pw_s", "vwl_V", line, "r_pre_ohm", "r_post_ohm"))
    sign = 1.0 if kind is PulseKind.SET else -1.0
    runs = []
    for vwl, group in frame.groupby("vwl_V", sort=True):
        records: list[Record] = []
        t = 0.0
        for addr, width, volts, r_pre, r_post in zip(
            group["addr"], group["pw_s"], group[line], group["r_pre_ohm"], group["r_post_ohm"], strict=True
        ):
            device = _address(addr)
            records.append(Read(device, t, READ_V, READ_V / r_pre, 1.0 / r_pre))
            records.append(
                Pulse(device, t + 1.0, sign * float(volts), float(width), kind, None, float("nan"))
            )
            records.append(Read(device, t + 2.0, READ_V, READ_V / r_post, 1.0 / r_post))
            t += 3.0
        devices = tuple(dict.fromkeys(r.device for r in records))
        parameters = {
            "word_line_v": float(vwl),
            "pulse_line": line,
            "read_voltage_v": READ_V,
            "note": "one pulse per cell; times are an order only; compliance set by the word-line voltage",
        }
        runs.append(ImportedRun("pulse_sweep", parameters, devices, records))
    return Imported(_sample(chip), runs)


def import_set_sweep(path: Path, chip: str | None, options: dict[str, Any]) -> Imported:
    return _sweep(path, chip, "vbl_V", PulseKind.SET)


def import_reset_sweep(path: Path, chip: str | None, options: dict[str, Any]) -> Imported:
    return _sweep(path, chip, "vsl_V", PulseKind.RESET)


def import_mlc(path: Path, chip: str | None, options: dict[str, Any]) -> Imported:
    frame = read_table(path, ("addr", "r_ohm", "target_level"))
    records: list[Record] = []
    for addr, r, level in zip(frame["addr"], frame["r_ohm"], frame["target_level"], strict=True):
        g = 1.0 / float(r)
        low, high = int(level) * LEVEL_WIDTH_S, (int(level) + 1) * LEVEL_WIDTH_S
        values = {
            "level": int(level),
            "target_s": 0.5 * (low + high),
            "achieved_s": g,
            "iterations": 0,
            "energy_j": None,
            "success": bool(low <= g < high),
            "low_s": low,
            "high_s": high,
        }
        records.append(Result(_address(addr), "level", values))
    devices = tuple(dict.fromkeys(r.device for r in records))
    parameters = {
        "note": "read 15-30 min after DD-ISPP write-verify; bins 4 uS wide from 0 (the authors' notebook)"
    }
    return Imported(_sample(chip), [ImportedRun("multilevel", parameters, devices, records)])


def import_bake(path: Path, chip: str | None, options: dict[str, Any]) -> Imported:
    found = re.search(r"(\d+)C", path.name)
    if not found:
        raise ImportFormatError(f"{path}: the bake temperature must be in the file name (bake_85C.csv)")
    temperature = float(found.group(1))
    frame = read_table(path, ("addr", "r_prebake_ohm", "r_postbake_ohm"))
    if "excluded_by_authors" in frame:
        frame = frame[~frame["excluded_by_authors"].astype(str).str.lower().isin(["true", "1"])]
    records: list[Record] = []
    for addr, before, after in zip(
        frame["addr"], frame["r_prebake_ohm"], frame["r_postbake_ohm"], strict=True
    ):
        device = _address(addr)
        records.append(
            Result(
                device, "retention", {"elapsed_s": 0.0, "conductance_s": 1 / before, "temperature_c": 25.0}
            )
        )
        records.append(
            Result(
                device,
                "retention",
                {"elapsed_s": BAKE_S, "conductance_s": 1 / after, "temperature_c": temperature},
            )
        )
    devices = tuple(dict.fromkeys(r.device for r in records))
    parameters = {"temperature_c": temperature, "bake_s": BAKE_S, "note": "1 h on a hot plate (README)"}
    return Imported(_sample(chip), [ImportedRun("retention", parameters, devices, records)])


def import_endurance(path: Path, chip: str | None, options: dict[str, Any]) -> Imported:
    frame = read_table(path, ("addr", "r_ohm", "cycle", "after_pulse"))
    records: list[Record] = []
    for (addr, cycle), group in frame.groupby(["addr", "cycle"], sort=True):
        states = dict(
            zip(group["after_pulse"].astype(str).str.upper(), group["r_ohm"].astype(float), strict=False)
        )
        if {"SET", "RESET"} <= states.keys():
            values = {
                "cycle": int(cycle),
                "set_conductance_s": 1.0 / states["SET"],
                "reset_conductance_s": 1.0 / states["RESET"],
            }
            records.append(Result(_address(addr), "endurance", values))
    if not records:
        raise ImportFormatError(f"{path}: no cycle with both a SET and a RESET read")
    devices = tuple(dict.fromkeys(r.device for r in records))
    windows = np.array([r.values["set_conductance_s"] / r.values["reset_conductance_s"] for r in records])
    parameters = {"cycles": len(records), "median_on_off": float(np.median(windows))}
    return Imported(_sample(chip), [ImportedRun("endurance", parameters, devices, records)])
