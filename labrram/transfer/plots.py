"""PNG plots of transfers: accuracy histograms, consistency tables, decision regions, accuracy vs time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from labrram.analysis.model import DeviceModel
from labrram.plotting import save_figure
from labrram.transfer.datasets import Dataset
from labrram.transfer.evaluate import Evaluation
from labrram.transfer.montecarlo import TransferSettings, mappings_for, transferred_weights


def plot_accuracy(
    evaluations: list[Evaluation], path: Path, measured: dict[str, list[float]] | None = None
) -> Path:
    """Histogram of the accuracy over transfers of each network; measured chips as marks when given."""
    figure = Figure(figsize=(7, 4))
    ax = figure.add_subplot(1, 1, 1)
    accuracies = [e.correct.mean(axis=1) * 100 for e in evaluations]
    low = min(a.min() for a in accuracies)
    bins = np.linspace(np.floor(low) - 0.5, 100.5, 40)
    for evaluation, accuracy in zip(evaluations, accuracies, strict=True):
        (line,) = ax.plot([], [])
        label = f"{evaluation.label} (predicted)"
        ax.hist(accuracy, bins=bins, alpha=0.5, color=line.get_color(), label=label)
        ax.axvline(evaluation.summary.software * 100, color=line.get_color(), ls="--", lw=1)
        for value in (measured or {}).get(evaluation.label, []):
            ax.axvline(value * 100, color=line.get_color(), lw=2.5, ymax=0.25)
    ax.set_xlabel("test accuracy (%)  (dashed: software; short bars: measured on chips)")
    ax.set_ylabel("simulated transfers")
    ax.legend(fontsize=8)
    return save_figure(figure, path)


def plot_consistency(evaluations: list[Evaluation], path: Path) -> Path:
    """Seed 002's consistency table as bars: share of test points per band of correct transfers."""
    figure = Figure(figsize=(8, 4))
    ax = figure.add_subplot(1, 1, 1)
    bands = [row["band"] for row in evaluations[0].summary.table]
    width = 0.8 / len(evaluations)
    for i, evaluation in enumerate(evaluations):
        shares = [row["share"] * 100 for row in evaluation.summary.table]
        ax.bar(np.arange(len(bands)) + i * width, shares, width, label=evaluation.label)
    ax.set_xticks(np.arange(len(bands)) + 0.4 - width / 2, bands, rotation=30, fontsize=8)
    ax.set_xlabel("x: % of transfers classifying a test point correctly")
    ax.set_ylabel("test points (%)")
    ax.legend(fontsize=8)
    return save_figure(figure, path)


def plot_decision_regions(
    evaluations: list[Evaluation],
    dataset: Dataset,
    model: DeviceModel,
    settings: TransferSettings,
    path: Path,
    transfers: int = 200,
    seed: int = 0,
) -> Path:
    """For 2-D tasks (seed 002 Fig. 6): the share of transfers predicting class 1 over the input plane,
    and p(1 - p), the transfer-to-transfer variability, with the test points."""
    x = dataset.x_test
    pad = 0.3
    xs = np.linspace(x[:, 0].min() - pad, x[:, 0].max() + pad, 120)
    ys = np.linspace(x[:, 1].min() - pad, x[:, 1].max() + pad, 90)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    figure = Figure(figsize=(5 * len(evaluations), 4))
    for i, evaluation in enumerate(evaluations):
        network = evaluation.network
        mappings = mappings_for(network, model, settings)
        rng = np.random.default_rng(seed)
        weights, biases, _ = transferred_weights(network, model, settings, transfers, rng, mappings)
        share = network.predict(grid, weights, biases).mean(axis=0).reshape(ys.size, xs.size)
        ax = figure.add_subplot(1, len(evaluations), i + 1)
        mesh = ax.pcolormesh(xs, ys, share * (1 - share), cmap="Blues", vmin=0, vmax=0.25, shading="auto")
        ax.contour(xs, ys, share, levels=[0.5], colors="black", linewidths=0.8)
        correct = evaluation.correct.mean(axis=0)
        sizes = 10 + 30 * (1 - correct)
        ax.scatter(
            x[:, 0], x[:, 1], c=dataset.y_test, cmap="coolwarm", s=sizes, edgecolors="k", linewidths=0.3
        )
        ax.set_title(f"{evaluation.label}: variability p(1-p) over {transfers} transfers", fontsize=9)
        figure.colorbar(mesh, ax=ax)
    return save_figure(figure, path)


def plot_over_time(evaluations: list[Evaluation], path: Path) -> Path:
    """Mean accuracy (5th-95th percentile band) against the time after programming."""
    figure = Figure(figsize=(7, 4))
    ax = figure.add_subplot(1, 1, 1)
    for evaluation in evaluations:
        if not evaluation.over_time:
            continue
        t = [row["time_s"] for row in evaluation.over_time]
        mean = [row["mean_accuracy"] * 100 for row in evaluation.over_time]
        (line,) = ax.plot(t, mean, "o-", label=evaluation.label)
        ax.fill_between(
            t,
            [row["p5"] * 100 for row in evaluation.over_time],
            [row["p95"] * 100 for row in evaluation.over_time],
            color=line.get_color(),
            alpha=0.2,
        )
    ax.set_xscale("log")
    ax.set_xlabel("time after programming (s)")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(fontsize=8)
    return save_figure(figure, path)
