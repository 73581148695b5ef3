"""The labrram command line: ``labrram demo`` and what later grows beside it."""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

from labrram.bench.factory import direct_simulated_bench
from labrram.config import load_config
from labrram.demo import format_report, run_demo
from labrram.errors import LabrramError
from labrram.records import Progress


def default_config_path() -> Path:
    """The bench file shipped with labrram: the TiO2 passive 8x8 simulated bench."""
    return Path(str(resources.files("labrram") / "examples" / "tio2-bench.toml"))


def _demo(args: argparse.Namespace) -> int:
    config_path = Path(args.config) if args.config else default_config_path()
    config = load_config(config_path)
    bench = direct_simulated_bench(config)
    seed = config.seed if args.seed is None else args.seed

    def show(progress: Progress) -> None:
        end = "\n" if progress.done == progress.total else ""
        print(f"\rprogramming: {progress.done}/{progress.total} devices", end=end, file=sys.stderr)

    parameters = config.sample.parameters
    margin_s = 0.1 * (parameters.g_max_s - parameters.g_min_s)
    targets_s = (parameters.g_min_s + margin_s, parameters.g_max_s - margin_s)
    with bench:
        report = run_demo(bench, seed, targets_s, on_progress=None if args.quiet else show)
    title = (
        f"labrram demo: simulated {config.sample.preset.name} chip {config.sample.chip!r} "
        f"(seed {config.seed}), bench {config.name!r} from {config_path.name}"
    )
    print(format_report(report, title))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labrram", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="characterize a simulated chip and print a summary")
    demo.add_argument("--config", help="bench TOML (default: the shipped TiO2 8x8 bench)")
    demo.add_argument("--seed", type=int, help="seed of the random targets (default: bench seed)")
    demo.add_argument("--quiet", action="store_true", help="no progress line")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except LabrramError as error:
        print(f"labrram: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("labrram: interrupted; outputs were set to 0 V", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
