"""The whole loop in one command: characterize a simulated chip, model it, predict, then program and measure.

1. Characterize (recorded run by run): forming where needed, jump-table pulse trains, tuning to several
   levels, multilevel programming, a short retention test, array programming on arrays of their own.
   TiO2 goes through the instrument drivers with seed 002's own bench and settings (a 707B and a
   4200A-SCS's PMU channels on simulated instruments, 200 ns Alibart tuning; ``tio2-smu-bench``: two
   2636B SMUs and 100 us pulses instead); HfO2 1T1R arrays on the direct simulated bench (the matrix
   benches drive passive arrays only).
2. Fit the DeviceModel from those runs, save it beside the report and register it in the database.
3. Train the task's network plain and hardware-aware and predict each one's accuracy over simulated
   transfers.
4. Closed loop: program each trained network onto fresh simulated chips (other seeds) in the tiles and
   order the evaluator assumed, run it by reading every device, and set the measured accuracies beside
   the predicted distribution.
5. Write one HTML report.

Each stage is recorded before the next starts; ``demo-state.json`` in the output folder lists what is
done and the characterization chip's state is saved after each stage, so an interrupted demo resumes
where it stopped (an interrupted stage restarts from the chip's state before it; its partial run stays
in the database, marked aborted).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine

from labrram.analysis.describe import describe_model
from labrram.analysis.model import DeviceModel
from labrram.analysis.plots import plot_model
from labrram.bench.base import Bench, DeviceAddress
from labrram.bench.factory import bench_and_chip, direct_simulated_bench
from labrram.bench.pulsed import MIN_OFF_S
from labrram.closed_loop import inference_run, measured_accuracy, placements, programming_runs
from labrram.config import BenchConfig, SampleConfig, load_config
from labrram.db import Recorder, Selection, reads, record_run
from labrram.db.summary import run_summary
from labrram.errors import LabrramError
from labrram.physics.parameters import ArrayKind
from labrram.physics.state import load_chip, save_chip
from labrram.procedures.forming import FormingSettings, form_devices
from labrram.procedures.multilevel import LevelPlan, MultilevelSettings, place_levels, program_levels
from labrram.procedures.program import array_programming
from labrram.procedures.pulse_train import PulseTrainSettings, pulse_trains
from labrram.procedures.retention import RetentionSettings, retention_test
from labrram.procedures.tuning import TUNING_PRESETS, AlibartSettings, tune_devices
from labrram.records import Progress, Record
from labrram.report import Section, write_html
from labrram.transfer.datasets import load_task
from labrram.transfer.evaluate import Evaluation, evaluate_task
from labrram.transfer.mapping import map_network
from labrram.transfer.montecarlo import TransferSettings, layout
from labrram.transfer.report import figures, transfer_sections
from labrram.transfer.training import TrainingSettings

Stage = tuple[str, Callable[[Bench, "StageContext"], list[Callable[[], Iterator[Record]]]]]
# The closed-loop chips are read this long after their last device is programmed, and the prediction is
# made for the same time after programming: relaxation right after programming is fast (log-time).
SETTLE_S = 60.0
# Retention reads from the moment programming ends: the relaxation a chip shows before use is in the model.
RETENTION_TIMES_S = (0.0, 1.0, 10.0, 100.0, 1e3, 1e4)
# HfO2 1T1R multilevel: four levels from 40 to 200 uS, programmed by compliance steps (seed 000).
HFO2_LEVELS = place_levels(4, 40e-6, 200e-6)
HFO2_LEVELS_COUNT = len(HFO2_LEVELS.centers_s)
HFO2_MULTILEVEL = MultilevelSettings(method="compliance")


@dataclass(frozen=True)
class DemoPreset:
    """A technology's demo: bench file, characterization, task and network, how the closed loop programs."""

    name: str
    config: str
    task: str
    network: tuple[int, ...]
    activation: str
    training: TrainingSettings
    fast_training: TrainingSettings
    quantize: bool
    tuning: AlibartSettings
    pulse_off_s: float  # the SMU's pulse off time, kept by the closed-loop chips
    stages: Callable[[BenchConfig, bool], list[Stage]]
    levels: LevelPlan | None = None
    multilevel: MultilevelSettings | None = None


def _devices(array: str, rows: range, cols: range) -> list[DeviceAddress]:
    return [DeviceAddress(array, r, c) for r in rows for c in cols]


