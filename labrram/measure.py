"""``labrram measure``: run a procedure on a device selection from the command line.

Parameters come as ``name=value`` pairs onto the procedure's settings dataclass (and a few
procedure-level values such as a tuning target); each is converted by the field's type and checked, and
a bad one is a ParameterError naming it. Devices are selected as ``all`` (the first array), ``A1`` (a
whole array) or ``A1:ROWS:COLS`` with ROWS and COLS as ``2``, ``0-3`` or ``1,4,6``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Engine

from labrram.bench.base import ArrayGeometry, Bench, DeviceAddress
from labrram.config import BenchConfig
from labrram.db import Recorder, Selection, results, runs
from labrram.errors import ParameterError
from labrram.physics.parameters import ArrayKind
from labrram.procedures.common import CONCLUDING_RESULTS, NOT_RESUMABLE, require_positive
from labrram.procedures.endurance import EnduranceSettings, endurance
from labrram.procedures.forming import FormingSettings, form_devices
from labrram.procedures.iv import IVSettings, iv_sweeps
from labrram.procedures.limits import check_settings
from labrram.procedures.multilevel import MultilevelSettings, place_levels, program_levels
from labrram.procedures.parallel_tuning import parallel_tuning_run
from labrram.procedures.program import array_programming
from labrram.procedures.pulse_train import PulseTrainSettings, pulse_trains
from labrram.procedures.retention import RetentionSettings, retention_test
from labrram.procedures.tuning import TUNING_PRESETS, AlibartSettings, tune_devices
from labrram.records import Record, RunStarted

Builder = Callable[["MeasureContext"], Iterator[Record]]


@dataclass(frozen=True)
class MeasureContext:
    """Everything a procedure run needs: bench, devices, settings, extra values, resume state."""

    bench: Bench
    config: BenchConfig
    devices: list[DeviceAddress]
    settings: Any
    extras: dict[str, Any]
    done: Collection[DeviceAddress]
    programmed_s: Mapping[DeviceAddress, float]
    seed: int | None


@dataclass(frozen=True)
class ProcedureSpec:
    """A procedure as the command line offers it."""

    settings_type: type
    build: Builder
    summary: str
    extras: dict[str, tuple[str, Any]] = field(default_factory=dict)  # name -> (type, default)


def _window(context: MeasureContext, fraction: float) -> tuple[float, float]:
    p = context.config.sample.parameters
    margin = fraction * (p.g_max_s - p.g_min_s)
    return p.g_min_s + margin, p.g_max_s - margin


def _tuning(context: MeasureContext) -> Iterator[Record]:
    target_s = context.extras["target_s"]
    if target_s is None:
        raise ParameterError("target_s", "is required (e.g. target_s=2e-4)")
    require_positive("target_s", target_s)
    targets = dict.fromkeys(context.devices, target_s)
    run = parallel_tuning_run if context.extras["parallel"] else tune_devices
    return run(context.bench, targets, context.settings, context.done, context.seed)


def _multilevel(context: MeasureContext) -> Iterator[Record]:
    extras = context.extras
    low, high = _window(context, 0.15)
    plan = place_levels(
        extras["levels"],
        extras["g_low_s"] or low,
        extras["g_high_s"] or high,
        extras["placement"],
        extras["fill"],
        extras["reset_conductance_s"],
    )
    assignment = {device: i % extras["levels"] for i, device in enumerate(context.devices)}
    return program_levels(context.bench, assignment, plan, context.settings, context.done, context.seed)


def _array_programming(context: MeasureContext) -> Iterator[Record]:
    arrays = {d.array for d in context.devices}
    if len(arrays) != 1:
        raise ParameterError("devices", "array programming works on one array at a time")
    (array,) = arrays
    geometry = context.bench.arrays[array]
    low, high = _window(context, 0.1)
    low, high = context.extras["targets_low_s"] or low, context.extras["targets_high_s"] or high
    rng = np.random.default_rng(context.seed)
    drawn = rng.uniform(low, high, size=(geometry.rows, geometry.cols))
    targets = np.full((geometry.rows, geometry.cols), np.nan)
    for device in context.devices:
        targets[device.row, device.col] = drawn[device.row, device.col]
    return array_programming(
        context.bench,
        array,
        targets,
        context.settings,
        context.extras["order"],
        context.programmed_s,
        context.seed,
    )


def _per_device(run: Callable[..., Iterator[Record]]) -> Builder:
    return lambda c: run(c.bench, c.devices, c.settings, c.done, c.seed)


PROCEDURES: dict[str, ProcedureSpec] = {
    "tuning": ProcedureSpec(
        AlibartSettings,
        _tuning,
        "Alibart tuning to target_s",
        {"target_s": ("float", None), "preset": ("str", None), "parallel": ("bool", False)},
    ),
    "multilevel": ProcedureSpec(
        MultilevelSettings,
        _multilevel,
        "program-and-verify into K levels (devices take levels 0..K-1 in turn)",
        {
            "levels": ("int", 8),
            "placement": ("str", "linear"),
            "fill": ("float", 0.5),
            "g_low_s": ("float", None),
            "g_high_s": ("float", None),
            "reset_conductance_s": ("float", None),
        },
    ),
    "retention": ProcedureSpec(
        RetentionSettings,
        lambda c: retention_test(c.bench, c.devices, c.settings, seed=c.seed),
        "reads at a log-spaced schedule",
    ),
    "pulse-train": ProcedureSpec(PulseTrainSettings, _per_device(pulse_trains), "SET then RESET trains"),
    "forming": ProcedureSpec(FormingSettings, _per_device(form_devices), "voltage ramp until conduction"),
    "iv": ProcedureSpec(IVSettings, _per_device(iv_sweeps), "staircase or pulsed IV sweeps"),
    "endurance": ProcedureSpec(EnduranceSettings, _per_device(endurance), "SET/RESET cycling until failure"),
    "program-array": ProcedureSpec(
        AlibartSettings,
        _array_programming,
        "tune devices in order to random targets, read all back (disturbance by order)",
        {
            "order": ("str", "column-major"),
            "targets_low_s": ("float", None),
            "targets_high_s": ("float", None),
            "preset": ("str", None),
        },
    ),
}


def parse_devices(text: str, arrays: Mapping[str, ArrayGeometry]) -> list[DeviceAddress]:
    """Devices of a selection, row by row: ``all``, ``A1`` or ``A1:ROWS:COLS``."""
    text = text.strip()
    if text == "all":
        text = next(iter(arrays))
    name, *ranges = text.split(":")
    if name not in arrays:
        raise ParameterError("devices", f"no array {name!r} (arrays: {', '.join(arrays)})")
    geometry = arrays[name]
    if not ranges:
        ranges = [f"0-{geometry.rows - 1}", f"0-{geometry.cols - 1}"]
    if len(ranges) != 2:
        raise ParameterError("devices", f"expected ARRAY:ROWS:COLS, got {text!r}")
    rows = _indices(ranges[0], geometry.rows, "rows")
    cols = _indices(ranges[1], geometry.cols, "columns")
    return [DeviceAddress(name, r, c) for r in rows for c in cols]


def _indices(text: str, size: int, what: str) -> list[int]:
    chosen: list[int] = []
    for part in text.split(","):
        bounds = part.split("-")
        try:
            numbers = [int(b) for b in bounds]
        except ValueError:
            raise ParameterError("devices", f"{what} {part!r} is not a number or a range a-b") from None
        if len(numbers) == 1:
            numbers *= 2
        if len(numbers) != 2 or numbers[0] > numbers[1]:
            raise ParameterError("devices", f"{what} {part!r} is not a range a-b with a <= b")
        if numbers[0] < 0 or numbers[1] >= size:
            raise ParameterError("devices", f"{what} {part!r} lie outside 0-{size - 1}")
        chosen.extend(range(numbers[0], numbers[1] + 1))
    if len(set(chosen)) != len(chosen):
        raise ParameterError("devices", f"{what} {text!r} name an index twice")
    return chosen


def _convert(name: str, kind: str, raw: str) -> Any:
    """``raw`` as the field type ``kind`` (its annotation text)."""
    optional = kind.endswith("| None")
    base = kind.removesuffix("| None").strip()
    if optional and raw.lower() in ("none", "null", ""):
        return None
    try:
        if base == "bool":
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("true", "1", "yes")
        if base == "int":
            return int(raw)
        if base == "float":
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError(raw)
            return value
        if base.startswith("tuple[float"):
            return tuple(float(v) for v in raw.split(","))
        return raw
    except ValueError:
        raise ParameterError(name, f"expects {base}, got {raw!r}") from None


def build_settings(procedure: str, pairs: Sequence[str], bench: Bench) -> tuple[Any, dict[str, Any]]:
    """The settings object and the procedure-level values for ``name=value`` pairs."""
    if procedure not in PROCEDURES:
        raise ParameterError("procedure", f"unknown {procedure!r}; known: {', '.join(PROCEDURES)}")
    spec = PROCEDURES[procedure]
    fields = {f.name: str(f.type) for f in dataclasses.fields(spec.settings_type)}
    given: dict[str, str] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ParameterError(pair, "expected name=value")
        if name not in fields and name not in spec.extras:
            known = ", ".join(sorted([*fields, *spec.extras]))
            raise ParameterError(name, f"is not a parameter of {procedure} (known: {known})")
        given[name] = raw.strip()
    extras = {name: default for name, (_, default) in spec.extras.items()}
    extras.update({n: _convert(n, spec.extras[n][0], v) for n, v in given.items() if n in spec.extras})
    changes = {n: _convert(n, fields[n], v) for n, v in given.items() if n in fields}
    base = spec.settings_type()
    if spec.settings_type is AlibartSettings and extras.get("preset"):
        if extras["preset"] not in TUNING_PRESETS:
            raise ParameterError("preset", f"unknown; known: {', '.join(TUNING_PRESETS)}")
        base = TUNING_PRESETS[extras["preset"]]
    if spec.settings_type is MultilevelSettings and "method" not in changes:
        passive = all(g.kind is ArrayKind.PASSIVE for g in bench.arrays.values())
        changes["method"] = "tuning" if passive else "compliance"
    settings = dataclasses.replace(base, **changes)
    check_settings(settings, bench)
    return settings, extras


def resume_context(
    engine: Engine, recorder: Recorder, procedure: str, run_id: int, context: MeasureContext
) -> MeasureContext:
    """The context that continues an interrupted run, after checking it can be continued honestly.

    The stored run must be of this procedure and have these parameters (the new run's RunStarted is
    built, not run, to compare); devices count as done only with their concluding result; procedures that
    cannot resume, and an array programming interrupted during its read-back, are refused.
    """
    started = next(iter(PROCEDURES[procedure].build(context)))
    if not isinstance(started, RunStarted):
        raise ParameterError("resume", f"{procedure} does not start with a run record")
    if started.procedure in NOT_RESUMABLE:
        raise ParameterError("resume", NOT_RESUMABLE[started.procedure])
    stored = runs(engine).set_index("id")
    if run_id in stored.index and stored.loc[run_id, "procedure"] != started.procedure:
        raise ParameterError(
            "resume", f"run {run_id} is a {stored.loc[run_id, 'procedure']} run, not {procedure}"
        )
    if started.procedure == "array_programming":
        other = results(engine, "other", Selection(runs=[run_id]))
        if len(other) and (other["kind"] == "disturbance").any():
            raise ParameterError(
                "resume",
                f"run {run_id} was interrupted in its read-back: the disturbance figures of a "
                "continued read-back would hold the wait since; start a new run",
            )
    point = recorder.resume(run_id, CONCLUDING_RESULTS.get(started.procedure), started.parameters)
    programmed_s: dict[DeviceAddress, float] = {}
    if started.procedure == "array_programming":
        tuned = results(engine, "tuning", Selection(runs=[run_id]))
        programmed_s = {
            DeviceAddress(a, int(r), int(c)): float(g)
            for a, r, c, g in zip(
                tuned["array"], tuned["row"], tuned["col"], tuned["achieved_s"], strict=True
            )
        }
    return dataclasses.replace(context, done=point.completed, programmed_s=programmed_s)
