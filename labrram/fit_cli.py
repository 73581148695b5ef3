"""``labrram fit``: fit a preset's step or relaxation model to measurements, written as TOML overrides."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from labrram.analysis.crosssim_responses import crosssim_responses
from labrram.analysis.disturbance_model_fit import fit_disturbance_model
from labrram.analysis.fit_report import FitReport
from labrram.analysis.read_noise_model_fit import ReadSeries, fit_read_noise_model
from labrram.analysis.relaxation_model_fit import RetentionReads, fit_relaxation_model
from labrram.analysis.sources import disturbance_data, pulse_response_data, retention_data
from labrram.analysis.step_model_fit import fit_step_model
from labrram.analyze_cli import add_selection_arguments, parse_window, selection_of
from labrram.db import open_database, resolve_database_url
from labrram.db.columnar import record_table
from labrram.errors import AnalysisError, ParameterError
from labrram.physics.presets import ChipPreset, get_preset


def parse_pulse(text: str, name: str) -> tuple[float, float]:
    """(amplitude_v, width_s) from ``AMPLITUDE,WIDTH``."""
    try:
        amplitude_v, width_s = (float(v) for v in text.split(","))
    except ValueError:
        raise ParameterError(
            name, f"expected AMPLITUDE,WIDTH in V and s (e.g. 1.2,1e-7), got {text!r}"
        ) from None
    if width_s <= 0:
        raise ParameterError(name, f"the width must be > 0 s, got {width_s:g}")
    return amplitude_v, width_s


def _fit(args: argparse.Namespace) -> int:
    preset = get_preset(args.preset)
    common = {"rounds": args.bootstrap, "held_out": args.held_out, "seed": args.seed}
    if args.part != "steps" and args.crosssim:
        raise ParameterError("crosssim", "CrossSim tables hold pulse steps, not reads")
    if args.part == "relaxation":
        fit = _relaxation(args, preset, common)
    elif args.part == "read-noise":
        fit = _read_noise(args, preset, common)
    elif args.part == "disturbance":
        fit = _disturbance(args, preset)
    else:
        window = "data" if args.window == "data" else parse_window(args.window)
        fit = _steps(args, preset, dict(common, window_s=window, bins=args.bins))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(fit.to_toml())
    print(fit.summary())
    print(f"wrote {out}")
    return 0


def _steps(args: argparse.Namespace, preset: ChipPreset, options: dict) -> FitReport:
    """The step model from CrossSim tables or from the database's pulse-train runs."""
    if args.crosssim:
        pulses = {
            "SET": parse_pulse(args.set_pulse, "set-pulse"),
            "RESET": parse_pulse(args.reset_pulse, "reset-pulse"),
        }
        if pulses["SET"][0] <= 0 or pulses["RESET"][0] >= 0:
            raise ParameterError("set-pulse", "SET pulses are positive and RESET pulses negative")
        folders = [Path(folder) for folder in args.crosssim]
        responses = crosssim_responses(folders, pulses)
        source = f"CrossSim tables in {os.path.commonpath(folders)}: " + ", ".join(f.name for f in folders)
        return fit_step_model(responses, preset, source, replay=False, **options)
    engine = open_database(resolve_database_url(args.database))
    sourced = pulse_response_data(engine, selection_of(args))
    source = f"database {engine.url.render_as_string(hide_password=True)}"
    return fit_step_model(sourced.data, preset, source, **options)


def _disturbance(args: argparse.Namespace, preset: ChipPreset) -> FitReport:
    """V/3 disturbance by order from the database's disturbance results, by simulating the preset."""
    engine = open_database(resolve_database_url(args.database))
    sourced = disturbance_data(engine, selection_of(args))
    if sourced.records == 0:
        raise AnalysisError("no disturbance-by-order results in the selection: nothing to fit")
    frame = sourced.data
    source = f"database {engine.url.render_as_string(hide_password=True)}"
    return fit_disturbance_model(
        frame["n_after"].to_numpy(),
        frame["delta_s"].to_numpy(),
        preset,
        source,
        sourced.runs,
        chips=args.chips,
        blocks=args.blocks,
        seed=args.seed,
    )


