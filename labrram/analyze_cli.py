"""``labrram analyze jumptable|distributions|model`` and ``labrram db import``: the database to statistics."""

from __future__ import annotations

import argparse
from pathlib import Path

from labrram.analysis.describe import describe_jump_table, describe_model
from labrram.analysis.jumptable import BINNINGS, GROUPINGS, JumpTable
from labrram.analysis.model import COMPONENTS, DeviceModel
from labrram.analysis.plots import plot_jump_table, plot_model
from labrram.db import Selection, open_database, resolve_database_url
from labrram.errors import ParameterError
from labrram.importers import FORMATS, import_file


def parse_runs(text: str | None) -> list[int] | None:
    """Run ids from ``1,3,5-9``."""
    if text is None:
        return None
    ids: list[int] = []
    for part in text.split(","):
        bounds = part.strip().split("-")
        try:
            numbers = [int(b) for b in bounds]
        except ValueError:
            raise ParameterError("runs", f"{part!r} is not a run id or a range a-b") from None
        if len(numbers) == 1:
            numbers *= 2
        if len(numbers) != 2 or numbers[0] > numbers[1]:
            raise ParameterError("runs", f"{part!r} is not a range a-b with a <= b")
        ids.extend(range(numbers[0], numbers[1] + 1))
    return ids


def parse_window(text: str | None) -> tuple[float, float] | None:
    """A conductance window from ``LOW,HIGH`` in siemens."""
    if text is None:
        return None
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise ParameterError(
            "window", f"expected LOW,HIGH in siemens (e.g. 1e-4,5e-4), got {text!r}"
        ) from None
    if not 0 <= low < high:
        raise ParameterError("window", f"needs 0 <= LOW < HIGH, got {low:g},{high:g}")
    return low, high


def selection_of(args: argparse.Namespace) -> Selection:
    return Selection(runs=parse_runs(args.runs), chip=args.chip, array=args.array, procedure=args.procedure)


def _jump_table_options(args: argparse.Namespace) -> dict:
    return {
        "bins": args.bins,
        "binning": args.binning,
        "grid": args.grid,
        "min_count": args.min_count,
        "grouping": args.grouping,
        "clusters": args.clusters,
        "pool_conditions": args.pool_conditions,
    }


