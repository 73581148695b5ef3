"""What every importer shares: the imported sample, runs of records, and writing them through the Recorder.

Imported measurements go into the same tables as measured ones, each file as one or more runs whose
parameters name the source file, its SHA-256, the format, and every assumption the importer had to make
(a read voltage the file does not state, times that are only an order). Nothing is invented silently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from labrram.bench.base import ArrayGeometry, DeviceAddress
from labrram.db.recorder import Recorder
from labrram.errors import ImportFormatError
from labrram.physics.parameters import ArrayKind
from labrram.records import Record, RunStarted


@dataclass(frozen=True)
class ImportedSample:
    """The chip an imported file describes: its name, technology and arrays."""

    chip: str
    technology: str
    arrays: tuple[ArrayGeometry, ...]


@dataclass(frozen=True)
class ImportedRun:
    """One run's worth of imported records, with the procedure it stands for and its parameters."""

    procedure: str
    parameters: dict[str, Any]
    devices: tuple[DeviceAddress, ...]
    records: Iterable[Record]


@dataclass(frozen=True)
class Imported:
    """An importer's result: the sample and its runs."""

    sample: ImportedSample
    runs: list[ImportedRun] = field(default_factory=list)


Importer = Callable[[Path, str | None, dict[str, Any]], Imported]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    paths = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for item in paths:
        digest.update(item.read_bytes())
    return digest.hexdigest()


def read_table(path: Path, required: Iterable[str]) -> pd.DataFrame:
    """A CSV or Parquet file with at least the ``required`` columns; ImportFormatError otherwise."""
    try:
        frame = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path)
    except FileNotFoundError:
        raise ImportFormatError(f"{path}: no such file") from None
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise ImportFormatError(f"{path}: not a readable CSV or Parquet table ({error})") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ImportFormatError(
            f"{path}: missing columns {', '.join(missing)} (has {', '.join(frame.columns)})"
        )
    return frame


def grid_array(name: str, rows: int, cols: int, kind: ArrayKind) -> ArrayGeometry:
    return ArrayGeometry(name, rows, cols, kind)


def record_import(
    engine: Engine, imported: Imported, source: Path, fmt: str, operator: str | None = None
) -> list[int]:
    """Write every imported run through the Recorder; return the run ids."""
    digest = file_sha256(source)
    run_ids = []
    for run in imported.runs:
        parameters = {
            **run.parameters,
            "source": str(source.resolve()),
            "source_sha256": digest,
            "format": fmt,
        }
        recorder = Recorder(engine, f"import:{fmt}", imported.sample, operator=operator, batch_size=20_000)
        stream = [RunStarted(run.procedure, parameters, run.devices)]
        run_ids.append(recorder.record(_chain(stream, run.records)))
    return run_ids


def _chain(first: list[Record], rest: Iterable[Record]) -> Iterable[Record]:
    yield from first
    yield from rest
