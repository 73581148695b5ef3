"""The transfer report: figures as JSON, tables and PNG plots on one HTML page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from labrram.analysis.model import DeviceModel
from labrram.report import Section, write_html
from labrram.transfer.datasets import Dataset
from labrram.transfer.evaluate import Evaluation
from labrram.transfer.montecarlo import TransferSettings
from labrram.transfer.plots import plot_accuracy, plot_consistency, plot_decision_regions, plot_over_time


def figures(evaluations: list[Evaluation], dataset: Dataset, settings: TransferSettings) -> dict[str, Any]:
    """What the report states, as plain JSON data."""
    return {
        "task": dataset.name,
        "test_points": int(dataset.y_test.size),
        "transfers": settings.transfers,
        "scheme": settings.scheme,
        "quantized": settings.quantize,
        "time_s": settings.time_s,
        "nonidealities": sorted(settings.include),
        "networks": [e.to_dict() for e in evaluations],
    }


def transfer_sections(
    evaluations: list[Evaluation],
    dataset: Dataset,
    model: DeviceModel,
    settings: TransferSettings,
    folder: Path,
    measured: dict[str, list[float]] | None = None,
) -> list[Section]:
    """Report sections with their plots written into ``folder``."""
    folder = Path(folder)
    rows = []
    for e in evaluations:
        s = e.summary
        rows.append(
            [
                e.label,
                s.software * 100,
                s.mean * 100,
                s.percentiles["p2.5"] * 100,
                s.percentiles["p97.5"] * 100,
                s.at_least_95 * 100,
                s.at_least_90 * 100,
            ]
        )
    header = [
        "network",
        "software (%)",
        "mean (%)",
        "2.5th pct (%)",
        "97.5th pct (%)",
        ">= 95% (%)",
        ">= 90% (%)",
    ]
    prediction = Section(
        "Predicted accuracy over simulated transfers",
        [
            f"{settings.transfers} transfers of each network onto devices of the model ({settings.scheme} "
            f"pairs{', quantized to levels' if settings.quantize else ''}; non-idealities: "
            f"{', '.join(sorted(settings.include))}; time after programming {settings.time_s or 0:g} s). "
            "The last two columns are seed 002's consistency figures: the share of test points classified "
            "correctly in at least 95% (90%) of the transfers."
        ],
        [(header, rows)],
        [plot_accuracy(evaluations, folder / "accuracy.png", measured)],
    )
    bands = [row["band"] for row in evaluations[0].summary.table]
    table_rows = [
        [band, *[f"{e.summary.table[i]['points']} ({e.summary.table[i]['share']:.1%})" for e in evaluations]]
        for i, band in enumerate(bands)
    ]
    consistency = Section(
        "Consistency table (seed 002, Supplementary Note 3)",
        ["x: the percentage of transfers that classify a test point correctly."],
        [(["x (%)", *[e.label for e in evaluations]], table_rows)],
        [plot_consistency(evaluations, folder / "consistency.png")],
    )
    sections = [prediction, consistency]
    if dataset.features == 2:
        sections.append(
            Section(
                "Decision regions and their variability (seed 002, Fig. 6)",
                ["Colour: p(1 - p), p the share of transfers predicting class 1; line: p = 0.5."],
                images=[plot_decision_regions(evaluations, dataset, model, settings, folder / "regions.png")],
            )
        )
    if any(e.over_time for e in evaluations):
        time_rows = [
            [
                e.label,
                row["time_s"],
                row["mean_accuracy"] * 100,
                row["p5"] * 100,
                row["p95"] * 100,
                row["consistent_95"] * 100,
            ]
            for e in evaluations
            for row in e.over_time
        ]
        sections.append(
            Section(
                "Accuracy against the time after programming",
                ["Retention drift and spread of the device model, extrapolated in log-time."],
                [
                    (
                        ["network", "time (s)", "mean (%)", "5th pct (%)", "95th pct (%)", ">= 95% (%)"],
                        time_rows,
                    )
                ],
                [plot_over_time(evaluations, folder / "over_time.png")],
            )
        )
    return sections


def write_transfer_report(
    folder: Path,
    evaluations: list[Evaluation],
    dataset: Dataset,
    model: DeviceModel,
    settings: TransferSettings,
) -> dict[str, Any]:
    """report.html, transfer.json and the plots in ``folder``; the figures returned."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = figures(evaluations, dataset, settings)
    (folder / "transfer.json").write_text(json.dumps(data, indent=1))
    sections = transfer_sections(evaluations, dataset, model, settings, folder)
    write_html(folder / "report.html", f"Transfer of {dataset.name} networks", sections)
    return data
