"""PNG plots of fitted statistics: jump-tables, tuning spread, disturbance by order, levels, retention, noise.

Figures are built on `matplotlib.figure.Figure` directly (no pyplot state, no display needed). Axes are in
microsiemens and seconds, the units a device researcher reads them in; the data stay in SI.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from labrram.analysis.disturbance import DisturbanceByOrder
from labrram.analysis.jumptable import JumpTable
from labrram.analysis.levels import MultilevelLevels
from labrram.analysis.read_noise import ReadNoise
from labrram.analysis.retention import RetentionModel
from labrram.analysis.tuning import TuningImprecision
from labrram.plotting import save_figure

US = 1e6


def plot_jump_table(table: JumpTable, path: Path, table_index: int = 0) -> Path:
    """Per kind: the CDF map of dG vs G (seed 003 Fig. 7b) and the median with +-1 sigma (Fig. 7a)."""
    kinds = list(table.responses)
    figure = Figure(figsize=(10, 3.8 * len(kinds)))
    for row, kind in enumerate(kinds):
        response = table.responses[kind]
        quantiles = response.quantiles_s[table_index] * US
        low, high = np.percentile(quantiles, [0.5, 99.5])
        span = max(high - low, 1e-9)
        delta_edges = np.linspace(low - 0.05 * span, high + 0.05 * span, 201)
        delta = 0.5 * (delta_edges[:-1] + delta_edges[1:])
        cdf = np.stack(
            [np.interp(delta, quantiles[b], response.probabilities, 0.0, 1.0) for b in range(response.bins)]
        )
        ax = figure.add_subplot(len(kinds), 2, 2 * row + 1)
        mesh = ax.pcolormesh(
            response.edges_s * US, delta_edges, cdf.T, shading="flat", cmap="viridis", vmin=0, vmax=1
        )
        figure.colorbar(mesh, ax=ax, label="cumulative probability")
        ax.set_xlabel("conductance before the pulse (uS)")
        ax.set_ylabel("dG (uS)")
        ax.set_title(f"{kind} jump-table ({table.table_labels[table_index]})")
        curves = table.curves(kind, table_index)
        ax = figure.add_subplot(len(kinds), 2, 2 * row + 2)
        g = curves["g_s"] * US
        ax.plot(g, curves["median_s"] * US, color="tab:blue", label="median")
        ax.plot(g, curves["minus_sigma_s"] * US, color="tab:red", label="-1 sigma / +1 sigma")
        ax.plot(g, curves["plus_sigma_s"] * US, color="tab:red")
        filled = response.filled[table_index]
        if filled.any():
            ax.plot(
                g[filled],
                curves["median_s"][filled] * US,
                "o",
                mfc="none",
                color="gray",
                label="interpolated bin",
            )
        ax.axhline(0, color="black", lw=0.5)
        ax.set_xlabel("conductance before the pulse (uS)")
        ax.set_ylabel("dG per pulse (uS)")
        condition = response.condition
        if "amplitude_v" in condition:
            ax.set_title(f"{kind}: {condition['amplitude_v']:g} V, {condition['width_s']:g} s pulses")
        ax.legend(fontsize=8)
    return save_figure(figure, path)


def plot_tuning(tuning: TuningImprecision, path: Path) -> Path:
    """Relative spread and offset of tuned conductances vs target level, with their linear fits."""
    figure = Figure(figsize=(10, 3.8))
    g = np.linspace(tuning.levels_s.min(), tuning.levels_s.max(), 100)
    ax = figure.add_subplot(1, 2, 1)
    ax.plot(tuning.levels_s * US, tuning.sd_rel * 100, "o", label="measured")
    ax.plot(g * US, tuning.sigma_rel(g) * 100, "-", label=f"fit, R^2 = {tuning.spread.r_squared:.2f}")
    ax.set_xlabel("target conductance (uS)")
    ax.set_ylabel("sd of achieved / target (%)")
    ax.set_title("tuning imprecision")
    ax.legend(fontsize=8)
    ax = figure.add_subplot(1, 2, 2)
    ax.plot(tuning.levels_s * US, tuning.mean_rel * 100, "o", label="measured")
    ax.plot(g * US, tuning.offset_rel(g) * 100, "-", label="fit")
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xlabel("target conductance (uS)")
    ax.set_ylabel("mean offset (%)")
    ax.set_title("tuning offset")
    ax.legend(fontsize=8)
    return save_figure(figure, path)


def plot_disturbance(disturbance: DisturbanceByOrder, path: Path) -> Path:
    """Mean, sd and 5th/95th percentiles of dG vs the number of devices programmed afterwards."""
    rows = disturbance.table()
    n = np.array([0.5 * (r["n_first"] + r["n_last"]) for r in rows])
    figure = Figure(figsize=(10, 3.8))
    ax = figure.add_subplot(1, 2, 1)
    mean = np.array([r["mean_s"] for r in rows]) * US
    sd = np.array([r["sd_s"] for r in rows]) * US
    ax.errorbar(n, mean, yerr=sd, fmt="o", capsize=3, label="mean +- sd")
    ax.plot(n, np.array([r["p5_s"] for r in rows]) * US, "v", color="gray", label="5th / 95th percentile")
    ax.plot(n, np.array([r["p95_s"] for r in rows]) * US, "^", color="gray")
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xlabel("devices programmed afterwards, N")
    ax.set_ylabel("dG (uS)")
    ax.set_title("disturbance by programming order")
    ax.legend(fontsize=8)
    ax = figure.add_subplot(1, 2, 2)
    for d, r in ((disturbance.distributions[0], rows[0]), (disturbance.distributions[-1], rows[-1])):
        ax.hist(d.values * US, bins=30, alpha=0.6, label=f"N {r['n_first']}-{r['n_last']} ({d.form})")
    ax.set_xlabel("dG (uS)")
    ax.set_ylabel("devices")
    ax.legend(fontsize=8)
    return save_figure(figure, path)


def plot_levels(levels: MultilevelLevels, path: Path) -> Path:
    """Histogram of each level's programmed conductances with the read thresholds between them."""
    figure = Figure(figsize=(8, 3.8))
    ax = figure.add_subplot(1, 1, 1)
    for k, d in enumerate(levels.distributions):
        ax.hist(d.values * US, bins=20, alpha=0.6, label=f"level {k}")
    for threshold in levels.thresholds_s():
        ax.axvline(threshold * US, color="black", lw=0.8, ls="--")
    ax.set_xlabel("programmed conductance (uS)")
    ax.set_ylabel("devices")
    ax.set_title("multilevel levels (dashed: read thresholds)")
    if levels.count <= 12:
        ax.legend(fontsize=7, ncol=2)
    return save_figure(figure, path)


