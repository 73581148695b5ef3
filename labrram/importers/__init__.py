"""Importers: measured data from files into the device database, in the same tables as labrram's runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from labrram.errors import ImportFormatError
from labrram.importers import drolet, levy, stanford
from labrram.importers.common import Imported, Importer, record_import
from labrram.importers.long import import_long

FORMATS: dict[str, tuple[Importer, str]] = {
    "long": (import_long, "one row per pulse or read (CSV or Parquet; see labrram.importers.long)"),
    "drolet-disturbance": (drolet.import_disturbance, "TiO2 dG by devices programmed after (seed 002)"),
    "drolet-stuck": (drolet.import_stuck, "TiO2 crossbar read-outs with stuck devices (folder or long CSV)"),
    "levy-relaxation": (levy.import_relaxation, "multilevel relaxation 0-1e4 s (techB_relaxation.csv)"),
    "levy-bake": (levy.import_bake, "reads before/after bakes at 100-260 C (tech*_bake.csv)"),
    "levy-noise": (levy.import_noise, "400 Hz read series of five cells"),
    "stanford-set": (stanford.import_set_sweep, "1T1R single SET pulses over width x VWL x VBL"),
    "stanford-reset": (stanford.import_reset_sweep, "1T1R single RESET pulses over width x VWL x VSL"),
    "stanford-mlc": (stanford.import_mlc, "32-level multilevel reads"),
    "stanford-bake": (stanford.import_bake, "32 levels before/after 1 h at 85/110/130 C"),
    "stanford-endurance": (stanford.import_endurance, "conductance after SET and RESET vs cycles"),
}


def import_file(
    engine: Engine,
    path: str | Path,
    fmt: str,
    chip: str | None = None,
    operator: str | None = None,
    options: dict[str, Any] | None = None,
) -> list[int]:
    """Import one file (or folder) in a known format; return the ids of the runs written."""
    if fmt not in FORMATS:
        raise ImportFormatError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    path = Path(path)
    if not path.exists():
        raise ImportFormatError(f"{path}: no such file or folder")
    imported: Imported = FORMATS[fmt][0](path, chip, dict(options or {}))
    return record_import(engine, imported, path, fmt, operator)


__all__ = ["FORMATS", "import_file"]
