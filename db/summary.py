"""What a run holds: its parameters, bench, devices and record counts, and how its devices fared."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from labrram.db.models import (
    Bench,
    ProcedureResult,
    ProgrammedLevel,
    PulseRecord,
    ReadRecord,
    Run,
    TuningResult,
)
from labrram.db.recorder import RECORD_MODELS
from labrram.errors import DatabaseError


def run_summary(engine: Engine, run_id: int) -> dict[str, Any]:
    """One run in figures: procedure, status, parameters, bench, devices, records and outcomes."""
    with engine.connect() as connection:
        run = connection.execute(select(Run).where(Run.id == run_id)).mappings().one_or_none()
        if run is None:
            raise DatabaseError(f"there is no run {run_id}")
        bench = connection.scalar(select(Bench.name).where(Bench.id == run["bench_id"]))
        counts = {
            model.__tablename__: int(connection.scalar(select(func.count()).where(model.run_id == run_id)))
            for model in RECORD_MODELS
        }
        devices = set()
        for model in RECORD_MODELS:
            devices |= set(
                connection.scalars(select(model.device_id).where(model.run_id == run_id).distinct())
            )
        outcomes = {}
        for model, name in ((TuningResult, "tuning"), (ProgrammedLevel, "level")):
            rows = connection.execute(
                select(model.success, func.count()).where(model.run_id == run_id).group_by(model.success)
            ).all()
            if rows:
                outcomes[name] = {("succeeded" if ok else "failed"): int(n) for ok, n in rows}
        kinds = connection.execute(
            select(ProcedureResult.kind, func.count())
            .where(ProcedureResult.run_id == run_id)
            .group_by(ProcedureResult.kind)
        ).all()
    return {
        "run": run_id,
        "procedure": run["procedure"],
        "status": run["status"],
        "message": run["message"],
        "bench": bench,
        "parameters": run["parameters"],
        "devices": len(devices),
        "pulses": counts[PulseRecord.__tablename__],
        "reads": counts[ReadRecord.__tablename__],
        "results": {name: n for name, n in counts.items() if name not in ("pulse", "read") and n},
        "outcomes": outcomes,
        "other_results": {kind: int(n) for kind, n in kinds},
    }


def format_outcome(summary: dict[str, Any]) -> str:
    """One paragraph: devices, pulses, reads and how the devices fared."""
    parts = [
        f"run {summary['run']} ({summary['procedure']}, {summary['status']}): {summary['devices']} devices, "
        f"{summary['pulses']} pulses, {summary['reads']} reads"
    ]
    for name, counts in summary["outcomes"].items():
        parts.append(f"{name}: {counts.get('succeeded', 0)} succeeded, {counts.get('failed', 0)} failed")
    if summary["other_results"]:
        parts.append("results: " + ", ".join(f"{n} {kind}" for kind, n in summary["other_results"].items()))
    if summary["message"]:
        parts.append(f"message: {summary['message']}")
    return "; ".join(parts)