def _read_noise(args: argparse.Namespace, preset: ChipPreset, options: dict) -> FitReport:
    """White and 1/f read noise from the database's read series (reads after each device's last pulse)."""
    engine = open_database(resolve_database_url(args.database))
    selection = selection_of(args)
    reads = record_table(engine, "read", selection, columns=("run_id", "device_id", "t_s", "conductance_s"))
    pulses = record_table(engine, "pulse", selection, columns=("run_id", "device_id", "t_s"))
    if reads.num_rows == 0:
        raise AnalysisError("no reads in the selection: nothing to fit")
    read_frame, pulse_frame = reads.to_pandas(), pulses.to_pandas()
    key = read_frame["run_id"].astype(str) + "/" + read_frame["device_id"].astype(str)
    last_pulse = pulse_frame.groupby(["run_id", "device_id"])["t_s"].max()
    last_pulse_s = {f"{run}/{device}": float(t) for (run, device), t in last_pulse.items()}
    series = ReadSeries.from_reads(
        key.to_numpy(), read_frame["t_s"].to_numpy(), read_frame["conductance_s"].to_numpy(), last_pulse_s
    )
    runs = tuple(sorted({int(r) for r in read_frame["run_id"]}))
    source = f"database {engine.url.render_as_string(hide_password=True)}"
    return fit_read_noise_model(series, preset, source, runs, **options)


def _relaxation(args: argparse.Namespace, preset: ChipPreset, options: dict) -> FitReport:
    """The relaxation model from the database's retention reads at the preset's reference temperature."""
    if args.window == "data":
        raise ParameterError("window", "relaxation levels need the window LOW,HIGH (or the preset's)")
    engine = open_database(resolve_database_url(args.database))
    sourced = retention_data(engine, selection_of(args))
    frame = sourced.data
    if sourced.records == 0:
        raise AnalysisError("no retention reads in the selection: nothing to fit")
    reference_c = preset.parameters.reference_temperature_c
    at_reference = frame["temperature_c"].isna() | ((frame["temperature_c"] - reference_c).abs() <= 5.0)
    frame = frame[at_reference]
    reads = RetentionReads.from_reads(
        frame["device_key"].to_numpy(), frame["elapsed_s"].to_numpy(), frame["conductance_s"].to_numpy()
    )
    source = f"database {engine.url.render_as_string(hide_password=True)}"
    return fit_relaxation_model(
        reads, preset, source, sourced.runs, parse_window(args.window), levels=args.levels, **options
    )


def add_fit_parser(commands: argparse._SubParsersAction, database_help: str) -> None:
    """``fit --preset NAME --out FILE`` from database runs or CrossSim tables."""
    parser = commands.add_parser(
        "fit",
        help="fit a preset's step or relaxation model to measurements (TOML overrides with provenance)",
        description=(
            "Fits the step model (state shape, drive, per-pulse and device spreads, polarity memory) of a "
            "preset to pulse-train runs in the database or to CrossSim lookup tables (--part steps), or its "
            "relaxation (level dependence, drift, t0, tails) to retention reads (--part relaxation), or its "
            "white and 1/f read noise to read series (--part read-noise), or a passive preset's V/3 "
            "disturbance by order to measured disturbance by simulating it (--part disturbance); writes "
            "the overrides, their bootstrap intervals and a held-out check as TOML that a bench file takes "
            "as [sample] fitted = FILE (or a list of files, one per part)."
        ),
    )
    parser.add_argument("--preset", required=True, help="the preset whose parameters are fitted")
    parser.add_argument(
        "--part",
        choices=("steps", "relaxation", "read-noise", "disturbance"),
        default="steps",
        help=(
            "steps: the step model from pulse trains; relaxation: from retention reads; read-noise: white "
            "and 1/f noise from read series; disturbance: V/3 disturbance by order, by simulation "
            "(default: steps)"
        ),
    )
    parser.add_argument("--out", required=True, help="TOML file to write")
    add_selection_arguments(parser, database_help, "every pulse-train run")
    parser.add_argument("--crosssim", nargs="+", metavar="DIR", help="fit CrossSim lookup tables instead")
    parser.add_argument("--set-pulse", default="1.2,1e-7", help="CrossSim: the SET pulse, AMPLITUDE,WIDTH")
    parser.add_argument(
        "--reset-pulse", default="-1.5,1e-7", help="CrossSim: the RESET pulse, AMPLITUDE,WIDTH"
    )
    parser.add_argument(
        "--window",
        help="conductance window LOW,HIGH in S, or 'data' (1-99%% of the reads); default: the preset's",
    )
    parser.add_argument("--bootstrap", type=int, default=100, help="device resamples for the intervals (100)")
    parser.add_argument("--held-out", type=float, default=0.2, help="share of devices held out (0.2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, resamples and simulator")
    parser.add_argument("--bins", type=int, default=10, help="steps: progress bins across the window (10)")
    parser.add_argument("--levels", type=int, default=8, help="relaxation: levels across the window (8)")
    parser.add_argument(
        "--chips", type=int, default=12, help="disturbance: simulated chips per grid point (12)"
    )
    parser.add_argument(
        "--blocks", type=int, default=5, help="disturbance: blocks of chips for the ranges (5)"
    )
    parser.set_defaults(handler=_fit)