def _analyze_jumptable(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if args.crosssim:
        table = JumpTable.from_crosssim([Path(folder) for folder in args.crosssim], grid=args.grid)
    else:
        engine = open_database(resolve_database_url(args.database), create=False)
        table = JumpTable.from_database(engine, selection_of(args), **_jump_table_options(args))
    digest = table.save(out)
    print("\n".join(describe_jump_table(table)))
    print(f"wrote {out} (sha256 {digest[:12]})")
    if args.crosssim_out:
        for path in table.to_crosssim(Path(args.crosssim_out)):
            print(f"wrote {path}")
    if not args.no_plots:
        print(f"wrote {plot_jump_table(table, out.with_name(out.name.split('.')[0] + '-jump-table.png'))}")
    return 0


def _analyze_model(args: argparse.Namespace, components: tuple[str, ...], register: bool) -> int:
    out = Path(args.out)
    engine = open_database(resolve_database_url(args.database), create=False)
    model = DeviceModel.from_database(
        engine,
        selection_of(args),
        window_s=parse_window(args.window),
        components=components,
        jump_table_options=_jump_table_options(args),
    )
    digest = model.save(out)
    print("\n".join(describe_model(model)))
    print(f"wrote {out} (sha256 {digest[:12]})")
    if register:
        model_id = model.register(engine, out, digest, name=args.name)
        print(f"registered as device model {model_id} in {engine.url.render_as_string(hide_password=True)}")
    if not args.no_plots:
        for path in plot_model(model, out.parent, out.name.split(".")[0]):
            print(f"wrote {path}")
    return 0


def _db_import(args: argparse.Namespace) -> int:
    engine = open_database(resolve_database_url(args.database))
    options = {}
    for pair in args.option:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ParameterError(pair, "expected name=value")
        options[name.strip()] = value.strip()
    run_ids = import_file(
        engine, args.file, args.format, chip=args.chip, operator=args.operator, options=options
    )
    print(f"imported {args.file} as {args.format}: {len(run_ids)} run(s) {', '.join(map(str, run_ids))}")
    return 0


def add_selection_arguments(parser: argparse.ArgumentParser, database_help: str, default_runs: str) -> None:
    """The selection every analysis command takes: runs, chip, array, procedure, and the database."""
    parser.add_argument("--runs", help=f"run ids, e.g. 3,5-9 (default: {default_runs})")
    parser.add_argument("--chip", help="only this chip")
    parser.add_argument("--array", help="only this array")
    parser.add_argument("--procedure", help="only runs of this procedure")
    parser.add_argument("--database", "--db", help=database_help)


def add_analyze_parser(commands: argparse._SubParsersAction, database_help: str) -> None:
    """The ``analyze`` command and its three subcommands."""
    analyze = commands.add_parser("analyze", help="fit jump-tables, distributions and device models")
    sub = analyze.add_subparsers(dest="analyze_command", required=True)
    jumptable = sub.add_parser("jumptable", help="fit SET/RESET jump-tables from pulse-train runs")
    distributions = sub.add_parser("distributions", help="fit the distributions (no jump-table)")
    model = sub.add_parser("model", help="fit the whole device model and register it in the database")
    for parser in (jumptable, distributions, model):
        parser.add_argument("--out", required=True, help="file to write (.json, or .json.gz)")
        add_selection_arguments(parser, database_help, "every run")
        parser.add_argument("--no-plots", action="store_true", help="write no PNG plots beside the file")
        parser.add_argument("--bins", type=int, default=50, help="conductance bins of the jump-table (50)")
        parser.add_argument("--binning", choices=BINNINGS, default="equal-width")
        parser.add_argument("--grid", type=int, default=101, help="probability grid points per bin (101)")
        parser.add_argument(
            "--min-count", type=int, default=10, help="pairs below which a bin is interpolated"
        )
        parser.add_argument(
            "--grouping", choices=GROUPINGS, default="population", help="tables per population"
        )
        parser.add_argument("--clusters", type=int, default=4, help="clusters with --grouping clusters")
        parser.add_argument(
            "--pool-conditions", action="store_true", help="pool pulses of different conditions"
        )
    jumptable.add_argument("--crosssim", nargs="+", metavar="DIR", help="read CrossSim lookup tables instead")
    jumptable.add_argument("--crosssim-out", metavar="DIR", help="also write the table in CrossSim's layout")
    jumptable.set_defaults(handler=_analyze_jumptable)
    for parser in (distributions, model):
        parser.add_argument("--window", help="conductance window LOW,HIGH in S (default: from the data)")
        parser.add_argument("--name", help="name of the model in the database (default: the file's stem)")
    distributions.set_defaults(
        handler=lambda a: _analyze_model(a, tuple(c for c in COMPONENTS if c != "jump_table"), False)
    )
    model.set_defaults(handler=lambda a: _analyze_model(a, tuple(COMPONENTS), True))


def add_import_parser(db_commands: argparse._SubParsersAction, database_help: str) -> None:
    """``db import FILE --format F``."""
    listing = "\n".join(f"  {name:<20} {description}" for name, (_, description) in FORMATS.items())
    parser = db_commands.add_parser(
        "import",
        help="load measured data from a file into the database",
        epilog=f"formats:\n{listing}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", help="the file (or folder, for drolet-stuck maps)")
    parser.add_argument("--format", required=True, choices=sorted(FORMATS))
    parser.add_argument("--chip", help="chip name to file it under (default: the dataset's)")
    parser.add_argument("--operator", help="who imports it, recorded with the runs")
    parser.add_argument(
        "--option", action="append", default=[], metavar="NAME=VALUE", help="a format option (see its docs)"
    )
    parser.add_argument("--database", "--db", help=database_help)
    parser.set_defaults(handler=_db_import)
