"""``labrram fit``: fit a preset's step model to measured pulse responses, written as TOML overrides."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from labrram.analysis.crosssim_responses import crosssim_responses
from labrram.analysis.sources import pulse_response_data
from labrram.analysis.step_model_fit import fit_step_model
from labrram.analyze_cli import add_selection_arguments, parse_window, selection_of
from labrram.db import open_database, resolve_database_url
from labrram.errors import ParameterError
from labrram.physics.presets import get_preset


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
    options = {
        "window_s": "data" if args.window == "data" else parse_window(args.window),
        "rounds": args.bootstrap,
        "held_out": args.held_out,
        "seed": args.seed,
        "bins": args.bins,
    }
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
        fit = fit_step_model(responses, preset, source, replay=False, **options)
    else:
        url = resolve_database_url(args.database)
        engine = open_database(url)
        sourced = pulse_response_data(engine, selection_of(args))
        source = f"database {engine.url.render_as_string(hide_password=True)}"
        fit = fit_step_model(sourced.data, preset, source, **options)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(fit.to_toml())
    print(fit.summary())
    print(f"wrote {out}")
    return 0


def add_fit_parser(commands: argparse._SubParsersAction, database_help: str) -> None:
    """``fit --preset NAME --out FILE`` from database runs or CrossSim tables."""
    parser = commands.add_parser(
        "fit",
        help="fit a preset's step model to measured pulse responses (TOML overrides with provenance)",
        description=(
            "Fits the step model (state shape, drive, per-pulse and device spreads, polarity memory) of a "
            "preset to pulse-train runs in the database, or to CrossSim lookup tables; writes the overrides, "
            "their bootstrap intervals and a held-out check as TOML that a bench file takes as "
            "[sample] fitted = FILE."
        ),
    )
    parser.add_argument("--preset", required=True, help="the preset whose parameters are fitted")
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
    parser.add_argument("--bins", type=int, default=10, help="progress bins across the window (10)")
    parser.set_defaults(handler=_fit)
