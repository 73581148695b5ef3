"""The labrram command line: demo, measure, sim-server, db, analyze, fit and transfer."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from importlib import resources
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from labrram.analyze_cli import add_analyze_parser, add_import_parser, parse_runs
from labrram.bench.factory import bench_and_chip, simulated_lab
from labrram.chip_store import chip_state_path
from labrram.config import load_config
from labrram.db import (
    Recorder,
    export_run,
    head_revision,
    open_database,
    record_run,
    resolve_database_url,
    runs,
    stale_runs,
)
from labrram.db.engine import upgrade_database
from labrram.db.summary import format_outcome, run_summary
from labrram.demo import PRESETS, run_demo
from labrram.drivers.simulated.server import InstrumentServer, is_loopback
from labrram.errors import LabrramError
from labrram.fit_cli import add_fit_parser
from labrram.measure import PROCEDURES, MeasureContext, build_settings, parse_devices, resume_context
from labrram.parameter_docs import parameter_rows
from labrram.physics.state import load_chip, save_chip
from labrram.records import Progress, Record
from labrram.report_cli import write_report
from labrram.signals import signals_interrupt
from labrram.transfer_cli import add_transfer_parsers


def example_config(name: str) -> Path:
    """A bench file shipped with labrram."""
    return Path(str(resources.files("labrram") / "examples" / name))


def default_config_path() -> Path:
    """The bench of `labrram measure` and `sim-server`: the TiO2 8x8 simulated chip, seed 002's timing."""
    return example_config("tio2-bench.toml")


def _demo(args: argparse.Namespace) -> int:
    engine = open_database(resolve_database_url(args.database))

    shown = {"at": 0.0, "stage": ""}

    def progress(line: str) -> None:
        # At most four updates a second, and every change of stage.
        stage = line.split(":")[0]
        now = time.monotonic()
        if args.quiet or (stage == shown["stage"] and now - shown["at"] < 0.25):
            return
        shown.update(at=now, stage=stage)
        print(f"\r{line:<90}", end="", file=sys.stderr, flush=True)

    result = run_demo(
        args.preset,
        engine,
        Path(args.out),
        Path(args.config) if args.config else None,
        fast=args.fast,
        chips=args.chips,
        transfers=args.transfers,
        progress=progress,
        operator=args.operator,
    )
    if not args.quiet:
        print(file=sys.stderr)
    print("\n".join(result.summary_lines()))
    print(f"recorded in {engine.url.render_as_string(hide_password=True)}; device model {result.model_id}")
    return 0


def _report(args: argparse.Namespace) -> int:
    engine = open_database(resolve_database_url(args.database), create=False)
    path = write_report(
        engine, Path(args.model), Path(args.out), parse_runs(args.runs), args.task, args.transfers
    )
    print(f"report: {path}")
    return 0


def _measure(args: argparse.Namespace) -> int:
    if args.list_params:
        for name, unit, default, meaning in parameter_rows(args.procedure):
            print(f"{name:<22} {unit:<5} {default:<16} {meaning}")
        return 0
    config_path = Path(args.config) if args.config else default_config_path()
    config = load_config(config_path)
    url = resolve_database_url(args.database, config.database_url)
    engine = open_database(url)
    bench, chip = bench_and_chip(config)
    state = chip_state_path(url, config) if chip is not None else None
    if state is not None and state.exists() and not args.fresh_chip:
        load_chip(chip, state)
        print(f"simulated chip restored from {state}", file=sys.stderr)
    devices = parse_devices(args.devices, bench.arrays)
    settings, extras = build_settings(args.procedure, args.param, bench)
    recorder = Recorder(engine, config.name, config.sample, operator=args.operator)
    seed = config.seed if args.seed is None else args.seed
    context = MeasureContext(bench, config, devices, settings, extras, frozenset(), {}, seed)
    if args.resume is not None:
        context = resume_context(engine, recorder, args.procedure, args.resume, context)
        print(f"resuming run {args.resume}: {len(context.done)} devices already done", file=sys.stderr)
    records = bench.safeguarded(PROCEDURES[args.procedure].build(context))

    def show(record: Record) -> None:
        if isinstance(record, Progress) and not args.quiet:
            eta = f", about {record.eta_s:.0f} s left" if record.eta_s is not None else ""
            end = "\n" if record.done == record.total else ""
            print(f"\r{args.procedure}: {record.done}/{record.total}{eta}   ", end=end, file=sys.stderr)

    try:
        with bench:
            run_id = record_run(recorder, records, tee=show)
    finally:
        if state is not None:
            save_chip(chip, state)  # whatever happened to the chip, it keeps it for the next command
    print(
        f"{args.procedure}: run {run_id} completed on {len(devices)} devices, recorded in "
        f"{engine.url.render_as_string(hide_password=True)}"
    )
    print(format_outcome(run_summary(engine, run_id)))
    return 0