@dataclass(frozen=True)
class TiO2Programming:
    """How a TiO2 bench's pulse source programs: the tuning preset, the pulse train, forming or not."""

    tuning: str
    set_v: float
    reset_v: float
    width_s: float
    forming: bool


# Seed 002's own settings on its pulse bench (4200A-SCS PMU): 200 ns Alibart tuning from the off state,
# pulse trains at 200 ns; its devices are forming free.
SEED_002_PROGRAMMING = TiO2Programming("seed-002", set_v=1.5, reset_v=-1.9, width_s=200e-9, forming=False)
# What a 2636B SMU bench can do: 100 us pulses at lower amplitudes.
SMU_PROGRAMMING = TiO2Programming("smu-100us", set_v=0.7, reset_v=-0.65, width_s=100e-6, forming=True)


def _tio2_stages(programming: TiO2Programming) -> Callable[[BenchConfig, bool], list[Stage]]:
    return lambda config, fast: _tio2_stage_list(config, fast, programming)


def _tio2_stage_list(config: BenchConfig, fast: bool, programming: TiO2Programming) -> list[Stage]:
    tuning = TUNING_PRESETS[programming.tuning]
    arrays = [a.name for a in config.sample.arrays]
    train_devices = _devices("A1", range(1 if fast else 2), range(4 if fast else 8))
    tuned = _devices("A1", range(2, 4 if fast else 8), range(4 if fast else 8))
    levels_s = (150e-6, 300e-6, 450e-6) if fast else (150e-6, 250e-6, 350e-6, 450e-6)
    multilevel_devices = _devices("A2", range(4 if fast else 8), range(8))
    plan = place_levels(4, 150e-6, 450e-6)
    train = PulseTrainSettings(
        set_v=programming.set_v,
        reset_v=programming.reset_v,
        width_s=programming.width_s,
        set_count=40 if fast else 60,
        reset_count=40 if fast else 60,
        cycles=1 if fast else 2,
        start_reset_pulses=20,
    )
    schedule = RetentionSettings(times_s=RETENTION_TIMES_S[: 4 if fast else None])
    rng = np.random.default_rng(config.seed)
    programmed = ["A3"] if fast else ["A3", "A4"]
    targets = {a: rng.uniform(150e-6, 450e-6, (8, 8)) for a in programmed}
    forming: list[Stage] = [
        (
            "forming",
            lambda b, c: [
                lambda: form_devices(b, [d for a in arrays for d in _all(b, a)], FormingSettings())
            ],
        )
    ]
    return [
        *(forming if programming.forming else []),
        ("pulse-train", lambda b, c: [lambda: pulse_trains(b, train_devices, train)]),
        (
            "tuning",
            lambda b, c: [
                (lambda g=g: tune_devices(b, dict.fromkeys(tuned, g), replace(tuning, reset_first=True)))
                for g in levels_s
            ],
        ),
        (
            "multilevel",
            lambda b, c: [
                lambda: program_levels(
                    b,
                    {d: i % 4 for i, d in enumerate(multilevel_devices)},
                    plan,
                    MultilevelSettings(method="tuning"),
                    tuning=tuning,
                )
            ],
        ),
        (
            "retention",
            lambda b, c: [
                lambda: retention_test(b, multilevel_devices, schedule, c.programmed_at("multilevel"))
            ],
        ),
        (
            "array-programming",
            lambda b, c: [(lambda a=a: array_programming(b, a, targets[a], tuning)) for a in programmed],
        ),
    ]


