"""The register of device models: which file, fitted from what, when, by which labrram."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, insert, select

from labrram.db.models import DeviceModelRecord
from labrram.db.queries import _frames


def register_device_model(
    engine: Engine,
    name: str,
    path: str,
    file_sha256: str,
    format_version: int,
    labrram_version: str,
    selection: dict[str, Any],
    runs: dict[str, Any],
    devices: int,
    summary: dict[str, Any],
) -> int:
    """Record a written model file; the same file at the same path is registered once (its id returned)."""
    with engine.begin() as connection:
        existing = connection.scalar(
            select(DeviceModelRecord.id).where(
                DeviceModelRecord.file_sha256 == file_sha256, DeviceModelRecord.path == path
            )
        )
        if existing is not None:
            return int(existing)
        return int(
            connection.scalar(
                insert(DeviceModelRecord)
                .values(
                    name=name,
                    path=path,
                    file_sha256=file_sha256,
                    format_version=format_version,
                    created_at=datetime.now(UTC),
                    labrram_version=labrram_version,
                    selection=selection,
                    runs=runs,
                    devices=devices,
                    summary=summary,
                )
                .returning(DeviceModelRecord.id)
            )
        )


def device_models(engine: Engine) -> pd.DataFrame:
    """Every registered device model, oldest first."""
    columns = [c for c in DeviceModelRecord.__table__.columns]
    query = select(*columns).order_by(DeviceModelRecord.id)
    return pd.concat(list(_frames(engine, query, 10_000)), ignore_index=True)