def plot_retention(retention: RetentionModel, path: Path) -> Path:
    """Mean shift and spread vs time per level with the fitted laws; bakes at their equivalent times."""
    figure = Figure(figsize=(10, 3.8))
    mean_ax = figure.add_subplot(1, 2, 1)
    sd_ax = figure.add_subplot(1, 2, 2)
    for level in retention.levels:
        times = np.geomspace(level.times_s.min(), level.times_s.max() * 10, 50)
        (line,) = mean_ax.plot(
            level.times_s, level.means_s * US, "o", ms=4, label=f"G0 {level.g0_s * US:.0f} uS"
        )
        mean_ax.plot(times, level.mean(times) * US, "-", color=line.get_color())
        sd_ax.plot(level.times_s, level.sds_s * US, "o", ms=4, color=line.get_color())
        sd_ax.plot(times, level.sd(times) * US, "-", color=line.get_color())
    for point in retention.bake_points:
        if point["equivalent_s"]:
            sd_ax.plot(point["equivalent_s"], point["sd_s"] * US, "s", mfc="none", color="black")
    for ax, label in ((mean_ax, "mean shift (uS)"), (sd_ax, "sd of shift (uS)")):
        ax.set_xscale("log")
        ax.set_xlabel("time after programming (s)")
        ax.set_ylabel(label)
    mean_ax.set_title("retention: drift")
    title = "retention: spread"
    if retention.activation_energy_ev is not None:
        title += f" (squares: bakes, Ea = {retention.activation_energy_ev:.2f} eV)"
    sd_ax.set_title(title, fontsize=9)
    if len(retention.levels) <= 10:
        mean_ax.legend(fontsize=7)
    return save_figure(figure, path)


def plot_read_noise(noise: ReadNoise, path: Path) -> Path:
    """Read-noise sd vs conductance with the fitted sqrt((rel G)^2 + floor^2)."""
    figure = Figure(figsize=(6, 3.8))
    ax = figure.add_subplot(1, 1, 1)
    g = np.linspace(noise.g_s.min(), noise.g_s.max(), 100)
    ax.plot(noise.g_s * US, noise.sd_s * US, "o", label="measured (successive reads)")
    ax.plot(g * US, noise.sd(g) * US, "-", label=f"rel {noise.rel:.2%}, floor {noise.floor_s * US:.3g} uS")
    ax.set_xlabel("conductance (uS)")
    ax.set_ylabel("read noise sd (uS)")
    ax.legend(fontsize=8)
    return save_figure(figure, path)


def plot_model(model, folder: Path, stem: str) -> list[Path]:
    """Every plot a device model has data for, as ``<stem>-<what>.png`` in ``folder``."""
    folder = Path(folder)
    written = []
    plotters = (
        ("jump_table", plot_jump_table),
        ("tuning", plot_tuning),
        ("disturbance", plot_disturbance),
        ("levels", plot_levels),
        ("retention", plot_retention),
        ("read_noise", plot_read_noise),
    )
    for name, plotter in plotters:
        component = getattr(model, name)
        if component is not None:
            written.append(plotter(component, folder / f"{stem}-{name.replace('_', '-')}.png"))
    return written
