"""Fit a preset's step model to measured pulse responses: the estimates, their bootstrap over devices,
a held-out check, flags (the shared machinery in `labrram.analysis.fit_report`).

The held-out check is the seeded simulator itself, built from the preset with the fitted overrides:
each held-out device's pulse sequence is replayed on a simulated device started at its first
conductance (so the simulated devices go through the same selection by the window), and the steps are
compared per pulse condition and progress bin.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from labrram.analysis.fit_report import (
    FitReport,
    HeldOutCheck,
    array_digest,
    bootstrap,
    calibrated_check,
    fitted_parameters,
    held_out_devices,
    simulated_reads_s,
)
from labrram.analysis.responses import PulseResponses
from labrram.analysis.step_estimates import StepFit, Window, fit_steps
from labrram.errors import AnalysisError
from labrram.physics import ArrayKind, CrossbarArray, DeviceParameters
from labrram.physics.presets import ChipPreset

KINDS = ("SET", "RESET")


def fit_step_model(
    responses: PulseResponses,
    preset: ChipPreset,
    source: str,
    window_s: tuple[float, float] | str | None = None,
    rounds: int = 100,
    held_out: float = 0.2,
    seed: int = 0,
    bins: int = 10,
    replay: bool = True,
) -> FitReport:
    """Fit ``preset``'s step model to ``responses`` (both polarities where present) in ``window_s``
    (LOW, HIGH in S; None: the preset's; "data": from the data). ``replay``: check by
    replaying each held-out device's pulse sequence (pulse records); otherwise by one pulse per step
    from its own conductance (tables of steps by conductance, which hold no sequence)."""
    kinds = [k for k in KINDS if (np.asarray(responses.kind) == k).any()]
    if not kinds:
        raise AnalysisError("no SET or RESET pulse with a read on both sides: nothing to fit")
    window_s = _window(responses, preset, window_s)
    windows = {
        kind: Window(*window_s, getattr(preset.parameters, f"{kind.lower()}_step_ratio")) for kind in kinds
    }
    laws = {kind: _kept_drive_law(preset.parameters, kind) for kind in kinds}
    rng = np.random.default_rng(seed)
    held = held_out_devices(responses.device_id, held_out, rng)
    is_held = np.isin(responses.device_id, held)
    fitting = responses.where(~is_held)

    def fit(data: PulseResponses) -> dict[str, StepFit]:
        return {kind: fit_steps(data, kind, windows[kind], laws[kind], bins) for kind in kinds}

    def refit(rows: np.ndarray, device_id: np.ndarray) -> dict[str, float]:
        overrides = _combined(fit(dataclasses.replace(fitting.where(rows), device_id=device_id)), window_s)
        return {name: value for name, value in overrides.items() if name not in ("g_min_s", "g_max_s")}

    fits = fit(fitting)
    overrides = _combined(fits, window_s)
    uncertainty = bootstrap(fitting.device_id, refit, rounds, rng)
    parameters = fitted_parameters(preset, overrides)
    held_responses = responses.where(is_held)
    check = held_out_checks(held_responses, parameters, windows, bins, seed, replay) if held.size else None
    flags = [flag for fit in fits.values() for flag in fit.flags]
    if check is not None:
        flags += check.flags(
            lambda g: f"{g['kind']} {g['amplitude_v']:g} V {g['progress_low']:.1f}-{g['progress_high']:.1f}"
        )
    return FitReport(
        part="steps",
        preset=preset.pinned_name,
        source=source,
        runs=tuple(sorted({int(r) for r in responses.run_id})),
        data_sha256=data_hash(responses),
        devices=int(np.unique(responses.device_id).size),
        held_out_devices=int(held.size),
        seed=seed,
        overrides=overrides,
        uncertainty=uncertainty,
        check=check,
        tables={
            "mean_step": [{"kind": k, **row} for k, f in fits.items() for row in f.bins],
            "after_reversal": [{"kind": k, **row} for k, f in fits.items() for row in f.memory],
            "shape_error": [{"kind": k, "rms_relative_error": f.shape_rms_error} for k, f in fits.items()],
            "drive": [
                {"kind": k, "amplitude_v": a, "width_s": w, "drive_per_s": d}
                for k, f in fits.items()
                for (a, w), d in f.drive_per_s.items()
            ],
        },
        flags=flags,
    )


def data_hash(responses: PulseResponses) -> str:
    """SHA-256 of the pulse responses a fit rests on (same data, same hash, in any process)."""
    names = ("g_before_s", "delta_s", "amplitude_v", "width_s", "device_id", "since_reversal")
    columns = [np.asarray(getattr(responses, name), dtype=float) for name in names]
    return array_digest(*columns, np.asarray(responses.kind) == "SET")


def _kept_drive_law(parameters: DeviceParameters, kind: str) -> tuple[float, float]:
    """The preset's (threshold_v, slope_v) of one polarity: kept where the data cannot pin them."""
    prefix = kind.lower()
    return getattr(parameters, f"{prefix}_threshold_v"), getattr(parameters, f"{prefix}_slope_v")


def _window(
    responses: PulseResponses, preset: ChipPreset, window_s: tuple[float, float] | str | None
) -> tuple[float, float]:
    """The window given; the preset's (None); or, for "data", the 1st to 99th percentile of the
    conductances the devices were read at, before and after each pulse (pulse trains that never reach
    the window's edges make that one too narrow)."""
    if window_s is None:
        window_s = (preset.parameters.g_min_s, preset.parameters.g_max_s)
    elif window_s == "data":
        read = np.concatenate([responses.g_before_s, responses.g_before_s + responses.delta_s])
        low, high = np.percentile(read, [1.0, 99.0])
        window_s = (float(low), float(high))
    if not 0 <= window_s[0] < window_s[1]:
        raise AnalysisError(f"the window must be 0 <= low < high, got {window_s}")
    return window_s


def _combined(fits: dict[str, StepFit], window_s: tuple[float, float]) -> dict[str, float]:
    """Both polarities' overrides; the window; polarity memory averaged where both show it."""
    overrides: dict[str, float] = {"g_min_s": window_s[0], "g_max_s": window_s[1]}
    memory: list[tuple[float, float]] = []
    for fit in fits.values():
        own = dict(fit.overrides)
        if "polarity_memory_depth" in own:
            memory.append((own.pop("polarity_memory_depth"), own.pop("polarity_memory_pulses")))
        overrides.update(own)
    if memory:
        overrides["polarity_memory_depth"] = float(np.mean([m[0] for m in memory]))
        overrides["polarity_memory_pulses"] = float(np.mean([m[1] for m in memory]))
    return overrides


def held_out_checks(
    held: PulseResponses,
    parameters: DeviceParameters,
    windows: dict[str, Window],
    bins: int,
    seed: int,
    replay: bool,
) -> HeldOutCheck | None:
    """Held-out steps against the simulator's, per kind, pulse condition and progress bin (each side
    binned by its own conductance before the pulse)."""
    groups = []
    for kind, window in windows.items():
        for amplitude_v, width_s, _ in held.conditions(kind):
            rows = held.condition_mask(kind, amplitude_v, width_s)
            for b in range(bins):
                label = {"kind": kind, "amplitude_v": amplitude_v, "width_s": width_s}
                groups.append(
                    ({**label, "progress_low": b / bins, "progress_high": (b + 1) / bins}, rows, window, b)
                )

    def select(before: np.ndarray, delta: np.ndarray) -> list[np.ndarray]:
        return [
            delta[rows & (_bin(window.progress(before, label["kind"]), bins) == b)]
            for label, rows, window, b in groups
        ]

    simulate = _replay if replay else _fresh
    return calibrated_check(
        [label for label, *_ in groups],
        select(held.g_before_s, held.delta_s),
        lambda rng: select(*simulate(parameters, held, rng)),
        np.random.default_rng(seed + 1),
    )


def _replay(
    parameters: DeviceParameters, held: PulseResponses, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Each held-out device's pulses, in order, on a simulated device started at its first conductance:
    the simulated conductance before each pulse and its read step (same selection by the window as the
    measured devices went through)."""
    group = np.unique(np.column_stack([held.run_id, held.device_id]), axis=0, return_inverse=True)[1].ravel()
    order = np.argsort(group, kind="stable")
    counts = np.bincount(group)
    place = np.empty(group.size, dtype=np.int64)
    place[order] = np.arange(group.size) - np.repeat(np.cumsum(counts) - counts, counts)
    starts = np.empty(counts.size)
    starts[group[place == 0]] = held.g_before_s[place == 0]
    array = CrossbarArray(parameters, 1, counts.size, ArrayKind.ONE_T_ONE_R, rng)
    array.set_conductance_s(starts.reshape(1, -1))
    before, delta = np.empty(group.size), np.empty(group.size)
    for k in range(int(counts.max())):
        rows = np.flatnonzero(place == k)
        devices = group[rows]
        read = simulated_reads_s(array, devices)
        for width_s in np.unique(held.width_s[rows]):
            same = held.width_s[rows] == width_s
            array.apply_voltage(devices[same], held.amplitude_v[rows][same], float(width_s))
        before[rows] = read
        delta[rows] = simulated_reads_s(array, devices) - read
    return before, delta


def _fresh(
    parameters: DeviceParameters, held: PulseResponses, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Each held-out pulse on a fresh simulated device started at the pulse's own conductance (for data
    without pulse sequences: tables of steps by conductance)."""
    array = CrossbarArray(parameters, 1, len(held), ArrayKind.ONE_T_ONE_R, rng)
    array.set_conductance_s(held.g_before_s.reshape(1, -1))
    every = slice(None)
    before = simulated_reads_s(array, every)
    for width_s in np.unique(held.width_s):
        rows = np.flatnonzero(held.width_s == width_s)
        array.apply_voltage(rows, held.amplitude_v[rows], float(width_s))
    return before, simulated_reads_s(array, every) - before


def _bin(progress: np.ndarray, bins: int) -> np.ndarray:
    return np.minimum((progress * bins).astype(np.int64), bins - 1)