def _hfo2_stages(config: BenchConfig, fast: bool) -> list[Stage]:
    tuning = AlibartSettings(
        width_s=1e-6, set_start_v=0.6, set_stop_v=1.2, reset_start_v=-1.0, reset_stop_v=-1.8, max_pulses=400
    )
    side = 8 if fast else 16
    formed = [d for a in ("M1", "M2", "M3") for d in _devices(a, range(side), range(side))]
    train_devices = _devices("M1", range(1), range(4 if fast else 8))
    tuned = _devices("M1", range(1, 2 if fast else 3), range(8))
    multilevel_devices = _devices("M2", range(side), range(side))
    train = PulseTrainSettings(
        set_v=0.72,
        reset_v=-1.3,
        width_s=1e-6,
        set_count=30 if fast else 40,
        reset_count=30 if fast else 40,
        cycles=1 if fast else 2,
        start_reset_pulses=20,
    )
    schedule = RetentionSettings(times_s=RETENTION_TIMES_S[: 4 if fast else None])
    targets = np.random.default_rng(config.seed).uniform(40e-6, 200e-6, (side, side))
    return [
        ("forming", lambda b, c: [lambda: form_devices(b, formed, FormingSettings())]),
        ("pulse-train", lambda b, c: [lambda: pulse_trains(b, train_devices, train)]),
        (
            "tuning",
            lambda b, c: [
                (lambda g=g: tune_devices(b, dict.fromkeys(tuned, g), tuning)) for g in (60e-6, 150e-6)
            ],
        ),
        (
            "multilevel",
            lambda b, c: [
                lambda: program_levels(
                    b,
                    {d: i % HFO2_LEVELS_COUNT for i, d in enumerate(multilevel_devices)},
                    HFO2_LEVELS,
                    HFO2_MULTILEVEL,
                )
            ],
        ),
        (
            "retention",
            lambda b, c: [
                lambda: retention_test(b, multilevel_devices, schedule, c.programmed_at("multilevel"))
            ],
        ),
        (
            "array-programming",
            lambda b, c: [lambda: array_programming(b, "M3", _padded(targets, b, "M3"), tuning)],
        ),
    ]


def _padded(targets: np.ndarray, bench: Bench, array: str) -> np.ndarray:
    """Targets for the top-left corner of an array, NaN (not programmed) elsewhere."""
    geometry = bench.arrays[array]
    padded = np.full((geometry.rows, geometry.cols), np.nan)
    padded[: targets.shape[0], : targets.shape[1]] = targets
    return padded


def _all(bench: Bench, array: str) -> list[DeviceAddress]:
    geometry = bench.arrays[array]
    return _devices(array, range(geometry.rows), range(geometry.cols))


TIO2_PRESET = DemoPreset(
    name="tio2-passive-8x8",
    config="tio2-demo-bench.toml",
    task="moons",
    network=(2, 8, 1),
    activation="sigmoid",
    training=TrainingSettings(epochs=1000, batch_size=256, learning_rate=0.03),
    fast_training=TrainingSettings(epochs=300, batch_size=256, learning_rate=0.1),
    quantize=False,
    tuning=TUNING_PRESETS["seed-002"],
    pulse_off_s=MIN_OFF_S,
    stages=_tio2_stages(SEED_002_PROGRAMMING),
)
PRESETS = {
    "tio2-passive-8x8": TIO2_PRESET,
    "tio2-smu-bench": replace(
        TIO2_PRESET,
        name="tio2-smu-bench",
        config="tio2-smu-bench.toml",
        tuning=TUNING_PRESETS["smu-100us"],
        pulse_off_s=100e-6,
        stages=_tio2_stages(SMU_PROGRAMMING),
    ),
    "hfo2-1t1r": DemoPreset(
        name="hfo2-1t1r",
        config="hfo2-demo-bench.toml",
        task="digits",
        network=(64, 16, 10),
        activation="sigmoid",
        training=TrainingSettings(epochs=60, batch_size=64, learning_rate=0.01),
        fast_training=TrainingSettings(epochs=20, batch_size=64, learning_rate=0.02),
        quantize=True,
        tuning=TUNING_PRESETS["seed-002"],
        pulse_off_s=0.0,
        stages=_hfo2_stages,
        levels=HFO2_LEVELS,
        multilevel=HFO2_MULTILEVEL,
    ),
}


@dataclass
class DemoState:
    """What an interrupted demo already did, kept in the output folder."""

    path: Path
    preset: str
    database: str
    fast: bool
    stages: dict[str, list[int]] = field(default_factory=dict)
    closed_loop: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def open(cls, folder: Path, preset: str, database: str, fast: bool) -> DemoState:
        path = folder / "demo-state.json"
        if not path.exists():
            return cls(path, preset, database, fast)
        data = json.loads(path.read_text())
        if (data["preset"], data["database"], data["fast"]) != (preset, database, fast):
            raise LabrramError(
                f"{folder} holds a demo of {data['preset']} on {data['database']} (fast: {data['fast']}); "
                "resume it with the same options or choose another --out"
            )
        return cls(path, preset, database, fast, data["stages"], data["closed_loop"])

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "preset": self.preset,
            "database": self.database,
            "fast": self.fast,
            "stages": self.stages,
            "closed_loop": self.closed_loop,
        }
        temporary = self.path.with_suffix(".part")
        temporary.write_text(json.dumps(document, indent=1))
        temporary.replace(self.path)