def _sim_server(args: argparse.Namespace) -> int:
    config_path = Path(args.config) if args.config else default_config_path()
    config = load_config(config_path)
    if not is_loopback(args.host) and not args.allow_remote:
        raise LabrramError(
            f"--host {args.host} would let other machines drive the simulated instruments: add --allow-remote"
        )
    lab = simulated_lab(config, config.instruments.smu2_tsp_link_node if config.instruments else None)
    server = InstrumentServer(lab.emulators(), host=args.host, port=args.port).start()
    print(f"simulated instruments for bench {config.name!r} (chip {config.sample.chip!r}):")
    for name, resource in server.resources.items():
        print(f"  {name:<7} {resource}")
    if not is_loopback(args.host):
        print(f"anyone who can reach {args.host} on these ports may send them commands", flush=True)
    print("Ctrl-C stops the server.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    engine, before = upgrade_database(resolve_database_url(args.database))
    print(
        f"{engine.url.render_as_string(hide_password=True)}: schema {before or 'empty'} -> {head_revision()}"
    )
    return 0


def _db_runs(args: argparse.Namespace) -> int:
    engine = open_database(resolve_database_url(args.database), create=False)
    table = stale_runs(engine, args.stale_after) if args.stale else runs(engine)
    if table.empty:
        print("no stale runs" if args.stale else "no runs")
        return 0
    columns = ["id", "procedure", "chip", "status", "started_at", "ended_at", "host", "pid", "message"]
    print(table[columns].to_string(index=False))
    return 0


def _db_show(args: argparse.Namespace) -> int:
    engine = open_database(resolve_database_url(args.database), create=False)
    table = runs(engine)
    selected = table[table["id"] == args.run]
    if selected.empty:
        raise LabrramError(f"there is no run {args.run}")
    for name, value in selected.iloc[0].items():
        print(f"{name:>16}: {value}")
    summary = run_summary(engine, args.run)
    print(f"{'bench':>16}: {summary['bench']}")
    print(f"{'devices':>16}: {summary['devices']}")
    print(
        f"{'records':>16}: {summary['pulses']} pulses, {summary['reads']} reads, results {summary['results']}"
    )
    for name, counts in summary["outcomes"].items():
        print(f"{name:>16}: {counts}")
    print(f"{'parameters':>16}: {json.dumps(summary['parameters'], default=str)[:2000]}")
    return 0


def _db_export(args: argparse.Namespace) -> int:
    engine = open_database(resolve_database_url(args.database), create=False)
    for path in export_run(engine, args.run, Path(args.out), args.format, args.overwrite):
        print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labrram",
        description="Characterize resistive memories: run the demo, measure on a bench, query the database.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    database_help = "database URL (default: LABRRAM_DATABASE_URL, the bench file, or the SQLite file)"

    demo = commands.add_parser(
        "demo",
        help="characterize a simulated chip, model it, predict a network's transfer, check it on chips",
    )
    demo.add_argument("--preset", choices=sorted(PRESETS), default="tio2-passive-8x8")
    demo.add_argument("--config", help="bench TOML (default: the preset's shipped demo bench)")
    demo.add_argument("--database", "--db", help=database_help)
    demo.add_argument("--out", default="labrram-demo", help="folder for the report (default: labrram-demo)")
    demo.add_argument("--fast", action="store_true", help="a small version (fewer devices, transfers, chips)")
    demo.add_argument("--chips", type=int, help="fresh chips for the closed loop (default 4; fast 2)")
    demo.add_argument("--transfers", type=int, help="simulated transfers (default 1000; fast 200)")
    demo.add_argument("--operator", help="who runs it, recorded with the runs")
    demo.add_argument("--quiet", action="store_true", help="no progress line")
    demo.set_defaults(handler=_demo)

    report = commands.add_parser("report", help="an HTML report of a database's runs and a device model")
    report.add_argument("--model", required=True, help="a device model file")
    report.add_argument("--out", default="labrram-report", help="folder for report.html and its plots")
    report.add_argument("--runs", help="runs to list (default: those the model was fitted from)")
    report.add_argument("--task", help="also predict a transfer of this task's network (moons, digits, ...)")
    report.add_argument("--transfers", type=int, default=500)
    report.add_argument("--database", "--db", help=database_help)
    report.set_defaults(handler=_report)

    listing = "\n".join(f"  {name:<14} {spec.summary}" for name, spec in sorted(PROCEDURES.items()))
    measure = commands.add_parser(
        "measure",
        help="run a procedure on the simulated bench and record it",
        epilog=f"procedures:\n{listing}\nparameters: the fields of each procedure's settings (README)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    measure.add_argument("procedure", choices=sorted(PROCEDURES))
    measure.add_argument("--config", help="bench TOML (default: the shipped TiO2 8x8 bench)")
    measure.add_argument("--devices", default="all", help="all | ARRAY | ARRAY:ROWS:COLS, e.g. A1:0-3:0,2")
    measure.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="a procedure parameter"
    )
    measure.add_argument("--resume", type=int, metavar="RUN", help="continue an interrupted run")
    measure.add_argument("--seed", type=int, help="seed of random choices (default: bench seed)")
    measure.add_argument("--database", "--db", help=database_help)
    measure.add_argument("--operator", help="who runs it, recorded with the run")
    measure.add_argument("--quiet", action="store_true", help="no progress line")
    measure.add_argument(
        "--list-params", action="store_true", help="list the procedure's parameters (unit, default, meaning)"
    )
    measure.add_argument(
        "--fresh-chip", action="store_true", help="start from a new simulated chip instead of the one kept"
    )
    measure.set_defaults(handler=_measure)

    server = commands.add_parser("sim-server", help="serve simulated instruments on loopback TCP sockets")
    server.add_argument("--config", help="bench TOML (default: the shipped TiO2 8x8 bench)")
    server.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    server.add_argument("--allow-remote", action="store_true", help="allow a --host other machines can reach")
    server.add_argument(
        "--port", type=int, default=5025, help="first port; instruments take consecutive ports"
    )
    server.set_defaults(handler=_sim_server)

    db = commands.add_parser("db", help="the device database").add_subparsers(
        dest="db_command", required=True
    )
    db_upgrade = db.add_parser("upgrade", help="migrate the database schema to this version's")
    db_upgrade.set_defaults(handler=_db_upgrade)
    db_runs = db.add_parser("runs", help="list runs")
    db_runs.add_argument("--stale", action="store_true", help="only runs left running by a crash")
    db_runs.add_argument("--stale-after", type=float, default=300.0, help="heartbeat age (s) that counts")
    db_runs.set_defaults(handler=_db_runs)
    db_show = db.add_parser("show", help="one run in full")
    db_show.add_argument("run", type=int)
    db_show.set_defaults(handler=_db_show)
    db_export = db.add_parser("export", help="write a run's records as Parquet or CSV files")
    db_export.add_argument("run", type=int)
    db_export.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    db_export.add_argument("--out", default=".", help="folder for the files (default: here)")
    db_export.add_argument("--overwrite", action="store_true", help="replace files an earlier export wrote")
    db_export.set_defaults(handler=_db_export)
    for sub in (db_upgrade, db_runs, db_show, db_export):
        sub.add_argument("--database", "--db", help=database_help)
    add_import_parser(db, database_help)
    add_analyze_parser(commands, database_help)
    add_fit_parser(commands, database_help)
    add_transfer_parsers(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with signals_interrupt():
            return args.handler(args)
    except LabrramError as error:
        print(f"labrram: error: {error}", file=sys.stderr)
        return 2
    except SQLAlchemyError as error:  # the database went away or refused mid-run
        detail = str(getattr(error, "orig", error)).strip().splitlines()
        print(f"labrram: error: database: {detail[0] if detail else type(error).__name__}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader of our output went away (e.g. `| head`): nothing left to say
        sys.stdout = None
        return 0
    except OSError as error:  # files and sockets: a missing folder, a read-only file, a port in use
        where = f" ({error.filename})" if getattr(error, "filename", None) else ""
        print(f"labrram: error: {error.strerror or error}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as interrupt:
        cause = str(interrupt) or "interrupted"
        print(f"labrram: {cause}; outputs were set to 0 V and any run was marked aborted", file=sys.stderr)
        return 128 + getattr(interrupt, "signal_number", signal.SIGINT)


if __name__ == "__main__":
    sys.exit(main())
