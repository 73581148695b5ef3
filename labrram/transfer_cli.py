"""``labrram transfer`` and ``labrram transfer-sweep``: what a device model does to a network."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from labrram.analysis.model import DeviceModel
from labrram.errors import ParameterError
from labrram.transfer.datasets import load_task
from labrram.transfer.evaluate import evaluate_task
from labrram.transfer.montecarlo import DEFAULT_NONIDEALITIES, NONIDEALITIES, TransferSettings
from labrram.transfer.network import ACTIVATIONS, parse_sizes
from labrram.transfer.report import write_transfer_report
from labrram.transfer.sweep import points, run_sweep
from labrram.transfer.training import TrainingSettings

DEFAULT_NETWORKS = {"moons": "2-8-1", "digits": "64-32-10"}
# Seed 002's recipe for the moons: Adam, batches of 256; the paper says a learning rate of 0.01, its code
# 0.1; 0.03 over 1000 epochs reaches 100% on the test set from every initialization tried.
DEFAULT_TRAINING = {"moons": (1000, 256, 0.03), "digits": (60, 64, 0.01)}


def parse_times(text: str | None) -> list[float]:
    if not text:
        return []
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ParameterError("times", f"expected seconds like 1,1e3,1e5, got {text!r}") from None
    if any(v < 0 for v in values):
        raise ParameterError("times", "times after programming must be >= 0 s")
    return values


def _settings(args: argparse.Namespace, task: str) -> tuple[TrainingSettings, TransferSettings]:
    epochs, batch, rate = DEFAULT_TRAINING.get(task, (100, 64, 0.01))
    training = TrainingSettings(
        epochs=args.epochs or epochs,
        batch_size=args.batch_size or batch,
        learning_rate=args.learning_rate or rate,
        seed=args.seed,
    )
    unknown = (set(args.exclude) | set(args.include)) - set(NONIDEALITIES)
    if unknown:
        raise ParameterError(
            "exclude", f"unknown non-idealities {sorted(unknown)}; known: {', '.join(NONIDEALITIES)}"
        )
    transfer = TransferSettings(
        transfers=args.transfers,
        scheme=args.scheme,
        quantize=args.quantize,
        time_s=args.time,
        include=(DEFAULT_NONIDEALITIES | set(args.include)) - set(args.exclude),
    )
    return training, transfer


def _transfer(args: argparse.Namespace) -> int:
    model = DeviceModel.load(args.model)
    dataset = load_task(args.task, args.seed)
    sizes = parse_sizes(
        args.network or DEFAULT_NETWORKS.get(args.task) or f"{dataset.features}-32-{dataset.output_units()}"
    )
    if sizes[0] != dataset.features or sizes[-1] != dataset.output_units():
        raise ParameterError(
            "network",
            f"{args.network} does not fit {dataset.name}: {dataset.features} inputs, "
            f"{dataset.output_units()} outputs",
        )
    training, transfer = _settings(args, args.task)
    evaluations = evaluate_task(
        dataset,
        model,
        sizes,
        training,
        transfer,
        activation=args.activation,
        hardware_aware=args.hardware_aware,
        times_s=tuple(parse_times(args.times)),
        seed=args.seed,
    )
    folder = Path(args.out)
    data = write_transfer_report(folder, evaluations, dataset, model, transfer)
    print(json.dumps(data, indent=1))
    print(f"report: {folder / 'report.html'}")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    training, transfer = _settings(args, args.task)
    sweep = points(
        args.task,
        args.networks.split(","),
        args.models,
        [t for t in parse_times(args.times)] or [None],
        training,
        transfer,
        args.hardware_aware,
        args.seed,
    )
    results = run_sweep(sweep, args.scheduler, args.workers)
    text = json.dumps(results, indent=1)
    if args.out:
        Path(args.out).write_text(text)
        print(f"wrote {args.out} ({len(results)} evaluations)")
    else:
        print(text)
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", default="moons", help="moons, digits, a .npz file or a folder of IDX files")
    parser.add_argument("--transfers", type=int, default=1000, help="simulated transfers (default 1000)")
    parser.add_argument("--hardware-aware", action="store_true", help="also train hardware-aware (seed 002)")
    parser.add_argument("--time", type=float, help="seconds after programming the devices are read")
    parser.add_argument("--scheme", choices=("differential", "offset"), default="differential")
    parser.add_argument("--quantize", action="store_true", help="snap weights to the model's measured levels")
    parser.add_argument(
        "--exclude", nargs="*", default=[], metavar="NONIDEALITY", help=", ".join(NONIDEALITIES)
    )
    parser.add_argument(
        "--include",
        nargs="*",
        default=[],
        metavar="NONIDEALITY",
        help="read_noise: off by default, every measured statistic already holds one read's noise",
    )
    parser.add_argument("--epochs", type=int, help="training epochs (task default)")
    parser.add_argument("--batch-size", type=int, help="training batch size (task default)")
    parser.add_argument("--learning-rate", type=float, help="Adam learning rate (task default)")
    parser.add_argument("--seed", type=int, default=0)


def add_transfer_parsers(commands: argparse._SubParsersAction) -> None:
    transfer = commands.add_parser("transfer", help="predict what a device model does to a trained network")
    transfer.add_argument("--model", required=True, help="a device model file (labrram analyze model)")
    transfer.add_argument("--network", help="layer sizes, e.g. 2-8-1 (task default)")
    transfer.add_argument("--activation", choices=ACTIVATIONS, default="sigmoid")
    transfer.add_argument(
        "--times", help="also report accuracy at these times after programming, e.g. 1,1e3,1e5"
    )
    transfer.add_argument(
        "--out", default="transfer-report", help="folder for report.html, transfer.json, plots"
    )
    _common(transfer)
    transfer.set_defaults(handler=_transfer)
    sweep = commands.add_parser("transfer-sweep", help="many transfer evaluations, locally or on Dask")
    sweep.add_argument("--models", nargs="+", required=True, help="device model files")
    sweep.add_argument("--networks", default="2-8-1", help="comma-separated layer sizes, e.g. 2-8-1,2-16-1")
    sweep.add_argument("--times", help="times after programming, e.g. 0,1e5")
    sweep.add_argument("--scheduler", help="address of a Dask scheduler (tcp://host:8786); else local")
    sweep.add_argument("--workers", type=int, default=1, help="local processes when no scheduler is given")
    sweep.add_argument("--out", help="write the results as JSON here (default: print them)")
    _common(sweep)
    sweep.set_defaults(handler=_sweep)
