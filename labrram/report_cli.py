"""``labrram report``: one HTML page on any set of runs and a device model (and, optionally, a transfer)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from labrram.analysis.describe import describe_model
from labrram.analysis.model import DeviceModel
from labrram.analysis.plots import plot_model
from labrram.db.summary import run_summary
from labrram.report import Section, write_html
from labrram.transfer.datasets import load_task
from labrram.transfer.evaluate import evaluate_task
from labrram.transfer.montecarlo import TransferSettings
from labrram.transfer.network import parse_sizes
from labrram.transfer.report import transfer_sections
from labrram.transfer.training import TrainingSettings
from labrram.transfer_cli import DEFAULT_NETWORKS, DEFAULT_TRAINING


def write_report(
    engine: Engine, model_path: Path, out: Path, runs: list[int] | None, task: str | None, transfers: int
) -> Path:
    """The runs (default: the model's own), the model's statistics and plots, and a transfer if asked."""
    model = DeviceModel.load(model_path)
    runs = runs if runs is not None else list(model.provenance.get("runs", {}).get("all", []))
    rows = []
    for run_id in runs:
        s = run_summary(engine, run_id)
        rows.append([run_id, s["procedure"], s["status"], s["devices"], s["pulses"], s["reads"]])
    sections = [
        Section(
            "Runs",
            [f"From {engine.url.render_as_string(hide_password=True)}."],
            [(["run", "procedure", "status", "devices", "pulses", "reads"], rows)],
        ),
        Section(
            f"Device model {model_path.name}", describe_model(model), images=plot_model(model, out, "model")
        ),
    ]
    if task:
        dataset = load_task(task, 0)
        network = parse_sizes(DEFAULT_NETWORKS.get(task) or f"{dataset.features}-32-{dataset.output_units()}")
        epochs, batch, rate = DEFAULT_TRAINING.get(task, (100, 64, 0.01))
        settings = TransferSettings(transfers=transfers)
        evaluations = evaluate_task(dataset, model, network, TrainingSettings(epochs, batch, rate), settings)
        sections += transfer_sections(evaluations, dataset, model, settings, out)
    return write_html(out / "report.html", f"labrram report: {model_path.name}", sections)