@dataclass(frozen=True)
class StageContext:
    """What a stage may ask of the stages before it: when each device was last programmed."""

    engine: Engine
    state: DemoState

    def programmed_at(self, stage: str) -> dict[DeviceAddress, float]:
        """Each device's last read time (bench clock) in a stage's runs: the end of its programming."""
        frame = reads(self.engine, Selection(runs=self.state.stages.get(stage, [])))
        if frame.empty:
            return {}
        last = frame.groupby(["array", "row", "col"], observed=True)["t_s"].max()
        return {DeviceAddress(str(a), int(r), int(c)): float(t) for (a, r, c), t in last.items()}


@dataclass
class DemoResult:
    """The demo's figures and where it wrote them."""

    preset: str
    report: Path
    model_path: Path
    model_id: int
    runs: list[int]
    evaluations: list[Evaluation]
    measured: dict[str, list[float]]
    seconds: float

    def band(self, label: str) -> tuple[float, float]:
        evaluation = next(e for e in self.evaluations if e.label == label)
        accuracy = evaluation.correct.mean(axis=1)
        return float(np.percentile(accuracy, 2.5)), float(np.percentile(accuracy, 97.5))

    def summary_lines(self) -> list[str]:
        lines = [
            f"labrram demo ({self.preset}): {len(self.runs)} characterization runs; {self.model_path.name}"
        ]
        for evaluation in self.evaluations:
            s = evaluation.summary
            low, high = self.band(evaluation.label)
            measured = self.measured.get(evaluation.label, [])
            inside = sum(low <= m <= high for m in measured)
            lines.append(
                f"  {evaluation.label}: software {s.software:.1%}, predicted {s.mean:.1%} "
                f"(95% band {low:.1%}-{high:.1%}), >= 95% consistency {s.at_least_95:.1%}; "
                f"measured on {len(measured)} chips: "
                f"{', '.join(f'{m:.1%}' for m in measured)} ({inside} inside the band)"
            )
        lines.append(f"report: {self.report} ({self.seconds:.0f} s)")
        return lines


def demo_config(preset: DemoPreset, config_path: Path | None) -> BenchConfig:
    path = config_path or Path(str(resources.files("labrram") / "examples" / preset.config))
    return load_config(path)


def _closed_loop_config(
    config: BenchConfig, tiles: int, tile: tuple[int, int], seed: int, label: str
) -> BenchConfig:
    """A fresh chip of the same technology (another seed) with one array per tile, on the direct bench.

    Its reads autorange: a stuck-on device beyond a fixed range would stop the run on the direct bench
    (the pulse bench takes such a read again a range up).
    """
    base = config.sample.arrays[0]
    arrays = tuple(replace(base, name=f"T{i + 1}", rows=tile[0], cols=tile[1]) for i in range(tiles))
    sample = SampleConfig(
        chip=f"{config.sample.chip}-closed-loop-{label}-{seed}",
        preset=config.sample.preset,
        parameters=config.sample.parameters,
        arrays=arrays,
        temperature_c=config.sample.temperature_c,
    )
    return replace(
        config,
        name=f"{config.name}-closed-loop",
        seed=seed,
        sample=sample,
        instruments=None,
        wiring=None,
        read_current_range_a=None,
    )


