"""What each estimator needs, read from the database for a Selection, with the runs it came from.

Every function returns plain arrays or frames plus the ids of the runs that contributed, so a model can
say which measurements it rests on. Devices are keyed by (run, chip, array, row, col) where a quantity
belongs to one run (a retention series), and by (chip, array, row, col) where it belongs to the device.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select, union

from labrram.analysis.responses import pulse_responses, read_pairs
from labrram.db.columnar import record_table
from labrram.db.queries import Selection, results, runs
from labrram.db.recorder import RECORD_MODELS

# Procedures whose runs apply identical pulses with a read after each: jump-table material.
JUMP_TABLE_PROCEDURES = ("pulse_train", "pulse_sweep", "imported_pulses")
# Procedures whose runs say which devices are stuck, and how each counts the devices it tried.
STUCK_PROCEDURES = {"array_programming": "tuning", "stuck_map": "read"}


@dataclass(frozen=True)
class Sourced:
    """Data for one estimator and the runs behind it."""

    data: object
    runs: tuple[int, ...]
    records: int


def _run_list(frame: pd.DataFrame) -> tuple[int, ...]:
    return tuple(sorted({int(r) for r in frame["run_id"]})) if len(frame) else ()


def _device_key(frame: pd.DataFrame, with_run: bool = False) -> pd.Series:
    parts = [
        frame["chip"].astype(str),
        frame["array"].astype(str),
        frame["row"].astype(str),
        frame["col"].astype(str),
    ]
    if with_run:
        parts.insert(0, frame["run_id"].astype(str))
    key = parts[0]
    for part in parts[1:]:
        key = key + "/" + part
    return key


def pulse_response_data(
    engine: Engine,
    selection: Selection,
    cache: bool | Path = True,
    procedures: tuple[str, ...] = JUMP_TABLE_PROCEDURES,
) -> Sourced:
    """(G before, dG) of every pulse read on both sides, in runs of jump-table procedures.

    Tuning ramps change amplitude pulse by pulse: only runs of identical pulses (``procedures``) make
    jump-tables, unless the selection names a procedure itself.
    """
    if selection.procedure is None:
        table = runs(engine)
        chosen = table[table["procedure"].isin(list(procedures))]["id"]
        allowed = [int(r) for r in chosen if selection.runs is None or int(r) in set(selection.runs)]
        selection = replace(selection, runs=allowed)
    pulses = record_table(engine, "pulse", selection, cache)
    reads = record_table(
        engine, "read", selection, cache, columns=("run_id", "device_id", "seq", "conductance_s")
    )
    responses = pulse_responses(pulses, reads)
    return Sourced(responses, tuple(sorted(set(responses.run_id.tolist()))), len(responses))


def read_pair_data(engine: Engine, selection: Selection, cache: bool | Path = True) -> Sourced:
    """Successive reads with no pulse between them."""
    pulses = record_table(engine, "pulse", selection, cache, columns=("run_id", "device_id", "seq"))
    reads = record_table(
        engine, "read", selection, cache, columns=("run_id", "device_id", "seq", "t_s", "conductance_s")
    )
    pairs = read_pairs(pulses, reads)
    run_ids = tuple(sorted(set(reads["run_id"].to_numpy().tolist()))) if len(pairs) else ()
    return Sourced(pairs, run_ids, len(pairs))


def tuning_data(engine: Engine, selection: Selection) -> Sourced:
    """Tuning results: target_s, achieved_s, success."""
    frame = results(engine, "tuning", selection)
    return Sourced(frame, _run_list(frame), len(frame))


def disturbance_data(engine: Engine, selection: Selection) -> Sourced:
    """(N after, dG) of devices whose own tuning succeeded and that are not stuck (seed 002)."""
    other = results(engine, "other", selection)
    disturbance = other[other["kind"] == "disturbance"] if len(other) else other
    if disturbance.empty:
        return Sourced(pd.DataFrame({"n_after": [], "delta_s": []}), (), 0)
    stuck = other[other["kind"] == "stuck"]
    tuning = results(engine, "tuning", selection)
    excluded = set(_device_key(stuck, True)) if len(stuck) else set()
    if len(tuning):
        excluded |= set(_device_key(tuning[~tuning["success"].astype(bool)], True))
    keys = _device_key(disturbance, True)
    kept = disturbance[~keys.isin(excluded)]
    frame = pd.DataFrame(
        {
            "n_after": [int(v["programmed_after"]) for v in kept["values"]],
            "delta_s": [float(v["delta_s"]) for v in kept["values"]],
        }
    )
    return Sourced(frame, _run_list(kept), len(frame))


def stuck_data(engine: Engine, selection: Selection) -> Sourced:
    """Devices tried and the stuck ones (state, conductance) in runs that look for stuck devices."""
    table = runs(engine)
    eligible = table[table["procedure"].isin(list(STUCK_PROCEDURES))]
    if selection.runs is not None:
        eligible = eligible[eligible["id"].isin(list(selection.runs))]
    if eligible.empty:
        return Sourced(None, (), 0)
    run_ids = [int(r) for r in eligible["id"]]
    scoped = Selection(runs=run_ids, chip=selection.chip, array=selection.array, devices=selection.devices)
    tried: set[str] = set()
    tuning = results(engine, "tuning", scoped)
    if len(tuning):
        tried |= set(_device_key(tuning, True))
    read_runs = [
        int(r)
        for r, p in zip(eligible["id"], eligible["procedure"], strict=True)
        if STUCK_PROCEDURES[p] == "read"
    ]
    if read_runs:
        reads = record_table(
            engine,
            "read",
            Selection(runs=read_runs, chip=selection.chip, array=selection.array),
            columns=("run_id", "device_id"),
        )
        pairs = {
            (int(r), int(d))
            for r, d in zip(reads["run_id"].to_numpy(), reads["device_id"].to_numpy(), strict=True)
        }
        tried |= {f"{r}/device{d}" for r, d in pairs}
    other = results(engine, "other", scoped)
    stuck = other[other["kind"] == "stuck"] if len(other) else other
    frame = pd.DataFrame(
        {
            "state": [str(v["state"]) for v in stuck["values"]] if len(stuck) else [],
            "conductance_s": [float(v["conductance_s"]) for v in stuck["values"]] if len(stuck) else [],
        }
    )
    return Sourced({"devices": len(tried), "stuck": frame}, tuple(run_ids), len(tried))


def level_data(engine: Engine, selection: Selection) -> Sourced:
    """Multilevel results: level, target_s, achieved_s, success and the bin edges where recorded."""
    frame = results(engine, "level", selection)
    if len(frame):
        frame = frame.assign(
            low_s=[float(e.get("low_s", np.nan)) if isinstance(e, dict) else np.nan for e in frame["extra"]],
            high_s=[
                float(e.get("high_s", np.nan)) if isinstance(e, dict) else np.nan for e in frame["extra"]
            ],
        )
    return Sourced(frame, _run_list(frame), len(frame))


def retention_data(engine: Engine, selection: Selection) -> Sourced:
    """Retention reads with a per-(run, device) key, elapsed time, conductance and temperature."""
    frame = results(engine, "retention", selection)
    if len(frame):
        frame = frame.assign(
            device_key=_device_key(frame, True),
            temperature_c=pd.to_numeric(frame["temperature_c"], errors="coerce"),
        )
    return Sourced(frame, _run_list(frame), len(frame))


def device_count(engine: Engine, run_ids: list[int]) -> int:
    """Distinct devices with any pulse, read or result in the runs."""
    if not run_ids:
        return 0
    devices = union(*(select(m.device_id).where(m.run_id.in_(run_ids)) for m in RECORD_MODELS)).subquery()
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(devices)))
