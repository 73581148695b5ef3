"""Levy's multilevel RRAM relaxation data (../shared/data/levy-rram-relaxation), technologies A and B.

Cells are filed on a 256x256 1T1R array by address (row = addr // 256, col = addr % 256); the technology
letter comes from the file name (techA_..., techB_...).
- ``levy-relaxation``: ``tech*_relaxation.csv``, reads from 0 to 10^4 s after programming at room
  temperature (taken as 25 C): retention results, the read at time 0 first.
- ``levy-bake``: ``tech*_bake.csv``, a read before and one after a bake at 100-260 C, the cells programmed
  anew for each temperature: one run per temperature; the read before counts at room temperature, the
  one after at the bake temperature (its elapsed time includes the bake, whose length is not stated).
- ``levy-noise``: ``techA_read_noise_timeseries.csv``, five cells read at 400 Hz: reads. The file gives
  conductance only; the read voltage is taken as ``read_voltage_v`` (default 0.2 V) for the current.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from labrram.bench.base import DeviceAddress
from labrram.importers.common import Imported, ImportedRun, ImportedSample, grid_array, read_table
from labrram.physics.parameters import ArrayKind
from labrram.records import Read, Record, Result

SIDE = 256
ROOM_TEMPERATURE_C = 25.0


def _technology(path: Path) -> str:
    found = re.search(r"tech([A-Z])", path.name)
    return found.group(1) if found else "X"


def _sample(path: Path, chip: str | None) -> ImportedSample:
    tech = _technology(path)
    array = grid_array(f"tech{tech}", SIDE, SIDE, ArrayKind.ONE_T_ONE_R)
    return ImportedSample(chip or f"levy-tech{tech}", f"Levy tech {tech} RRAM", (array,))


def _address(array: str, addr: int) -> DeviceAddress:
    return DeviceAddress(array, int(addr) // SIDE % SIDE, int(addr) % SIDE)


def import_relaxation(path: Path, chip: str | None, options: dict[str, Any]) -> Imported:
    frame = read_table(path, ("addr", "time_s", "g_S")).sort_values(["addr", "time_s"], kind="stable")
    sample = _sample(path, chip)
    array = sample.arrays[0].name
    records: list[Record] = []
    for addr, time_s, g in zip(frame["addr"], frame["time_s"], frame["g_S"], strict=True):
        values = {"elapsed_s": float(time_s), "conductance_s": float(g), "temperature_c": ROOM_TEMPERATURE_C}
        records.append(Result(_address(array, addr), "retention", values))
    devices = tuple(dict.fromkeys(r.device for r in records))
    parameters = {"note": "room temperature taken as 25 C; time 0 is each cell's first read"}
    return Imported(sample, [ImportedRun("retention", parameters, devices, records)])


def import_bake(path: Path, chip: str | None, options: dict[str, Any]) -> Imported:
    frame = read_table(path, ("addr", "time_s", "g_S", "temp_C"))
    sample = _sample(path, chip)
    array = sample.arrays[0].name
    runs = []
    for temperature, group in frame.groupby("temp_C", sort=True):
        group = group.sort_values(["addr", "time_s"], kind="stable")
        records: list[Record] = []
        for addr, time_s, g in zip(group["addr"], group["time_s"], group["g_S"], strict=True):
            baked = float(time_s) > 10.0  # the README: before is the last read before t = 10 s
            values = {
                "elapsed_s": float(time_s),
                "conductance_s": float(g),
                "temperature_c": float(temperature) if baked else ROOM_TEMPERATURE_C,
            }
            records.append(Result(_address(array, addr), "retention", values))
        devices = tuple(dict.fromkeys(r.device for r in records))
        parameters = {
            "temperature_c": float(temperature),
            "note": "read after the bake filed at the bake temperature; its elapsed time includes the bake",
        }
        runs.append(ImportedRun("retention", parameters, devices, records))
    return Imported(sample, runs)


def import_noise(path: Path, chip: str | None, options: dict[str, Any]) -> Imported:
    frame = read_table(path, ("t_s",))
    columns = [c for c in frame.columns if c.startswith("g_S_range")]
    read_v = float(options.get("read_voltage_v", 0.2))
    sample = _sample(path, chip)
    array = sample.arrays[0].name
    records: list[Record] = []
    devices = []
    times = frame["t_s"].to_numpy(dtype=float)
    for i, column in enumerate(columns):
        device = DeviceAddress(array, 0, i)
        devices.append(device)
        g = frame[column].to_numpy(dtype=float)
        keep = np.isfinite(g)
        records.extend(
            Read(device, float(t), read_v, float(v * read_v), float(v))
            for t, v in zip(times[keep], g[keep], strict=True)
        )
    parameters = {
        "cells": {f"0:{i}": c for i, c in enumerate(columns)},
        "read_voltage_v": read_v,
        "note": "the file gives conductance only: current = G x read_voltage_v (assumed)",
    }
    return Imported(sample, [ImportedRun("read_series", parameters, tuple(devices), records)])