def run_demo(
    preset_name: str,
    engine: Engine,
    out: Path,
    config_path: Path | None = None,
    fast: bool = False,
    chips: int | None = None,
    transfers: int | None = None,
    progress: Callable[[str], None] = lambda _: None,
    operator: str | None = None,
) -> DemoResult:
    """The whole loop; resumes from ``out/demo-state.json`` when an earlier run of it was interrupted."""
    if preset_name not in PRESETS:
        raise LabrramError(f"unknown demo preset {preset_name!r}; known: {', '.join(PRESETS)}")
    preset = PRESETS[preset_name]
    started = time.monotonic()
    out = Path(out)
    config = demo_config(preset, config_path)
    database = engine.url.render_as_string(hide_password=True)
    state = DemoState.open(out, preset.name, database, fast)
    bench, chip = bench_and_chip(config)
    chip_file = out / "characterization-chip.npz"
    if chip is not None and state.stages and chip_file.exists():
        load_chip(chip, chip_file)
    stages = preset.stages(config, fast)
    with bench:
        for number, (name, streams) in enumerate(stages, start=1):
            if name in state.stages:
                progress(f"[{number}/{len(stages)}] {name}: done earlier (runs {state.stages[name]})")
                continue
            run_ids = []
            for stream in streams(bench, StageContext(engine, state)):
                recorder = Recorder(engine, config.name, config.sample, operator=operator)
                run_ids.append(
                    record_run(
                        recorder, stream(), tee=_progress(f"[{number}/{len(stages)}] {name}", progress)
                    )
                )
            state.stages[name] = run_ids
            if chip is not None:
                save_chip(chip, chip_file)
            state.save()
    runs = [r for ids in state.stages.values() for r in ids]
    progress("fitting the device model")
    model = DeviceModel.from_database(engine, Selection(runs=runs))
    model_path = out / "device-model.json"
    digest = model.save(model_path)
    model_id = model.register(engine, model_path, digest, name=f"demo-{preset.name}")
    model_plots = plot_model(model, out, "model")
    dataset = load_task(preset.task, 0)
    training = (
        replace(preset.training, epochs=max(60, preset.training.epochs // 4)) if fast else preset.training
    )
    settings = TransferSettings(
        transfers=transfers or (200 if fast else 1000), quantize=preset.quantize, time_s=SETTLE_S
    )
    progress("training plain and hardware-aware networks, predicting their transfers")
    evaluations = evaluate_task(
        dataset, model, preset.network, training, settings, activation=preset.activation, seed=0
    )
    measured = _closed_loop(
        preset,
        config,
        model,
        settings,
        evaluations,
        dataset,
        engine,
        state,
        chips or (2 if fast else 4),
        progress,
        operator,
    )
    sections = _report_sections(
        preset, config, engine, runs, model, model_plots, evaluations, dataset, settings, measured, out
    )
    report = write_html(out / "report.html", f"labrram demo: {preset.name}", sections)
    (out / "demo.json").write_text(
        json.dumps(
            {
                "preset": preset.name,
                "runs": runs,
                "model": str(model_path),
                **figures(evaluations, dataset, settings),
                "measured": measured,
            },
            indent=1,
        )
    )
    return DemoResult(
        preset.name, report, model_path, model_id, runs, evaluations, measured, time.monotonic() - started
    )


def _progress(label: str, progress: Callable[[str], None]) -> Callable[[Record], None]:
    def show(record: Record) -> None:
        if isinstance(record, Progress):
            progress(f"{label}: {record.done}/{record.total}")

    return show


def _closed_loop(
    preset: DemoPreset,
    config: BenchConfig,
    model: DeviceModel,
    settings: TransferSettings,
    evaluations: list[Evaluation],
    dataset,
    engine: Engine,
    state: DemoState,
    chips: int,
    progress: Callable[[str], None],
    operator: str | None,
) -> dict[str, list[float]]:
    """Program each network onto fresh chips, read it, classify the test set; accuracies by network."""
    tile, order = layout(model, settings)
    measured: dict[str, list[float]] = {}
    for evaluation in evaluations:
        network = evaluation.network
        mappings = map_network(
            network, model.window_s, settings.scheme, tile, order, model.levels if settings.quantize else None
        )
        tiles = sum(
            -(-m.shape[0] // tile[0]) * -(-m.shape[1] // tile[1]) for mp in mappings for m in mp.targets_s
        )
        for chip_index in range(chips):
            seed = 1000 + chip_index
            key = f"{evaluation.label}/{seed}"
            if key in state.closed_loop:
                measured.setdefault(evaluation.label, []).append(state.closed_loop[key]["accuracy"])
                continue
            chip_config = _closed_loop_config(config, tiles, tile, seed, evaluation.label)
            label = f"closed loop, {evaluation.label} network, chip {chip_index + 1}/{chips}"
            run_ids, accuracy = _program_and_run(
                preset,
                chip_config,
                network,
                mappings,
                tile,
                settings,
                dataset,
                engine,
                seed,
                operator,
                lambda done, total, label=label: progress(f"{label}: tile {done}/{total}"),
                evaluation.label,
            )
            state.closed_loop[key] = {"accuracy": accuracy, "runs": run_ids, "chip": chip_config.sample.chip}
            state.save()
            measured.setdefault(evaluation.label, []).append(accuracy)
    return measured


def _program_and_run(
    preset: DemoPreset,
    chip_config: BenchConfig,
    network,
    mappings,
    tile: tuple[int, int],
    settings: TransferSettings,
    dataset,
    engine: Engine,
    seed: int,
    operator: str | None,
    progress: Callable[[int, int], None],
    label: str,
) -> tuple[list[int], float]:
    """One fresh chip: form it where needed, program every tile, run the network by reads."""
    bench = direct_simulated_bench(chip_config, preset.pulse_off_s)
    arrays = [a.name for a in chip_config.sample.arrays]
    places = placements(mappings, tile, arrays)
    run_ids = []

    def record(stream: Iterator[Record]) -> int:
        return Recorder(engine, chip_config.name, chip_config.sample, operator=operator).record(stream)

    with bench:
        if bench.arrays[arrays[0]].kind is ArrayKind.ONE_T_ONE_R:
            formed = [d for a in arrays for d in _all(bench, a)]
            run_ids.append(record(form_devices(bench, formed, FormingSettings())))
        levels = (preset.levels, preset.multilevel) if settings.quantize else None
        for number, stream in enumerate(
            programming_runs(bench, mappings, places, preset.tuning, levels, seed), 1
        ):
            progress(number, len(places))
            run_ids.append(record(stream))
        bench.wait(SETTLE_S)
        inference = inference_run(bench, network, mappings, places, dataset.x_test, dataset.y_test, label)
        run_id, accuracy = measured_accuracy(inference, record)
    return [*run_ids, run_id], accuracy


def _report_sections(
    preset: DemoPreset,
    config: BenchConfig,
    engine: Engine,
    runs: list[int],
    model: DeviceModel,
    model_plots: list[Path],
    evaluations: list[Evaluation],
    dataset,
    settings: TransferSettings,
    measured: dict[str, list[float]],
    out: Path,
) -> list[Section]:
    path = (
        "the instrument drivers (a simulated 707B and two 2636B over TSP-Link)"
        if config.instruments
        else "the direct simulated bench"
    )
    rows = []
    for run_id in runs:
        s = run_summary(engine, run_id)
        fared = "; ".join(
            f"{k}: {v.get('succeeded', 0)} ok, {v.get('failed', 0)} failed" for k, v in s["outcomes"].items()
        )
        rows.append([run_id, s["procedure"], s["status"], s["devices"], s["pulses"], s["reads"], fared])
    characterization = Section(
        "1. Characterization",
        [
            f"Simulated {config.sample.preset.name} chip {config.sample.chip!r} (seed {config.seed}) "
            f"measured through {path}; every pulse and read recorded in "
            f"{engine.url.render_as_string(hide_password=True)}."
        ],
        [(["run", "procedure", "status", "devices", "pulses", "reads", "outcome"], rows)],
    )
    statistics = Section("2. Device model", describe_model(model), images=model_plots)
    prediction = transfer_sections(evaluations, dataset, model, settings, out, measured)
    loop_rows = []
    for evaluation in evaluations:
        accuracy = evaluation.correct.mean(axis=1)
        low, high = np.percentile(accuracy, [2.5, 97.5])
        values = measured.get(evaluation.label, [])
        inside = sum(low <= v <= high for v in values)
        loop_rows.append(
            [
                evaluation.label,
                ", ".join(f"{v:.1%}" for v in values),
                f"{accuracy.mean():.1%}",
                f"{low:.1%} - {high:.1%}",
                f"{inside} of {len(values)}",
            ]
        )
    closed = Section(
        "4. Closed loop: predicted vs measured",
        [
            "Each network was programmed onto fresh simulated chips (other seeds, same technology) tile by "
            "tile in the evaluator's layout and programming order, "
            + (
                "each device tuned by Alibart's algorithm (array programming); "
                if not settings.quantize
                else "each device programmed into its level by compliance program-and-verify; "
            )
            + f"then, {SETTLE_S:g} s after the last device was programmed (the time predicted for), "
            "every device was read once and each layer's product computed from the conductances read "
            "(read each device and compute). Measured accuracies beside the predicted distribution's central "
            "95% band.",
        ],
        [(["network", "measured on chips", "predicted mean", "predicted 95% band", "inside"], loop_rows)],
    )
    for section in prediction:
        section.title = f"3. {section.title}"
    return [characterization, statistics, *prediction, closed]


__all__ = ["PRESETS", "DemoResult", "run_demo"]
