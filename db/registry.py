"""Find-or-create rows of the sample hierarchy and benches, safe when several benches do it at once.

Each helper inserts with ON CONFLICT DO NOTHING (SQLite and PostgreSQL alike) and then reads the id,
so two processes registering the same chip or device both end up with the one row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from labrram.bench.base import ArrayGeometry, DeviceAddress
from labrram.db.models import Array, Base, Bench, Device, Sample
from labrram.errors import DatabaseError

_CHUNK = 500  # keeps every statement under SQLite's bound-parameter limit


def _insert_ignore(connection: Connection, model: type[Base], rows: list[Mapping[str, Any]]) -> None:
    if not rows:
        return
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    connection.execute(dialect.insert(model).on_conflict_do_nothing(), rows)


def bench_id(connection: Connection, name: str) -> int:
    _insert_ignore(connection, Bench, [{"name": name}])
    return connection.scalar(select(Bench.id).where(Bench.name == name))


def sample_id(connection: Connection, chip: str, technology: str | None) -> int:
    _insert_ignore(connection, Sample, [{"name": chip, "kind": "chip", "technology": technology}])
    return connection.scalar(select(Sample.id).where(Sample.name == chip))


def array_ids(connection: Connection, sample: int, arrays: Iterable[ArrayGeometry]) -> dict[str, int]:
    rows = [
        {"sample_id": sample, "name": a.name, "rows": a.rows, "cols": a.cols, "kind": str(a.kind)}
        for a in arrays
    ]
    _insert_ignore(connection, Array, rows)
    found = connection.execute(select(Array.name, Array.id).where(Array.sample_id == sample))
    return dict(found.all())


def device_ids(
    connection: Connection, arrays: Mapping[str, int], devices: Iterable[DeviceAddress]
) -> dict[DeviceAddress, int]:
    """Ids of the given devices, creating their rows where missing."""
    devices = list(devices)
    unknown = sorted({d.array for d in devices} - set(arrays))
    if unknown:
        raise DatabaseError(
            f"records name arrays {unknown} that the sample does not have ({', '.join(arrays)})"
        )
    wanted = {(arrays[d.array], d.row, d.col): d for d in devices}
    if not wanted:
        return {}
    _insert_ignore(connection, Device, [{"array_id": a, "row": r, "col": c} for a, r, c in wanted])
    found = connection.execute(
        select(Device.array_id, Device.row, Device.col, Device.id).where(
            tuple_(Device.array_id, Device.row, Device.col).in_(list(wanted))
        )
    )
    return {wanted[(a, r, c)]: device for a, r, c, device in found.all()}
