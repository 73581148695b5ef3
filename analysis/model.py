"""The DeviceModel: every fitted statistic of a technology, the window and programming scheme, in one file.

It is what the transfer evaluator reads, and nothing else. Each component is optional (a lab may not have
measured retention yet); a missing one is absent from the simulation and named in ``notes``. The file is
a labrram document (`labrram.analysis.document`): JSON, versioned, checksummed, readable without pickle.
Its payload holds ``window_s``, ``scheme``, one object per fitted component (``jump_table``, ``tuning``,
``disturbance``, ``stuck``, ``levels``, ``retention``, ``read_noise``; their fields are those of each
class's ``to_dict``) and ``provenance`` (selection, runs per component, devices, time, labrram version,
database). `DeviceModel.register` records the file, its SHA-256 and the provenance in the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, select

import labrram
from labrram.analysis.disturbance import DisturbanceByOrder
from labrram.analysis.document import read_document, write_document
from labrram.analysis.jumptable import JumpTable
from labrram.analysis.levels import MultilevelLevels
from labrram.analysis.read_noise import ReadNoise
from labrram.analysis.retention import RetentionModel
from labrram.analysis.sources import (
    device_count,
    disturbance_data,
    level_data,
    pulse_response_data,
    read_pair_data,
    retention_data,
    stuck_data,
    tuning_data,
)
from labrram.analysis.stuck import StuckDevices
from labrram.analysis.tuning import TuningImprecision
from labrram.db.device_models import register_device_model
from labrram.db.models import Array, Run
from labrram.db.queries import Selection
from labrram.errors import AnalysisError

FORMAT = "labrram-device-model"
FORMAT_VERSION = 1
COMPONENTS = {
    "jump_table": JumpTable,
    "tuning": TuningImprecision,
    "disturbance": DisturbanceByOrder,
    "stuck": StuckDevices,
    "levels": MultilevelLevels,
    "retention": RetentionModel,
    "read_noise": ReadNoise,
}


@dataclass(frozen=True, eq=False)
class DeviceModel:
    """A technology's statistics for simulated transfers; conductances in siemens."""

    window_s: tuple[float, float]
    scheme: dict[str, Any] = field(default_factory=dict)
    jump_table: JumpTable | None = None
    tuning: TuningImprecision | None = None
    disturbance: DisturbanceByOrder | None = None
    stuck: StuckDevices | None = None
    levels: MultilevelLevels | None = None
    retention: RetentionModel | None = None
    read_noise: ReadNoise | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        low, high = self.window_s
        if not (np.isfinite(low) and np.isfinite(high) and 0 <= low < high):
            raise AnalysisError(f"conductance window {self.window_s} must satisfy 0 <= low < high")

    def components(self) -> dict[str, object]:
        """The fitted components present in this model."""
        return {name: getattr(self, name) for name in COMPONENTS if getattr(self, name) is not None}

    def with_components(self, **changes: object) -> DeviceModel:
        """A copy with some components replaced or removed (None), e.g. to study one non-ideality alone."""
        unknown = set(changes) - set(COMPONENTS) - {"window_s", "scheme"}
        if unknown:
            raise AnalysisError(f"not device-model components: {sorted(unknown)}")
        return replace(self, **changes)

    # -- files ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "window_s": list(self.window_s),
            "scheme": self.scheme,
            "provenance": self.provenance,
            "notes": list(self.notes),
        }
        for name, component in self.components().items():
            payload[name] = component.to_dict()
        return payload

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> DeviceModel:
        parts = {
            name: kind.from_dict(payload[name]) for name, kind in COMPONENTS.items() if payload.get(name)
        }
        return cls(
            window_s=(float(payload["window_s"][0]), float(payload["window_s"][1])),
            scheme=dict(payload.get("scheme", {})),
            provenance=dict(payload.get("provenance", {})),
            notes=tuple(payload.get("notes", ())),
            **parts,
        )

    def save(self, path: str | Path) -> str:
        """Write the model file; return its SHA-256."""
        return write_document(Path(path), FORMAT, FORMAT_VERSION, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> DeviceModel:
        """Read a model file; ModelFileError for a corrupt, foreign or newer-version file."""
        payload = read_document(Path(path), FORMAT, FORMAT_VERSION)
        try:
            return cls.from_dict(payload)
        except (KeyError, TypeError, ValueError) as error:
            raise AnalysisError(
                f"{path}: the model's content is incomplete ({type(error).__name__}: {error})"
            ) from None

    def register(self, engine: Engine, path: str | Path, file_sha256: str, name: str | None = None) -> int:
        """Record a saved model file in the database with its provenance; return its id there."""
        path = Path(path).resolve()
        provenance = self.provenance
        return register_device_model(
            engine,
            name=name or path.stem,
            path=str(path),
            file_sha256=file_sha256,
            format_version=FORMAT_VERSION,
            labrram_version=labrram.__version__,
            selection=provenance.get("selection", {}),
            runs=provenance.get("runs", {}),
            devices=int(provenance.get("devices", 0)),
            summary=self.summary(),
        )

    def summary(self) -> dict[str, Any]:
        """The headline figures of each component (what a report's first table shows)."""
        figures: dict[str, Any] = {"window_s": list(self.window_s), "components": list(self.components())}
        if self.tuning is not None:
            figures["tuning_sigma_rel"] = {
                "slope_per_s": self.tuning.spread.slope,
                "intercept": self.tuning.spread.intercept,
            }
            figures["tuning_offset_rel_mean"] = float(
                np.average(self.tuning.mean_rel, weights=self.tuning.counts)
            )
        if self.disturbance is not None:
            figures["disturbance_groups"] = len(self.disturbance.group_ranges)
        if self.stuck is not None:
            figures["stuck_rate"] = {s: self.stuck.rate(s) for s in ("HRS", "LRS")}
        if self.levels is not None:
            figures["levels"] = self.levels.count
        if self.retention is not None:
            figures["activation_energy_ev"] = self.retention.activation_energy_ev
        if self.read_noise is not None:
            figures["read_noise"] = {"rel": self.read_noise.rel, "floor_s": self.read_noise.floor_s}
        return figures

    # -- from the database ---------------------------------------------------------------------
    @classmethod
    def from_database(
        cls,
        engine: Engine,
        selection: Selection | None = None,
        window_s: tuple[float, float] | None = None,
        components: tuple[str, ...] = tuple(COMPONENTS),
        jump_table_options: dict[str, Any] | None = None,
        cache: bool | Path = True,
    ) -> DeviceModel:
        """Fit every requested component the selection has data for; name the others in ``notes``."""
        selection = selection or Selection()
        unknown = set(components) - set(COMPONENTS)
        if unknown:
            raise AnalysisError(f"unknown components {sorted(unknown)}; known: {', '.join(COMPONENTS)}")
        fitted: dict[str, object] = {}
        runs: dict[str, list[int]] = {}
        notes: list[str] = []

        def attempt(name: str, fit) -> None:
            if name not in components:
                return
            try:
                result = fit()
            except AnalysisError as error:
                notes.append(f"{name}: not fitted: {error}")
                return
            if result is None:
                notes.append(f"{name}: no data in the selection")
                return
            component, sourced = result
            fitted[name] = component
            runs[name] = list(sourced.runs)

        def jump_table():
            sourced = pulse_response_data(engine, selection, cache)
            if len(sourced.data) == 0:
                return None
            return JumpTable.fit(sourced.data, **(jump_table_options or {})), sourced

        def tuning():
            sourced = tuning_data(engine, selection)
            if sourced.records == 0:
                return None
            frame = sourced.data
            component = TuningImprecision.fit(
                frame["target_s"], frame["achieved_s"], frame["success"].astype(bool)
            )
            return component, sourced

        def disturbance():
            sourced = disturbance_data(engine, selection)
            if sourced.records == 0:
                return None
            return DisturbanceByOrder.fit(sourced.data["n_after"], sourced.data["delta_s"]), sourced

        def stuck():
            sourced = stuck_data(engine, selection)
            if sourced.data is None or sourced.data["devices"] == 0:
                return None
            frame = sourced.data["stuck"]
            return StuckDevices.fit(sourced.data["devices"], frame["state"], frame["conductance_s"]), sourced

        def levels():
            sourced = level_data(engine, selection)
            if sourced.records == 0:
                return None
            f = sourced.data
            component = MultilevelLevels.fit(
                f["level"], f["achieved_s"], f["target_s"], f["low_s"], f["high_s"], f["success"].astype(bool)
            )
            return component, sourced

        def retention():
            sourced = retention_data(engine, selection)
            if sourced.records == 0:
                return None
            f = sourced.data
            component = RetentionModel.fit(
                f["device_key"], f["elapsed_s"], f["conductance_s"], f["temperature_c"]
            )
            return component, sourced

        def read_noise():
            sourced = read_pair_data(engine, selection, cache)
            if sourced.records == 0:
                return None
            return ReadNoise.fit(sourced.data), sourced

        for name, fit in (
            ("jump_table", jump_table),
            ("tuning", tuning),
            ("disturbance", disturbance),
            ("stuck", stuck),
            ("levels", levels),
            ("retention", retention),
            ("read_noise", read_noise),
        ):
            attempt(name, fit)
        if not fitted:
            raise AnalysisError("nothing in the selection could be fitted: " + "; ".join(notes))
        window = window_s or _window(fitted)
        all_runs = sorted({r for ids in runs.values() for r in ids})
        provenance = {
            "selection": _selection_dict(selection),
            "runs": {"all": all_runs, **runs},
            "devices": device_count(engine, all_runs),
            "created_at": datetime.now(UTC).isoformat(),
            "labrram_version": labrram.__version__,
            "database": engine.url.render_as_string(hide_password=True),
            "window": "given" if window_s else "from the data (see notes)",
        }
        notes.append(_window_note(window_s, fitted))
        return cls(window, _scheme(engine, all_runs), provenance=provenance, notes=tuple(notes), **fitted)


def _window(fitted: dict[str, object]) -> tuple[float, float]:
    """The conductance range devices were shown to reach, from the best evidence the model has."""
    tuning = fitted.get("tuning")
    if isinstance(tuning, TuningImprecision) and tuning.levels_s.size >= 2:
        return float(tuning.levels_s.min()), float(tuning.levels_s.max())
    table = fitted.get("jump_table")
    if isinstance(table, JumpTable):
        return table.window_s
    levels = fitted.get("levels")
    if isinstance(levels, MultilevelLevels) and levels.count >= 2:
        return float(levels.means_s.min()), float(levels.means_s.max())
    retention = fitted.get("retention")
    if isinstance(retention, RetentionModel) and len(retention.levels) >= 2:
        return float(retention.g0_s.min()), float(retention.g0_s.max())
    noise = fitted.get("read_noise")
    if isinstance(noise, ReadNoise) and noise.g_s.size >= 2:
        return float(noise.g_s.min()), float(noise.g_s.max())
    raise AnalysisError(
        "no data to take a conductance window from (tuning, pulses, levels, retention): give one"
    )


def _window_note(window_s: tuple[float, float] | None, fitted: dict[str, object]) -> str:
    if window_s:
        return "window: given by the user"
    for name, note in (
        ("tuning", "the range of target levels tuned successfully"),
        ("jump_table", "the range pulses reached in the jump-table data"),
        ("levels", "the range of the multilevel level means"),
        ("retention", "the range of the retention levels' starting conductances"),
    ):
        if name in fitted:
            return f"window: {note}"
    return "window: the range of conductances in the read-noise data"


def _selection_dict(selection: Selection) -> dict[str, Any]:
    return {
        "runs": list(selection.runs) if selection.runs is not None else None,
        "chip": selection.chip,
        "array": selection.array,
        "devices": [list(d) for d in selection.devices] if selection.devices is not None else None,
        "procedure": selection.procedure,
        "started_after": selection.started_after.isoformat() if selection.started_after else None,
        "started_before": selection.started_before.isoformat() if selection.started_before else None,
    }


def _scheme(engine: Engine, run_ids: list[int]) -> dict[str, Any]:
    """Array geometry and programming order of the array-programming runs behind the model."""
    if not run_ids:
        return {}
    with engine.connect() as connection:
        rows = connection.execute(
            select(Run.procedure, Run.parameters, Run.sample_id).where(Run.id.in_(run_ids))
        ).all()
        programming = [(p, s) for proc, p, s in rows if proc == "array_programming"]
        if not programming:
            return {}
        parameters, sample_id = programming[0]
        array_name = parameters.get("array")
        arrays = connection.execute(
            select(Array.name, Array.rows, Array.cols, Array.kind).where(Array.sample_id == sample_id)
        ).all()
    chosen = next((a for a in arrays if a[0] == array_name), arrays[0] if arrays else None)
    scheme: dict[str, Any] = {"order": parameters.get("order", "column-major")}
    if chosen is not None:
        scheme.update(array_rows=int(chosen[1]), array_cols=int(chosen[2]), array_kind=str(chosen[3]))
    settings = parameters.get("settings") or {}
    if "tolerance" in settings:
        scheme["tolerance"] = settings["tolerance"]
    return scheme
