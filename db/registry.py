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
    """The chip's id; a chip of that name already filed under another technology is refused."""
    _insert_ignore(connection, Sample, [{"name": chip, "kind": "chip", "technology": technology}])
    found, stored = connection.execute(select(Sample.id, Sample.technology).where(Sample.name == chip)).one()
    if stored is not None and technology is not None and stored != technology:
        raise DatabaseError(
            f"chip {chip!r} is on record as {stored!r}, this bench says {technology!r}: "
            "a different chip needs a different name"
        )
    return found


def array_ids(connection: Connection, sample: int, arrays: Iterable[ArrayGeometry]) -> dict[str, int]:
    """Ids of the chip's arrays; an array on record with another size or access kind is refused."""
    arrays = list(arrays)
    rows = [
        {"sample_id": sample, "name": a.name, "rows": a.rows, "cols": a.cols, "kind": str(a.kind)}
        for a in arrays
    ]
    _insert_ignore(connection, Array, rows)
    found = connection.execute(
        select(Array.name, Array.id, Array.rows, Array.cols, Array.kind).where(Array.sample_id == sample)
    ).all()
    stored = {name: (rows_, cols, kind) for name, _, rows_, cols, kind in found}
    for a in arrays:
        if stored[a.name] != (a.rows, a.cols, str(a.kind)):
            r, c, k = stored[a.name]
            raise DatabaseError(
                f"array {a.name!r} of this chip is on record as {r}x{c} {k}, this bench says "
                f"{a.rows}x{a.cols} {a.kind}: a different chip needs a different name"
            )
    return {name: array_id for name, array_id, *_ in found}


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
