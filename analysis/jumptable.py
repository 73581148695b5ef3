"""Jump-tables (Burr et al. IEDM 2014; Sidler et al., seed 003): the full CDF of the conductance change one
pulse causes, at each conductance, for SET and for RESET.

Fitting bins the (G before, dG) pairs of identical pulses over G ("equal-width" or "equal-count" bins) and
stores, for each bin, the empirical quantile function of dG on a uniform probability grid p_j = j/(n-1)
(linear interpolation between order statistics, numpy's default quantile). Sampling is inverse-CDF with
integer indexing: a uniform draw u picks grid cell floor(u (n-1)) of the device's bin and interpolates in
it, for whole arrays of devices at once.

Bins with fewer than ``min_count`` pairs are *filled*: their quantile rows are interpolated (in bin centre)
from the nearest well-populated bins on each side, or copied from the nearest one at the ends of the
range, and flagged in ``filled``; never left at zero. A table set holds several tables on the same bins
(axis 0): one for the whole population, one per device, or one per cluster of devices with similar
responses, so device-to-device spread survives into simulations (CrossSim's per-device tables).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from scipy import stats
from sqlalchemy import Engine

from labrram.analysis.document import decode_array, encode_array, read_document, write_document
from labrram.analysis.responses import PulseResponses
from labrram.analysis.sources import pulse_response_data
from labrram.db.queries import Selection
from labrram.errors import AnalysisError

KINDS = ("SET", "RESET")
BINNINGS = ("equal-width", "equal-count")
GROUPINGS = ("population", "device", "clusters")
FORMAT = "labrram-jump-table"
FORMAT_VERSION = 1
CROSSSIM_TITLE = (
    "1st Row = Gbins, 2nd Row = CDF Points, 3rd row onward = dG matrix (rows= CDF, columns = Gbins)"
)
SIGMA_PROBABILITIES = (stats.norm.cdf(-1.0), 0.5, stats.norm.cdf(1.0))


class _Pairs(NamedTuple):
    """The (G before, dG) pairs of one pulse kind that go into a table, and their pulse condition."""

    g_before_s: np.ndarray
    delta_s: np.ndarray
    device_id: np.ndarray
    condition: dict[str, Any]

    def where(self, mask: np.ndarray) -> _Pairs:
        return _Pairs(self.g_before_s[mask], self.delta_s[mask], self.device_id[mask], self.condition)


@dataclass(frozen=True, eq=False)
class ResponseTable:
    """The quantiles of dG for one pulse kind: ``quantiles_s[table, bin, j]`` at probability j/(n-1)."""

    kind: str
    edges_s: np.ndarray  # (bins + 1,) increasing
    quantiles_s: np.ndarray  # (tables, bins, grid)
    counts: np.ndarray  # (tables, bins): pairs behind each bin
    filled: np.ndarray  # (tables, bins): rows interpolated from neighbouring bins
    condition: dict[str, Any] = field(default_factory=dict)  # amplitude_v, width_s (or "pooled")

    def __post_init__(self) -> None:
        edges = self.edges_s
        widths = np.diff(edges)
        if widths.size < 1 or not np.all(widths > 0):
            raise AnalysisError("jump-table bin edges must increase")
        # Equal-width bins are found by arithmetic, others by binary search.
        uniform = bool(np.allclose(widths, widths[0], rtol=1e-9, atol=0))
        object.__setattr__(self, "_uniform", uniform)

    @property
    def bins(self) -> int:
        return self.edges_s.size - 1

    @property
    def grid(self) -> int:
        return self.quantiles_s.shape[2]

    @property
    def tables(self) -> int:
        return self.quantiles_s.shape[0]

    @property
    def centers_s(self) -> np.ndarray:
        return 0.5 * (self.edges_s[:-1] + self.edges_s[1:])

    @property
    def probabilities(self) -> np.ndarray:
        return np.linspace(0.0, 1.0, self.grid)

    def bin_of(self, g_s: np.ndarray) -> np.ndarray:
        """The bin of each conductance; below the first edge bin 0, above the last the last bin."""
        g = np.asarray(g_s, dtype=float)
        if self._uniform:
            low, width = self.edges_s[0], self.edges_s[1] - self.edges_s[0]
            scaled = (g - low) * (1.0 / width)
            np.clip(scaled, 0.0, self.bins - 1, out=scaled)  # NaN stays NaN and casts to bin 0 below
            with np.errstate(invalid="ignore"):
                index = scaled.astype(np.intp)
            index[index < 0] = 0
            return index
        return np.searchsorted(self.edges_s[1:-1], g, side="right").astype(np.intp)

    def sample(
        self, g_s: np.ndarray, rng: np.random.Generator, tables: np.ndarray | int | None = None
    ) -> np.ndarray:
        """One dG per conductance (siemens), drawn by inverse CDF from its bin (and table).

        The arithmetic runs in place on a few arrays: for 10^7 devices it is memory-bound.
        """
        g = np.asarray(g_s, dtype=float)
        base = self.bin_of(g.ravel())
        if tables is not None:
            base += np.broadcast_to(np.asarray(tables), g.shape).ravel() * self.bins
        base *= self.grid
        position = rng.random(base.size)
        position *= self.grid - 1
        cell = position.astype(np.intp)
        np.minimum(cell, self.grid - 2, out=cell)
        position -= cell  # now the fraction of the way through the cell
        base += cell
        flat = self.quantiles_s.reshape(-1)
        drawn = flat[base]
        base += 1
        step = flat[base]
        step -= drawn
        step *= position
        step += drawn
        return step.reshape(g.shape)

    def quantile(self, probability: float, table: int = 0) -> np.ndarray:
        """dG at one probability for every bin of one table."""
        position = probability * (self.grid - 1)
        cell = min(int(position), self.grid - 2)
        fraction = position - cell
        rows = self.quantiles_s[table]
        return rows[:, cell] + fraction * (rows[:, cell + 1] - rows[:, cell])

    def cdf(self, bin_index: int, values_s: np.ndarray, table: int = 0) -> np.ndarray:
        """P(dG <= value) in one bin, from its stored quantile function."""
        return np.interp(
            values_s, self.quantiles_s[table, bin_index], self.probabilities, left=0.0, right=1.0
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "edges_s": encode_array(self.edges_s),
            "quantiles_s": encode_array(self.quantiles_s),
            "counts": encode_array(self.counts),
            "filled": encode_array(self.filled),
            "condition": self.condition,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResponseTable:
        return cls(
            kind=data["kind"],
            edges_s=decode_array(data["edges_s"]),
            quantiles_s=decode_array(data["quantiles_s"]),
            counts=decode_array(data["counts"]),
            filled=decode_array(data["filled"]),
            condition=dict(data.get("condition", {})),
        )


@dataclass(frozen=True, eq=False)
class JumpTable:
    """SET and RESET response tables sharing a table axis, and the window samples are clipped to."""

    responses: dict[str, ResponseTable]
    window_s: tuple[float, float]
    table_labels: tuple[str, ...] = ("population",)
    table_weights: np.ndarray = field(default_factory=lambda: np.ones(1))
    binning: str = "equal-width"
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.responses:
            raise AnalysisError("a jump-table needs at least one pulse kind")
        sizes = {r.tables for r in self.responses.values()} | {len(self.table_labels)}
        if len(sizes) != 1 or np.size(self.table_weights) != len(self.table_labels):
            raise AnalysisError("every response table and the labels must have the same number of tables")
        if not self.window_s[0] < self.window_s[1]:
            raise AnalysisError(f"window {self.window_s} is empty")

    @property
    def tables(self) -> int:
        return len(self.table_labels)

    def assign_tables(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """A table for each of ``count`` simulated devices, drawn by weight (keep it for their lives)."""
        weights = np.asarray(self.table_weights, dtype=float)
        return rng.choice(self.tables, size=count, p=weights / weights.sum())

    def sample(
        self,
        g_s: np.ndarray,
        kind: str,
        rng: np.random.Generator,
        tables: np.ndarray | int | None = None,
    ) -> np.ndarray:
        """dG (siemens) of one ``kind`` pulse at each conductance; ``tables`` from `assign_tables`."""
        return self._response(kind).sample(g_s, rng, tables)

    def step(
        self,
        g_s: np.ndarray,
        kind: str,
        rng: np.random.Generator,
        tables: np.ndarray | int | None = None,
    ) -> np.ndarray:
        """The conductance after one pulse, kept inside the window (a device cannot leave it)."""
        g = np.asarray(g_s, dtype=float)
        return np.clip(g + self.sample(g, kind, rng, tables), *self.window_s)

    def curves(self, kind: str, table: int = 0) -> dict[str, np.ndarray]:
        """Bin centres with the median and the -1 sigma / +1 sigma quantiles of dG (seed 003 Fig. 7a)."""
        response = self._response(kind)
        low, median, high = (response.quantile(p, table) for p in SIGMA_PROBABILITIES)
        return {"g_s": response.centers_s, "median_s": median, "minus_sigma_s": low, "plus_sigma_s": high}

    def goodness_of_fit(self, responses: PulseResponses, kind: str) -> list[dict[str, float]]:
        """Per bin of the population table: KS statistic and p-value of the pairs against the stored CDF."""
        response = self._response(kind)
        selected = _select(responses, kind, response.condition)
        bins = response.bin_of(selected.g_before_s)
        rows = []
        for b in range(response.bins):
            values = selected.delta_s[bins == b]
            if values.size < 2:
                continue
            if response.tables == 1:
                cdf = lambda x, b=b: response.cdf(b, x)  # noqa: E731
            else:
                weights = np.asarray(self.table_weights, dtype=float) / np.sum(self.table_weights)
                cdf = lambda x, b=b, w=weights: sum(  # noqa: E731
                    w[t] * response.cdf(b, x, t) for t in range(response.tables)
                )
            result = stats.kstest(values, cdf)
            rows.append(
                {
                    "bin": b,
                    "g_s": float(response.centers_s[b]),
                    "pairs": int(values.size),
                    "ks_statistic": float(result.statistic),
                    "p_value": float(result.pvalue),
                    "filled": bool(response.filled[0, b]),
                }
            )
        return rows

    def _response(self, kind: str) -> ResponseTable:
        try:
            return self.responses[kind]
        except KeyError:
            raise AnalysisError(
                f"this jump-table has no {kind!r} table (it has {', '.join(self.responses)})"
            ) from None

    # -- files --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "responses": {kind: response.to_dict() for kind, response in self.responses.items()},
            "window_s": list(self.window_s),
            "table_labels": list(self.table_labels),
            "table_weights": encode_array(np.asarray(self.table_weights, dtype=float)),
            "binning": self.binning,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JumpTable:
        return cls(
            responses={kind: ResponseTable.from_dict(r) for kind, r in data["responses"].items()},
            window_s=(float(data["window_s"][0]), float(data["window_s"][1])),
            table_labels=tuple(data["table_labels"]),
            table_weights=decode_array(data["table_weights"]),
            binning=data["binning"],
            notes=tuple(data.get("notes", ())),
        )

    def save(self, path: str | Path) -> str:
        """Write a labrram jump-table file (JSON, see `labrram.analysis.document`); return its SHA-256."""
        return write_document(Path(path), FORMAT, FORMAT_VERSION, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> JumpTable:
        return cls.from_dict(read_document(Path(path), FORMAT, FORMAT_VERSION))

    # -- fitting ------------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        responses: PulseResponses,
        bins: int = 50,
        binning: str = "equal-width",
        grid: int = 101,
        min_count: int = 10,
        grouping: str = "population",
        clusters: int = 4,
        pool_conditions: bool = False,
        window_s: tuple[float, float] | None = None,
        seed: int = 0,
    ) -> JumpTable:
        """Fit SET and RESET tables from pulse responses.

        Only identical pulses belong in one table: unless ``pool_conditions``, each kind keeps the pulses
        of its most frequent (amplitude, width), and says so in its ``condition``. ``grouping`` is
        "population" (one table), "device" (one per device with enough pairs) or "clusters" (k-means on
        the devices' median responses, one table per cluster).
        """
        _check_fit_arguments(bins, binning, grid, min_count, grouping, clusters)
        kinds = [k for k in KINDS if np.any(responses.kind == k)]
        if not kinds:
            raise AnalysisError("no SET or RESET pulse has a read before and after it in the selection")
        selected = {k: _select(responses, k, None if pool_conditions else "most-common") for k in kinds}
        notes = []
        for k in kinds:
            condition = selected[k].condition
            found = len(responses.conditions(k))
            if not pool_conditions and found > 1:
                notes.append(
                    f"{k}: {found} pulse conditions in the data; kept the commonest "
                    f"({condition['amplitude_v']:g} V, {condition['width_s']:g} s, "
                    f"{condition['pulses']} pulses)"
                )
        edges = {k: _edges(selected[k].g_before_s, bins, binning, window_s) for k in kinds}
        groups, labels, weights = _groups(selected, edges, grid, min_count, grouping, clusters, seed, notes)
        tables = {}
        for k in kinds:
            quantiles, counts = _quantile_rows(selected[k], edges[k], groups[k], len(labels), grid)
            filled_quantiles, filled = _fill(quantiles, counts, edges[k], min_count)
            tables[k] = ResponseTable(k, edges[k], filled_quantiles, counts, filled, selected[k].condition)
            thin = int(filled[0].sum()) if len(labels) == 1 else int(filled.sum())
            if thin:
                notes.append(f"{k}: {thin} bins had fewer than {min_count} pairs and were interpolated")
        if window_s is None:
            all_g = np.concatenate([selected[k].g_before_s + selected[k].delta_s for k in kinds])
            low, high = float(np.min(all_g)), float(np.max(all_g))
            span = 0.0 if high > low else max(abs(low) * 1e-6, 1e-15)  # one conductance: a sliver around it
            window_s = (low - span, high + span)
        return cls(tables, window_s, tuple(labels), np.asarray(weights, dtype=float), binning, tuple(notes))

    @classmethod
    def from_database(
        cls, engine: Engine, selection: Selection | None = None, cache: bool | Path = True, **options: Any
    ) -> JumpTable:
        """Fit from the pulse-train runs of a database selection (``options`` as for `fit`)."""
        sourced = pulse_response_data(engine, selection or Selection(), cache)
        if len(sourced.data) == 0:
            raise AnalysisError("no pulse with a read before and after it in the selected pulse-train runs")
        table = cls.fit(sourced.data, **options)
        runs = ", ".join(map(str, sourced.runs))
        return replace(table, notes=(*table.notes, f"fitted from {sourced.records} pulses of runs {runs}"))

    # -- CrossSim lookup tables -----------------------------------------------------------------
    @classmethod
    def from_crosssim(cls, folders: list[Path] | Path, grid: int = 101) -> JumpTable:
        """Read CrossSim lookup tables (``dG_increasing`` / ``dG_decreasing``), one table per folder.

        CrossSim stores, per G bin centre, dG at given CDF points (not always uniform): each column is
        resampled onto a uniform grid of ``grid`` probabilities by linear interpolation, and the tables of
        all folders onto common G bins.
        """
        folders = [Path(folders)] if isinstance(folders, str | Path) else [Path(f) for f in folders]
        parsed = {"SET": [], "RESET": []}
        for folder in folders:
            parsed["SET"].append(read_crosssim_table(crosssim_file(folder, "increasing")))
            parsed["RESET"].append(read_crosssim_table(crosssim_file(folder, "decreasing")))
        responses = {}
        low, high = np.inf, -np.inf
        uniform = np.linspace(0.0, 1.0, grid)
        for kind, tables in parsed.items():
            # Devices have G bins of their own: every table goes onto common equal-width bins spanning all
            # of them; a device's rows beyond its own range repeat its end rows and are marked filled.
            lowest = min(_edges_from_centers(centers)[0] for centers, _, _ in tables)
            highest = max(_edges_from_centers(centers)[-1] for centers, _, _ in tables)
            edges = np.linspace(lowest, highest, max(centers.size for centers, _, _ in tables) + 1)
            common = 0.5 * (edges[:-1] + edges[1:])
            quantiles, filled = [], []
            for centers, cdf, matrix in tables:
                own = np.stack([np.interp(uniform, cdf, matrix[:, b]) for b in range(centers.size)])
                quantiles.append(
                    np.stack([np.interp(common, centers, own[:, j]) for j in range(grid)], axis=1)
                )
                own_edges = _edges_from_centers(centers)
                filled.append((common < own_edges[0]) | (common > own_edges[-1]))
            shape = (len(tables), common.size)
            responses[kind] = ResponseTable(
                kind,
                edges,
                np.stack(quantiles),
                np.zeros(shape, dtype=np.int64),
                np.stack(filled),
                {"source": "CrossSim lookup table"},
            )
            low, high = min(low, edges[0]), max(high, edges[-1])
        labels = tuple(folder.name for folder in folders)
        notes = (f"imported from CrossSim lookup tables: {', '.join(str(f) for f in folders)}",)
        return cls(responses, (float(low), float(high)), labels, np.ones(len(labels)), "equal-width", notes)

    def to_crosssim(self, folder: Path, table: int = 0) -> list[Path]:
        """Write one table in CrossSim's layout (title, G bins, CDF points, dG matrix), comma separated."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for kind, name in (("SET", "increasing"), ("RESET", "decreasing")):
            if kind not in self.responses:
                continue
            response = self.responses[kind]
            path = folder / f"dG_{name}.csv"
            lines = [
                CROSSSIM_TITLE,
                ",".join(repr(float(v)) for v in response.centers_s),
                ",".join(repr(float(v)) for v in response.probabilities),
            ]
            lines += [",".join(repr(float(v)) for v in row) for row in response.quantiles_s[table].T]
            path.write_text("\n".join(lines) + "\n")
            written.append(path)
        return written


def _check_fit_arguments(
    bins: int, binning: str, grid: int, min_count: int, grouping: str, clusters: int
) -> None:
    if not isinstance(bins, int) or bins < 1:
        raise AnalysisError(f"bins must be an integer >= 1, got {bins!r}")
    if binning not in BINNINGS:
        raise AnalysisError(f"binning must be one of {', '.join(BINNINGS)}, got {binning!r}")
    if not isinstance(grid, int) or grid < 2:
        raise AnalysisError(f"the probability grid needs at least 2 points, got {grid!r}")
    if not isinstance(min_count, int) or min_count < 1:
        raise AnalysisError(f"min_count must be an integer >= 1, got {min_count!r}")
    if grouping not in GROUPINGS:
        raise AnalysisError(f"grouping must be one of {', '.join(GROUPINGS)}, got {grouping!r}")
    if grouping == "clusters" and (not isinstance(clusters, int) or clusters < 1):
        raise AnalysisError(f"clusters must be an integer >= 1, got {clusters!r}")


def _select(responses: PulseResponses, kind: str, condition: str | dict | None) -> _Pairs:
    """The pairs of one kind: of its most frequent pulse, of a stored condition, or all (None)."""
    if condition == "most-common":
        amplitude_v, width_s, count = responses.conditions(kind)[0]
        mask = responses.condition_mask(kind, amplitude_v, width_s)
        described = {"amplitude_v": amplitude_v, "width_s": width_s, "pulses": count}
    elif isinstance(condition, dict) and "amplitude_v" in condition:
        mask = responses.condition_mask(kind, condition["amplitude_v"], condition["width_s"])
        described = dict(condition)
    else:
        mask = np.asarray(responses.kind == kind)
        found = responses.conditions(kind)
        described = {"pulses": sum(c for _, _, c in found)}
        if len(found) == 1:
            described |= {"amplitude_v": found[0][0], "width_s": found[0][1]}
        else:
            amplitudes = [a for a, _, _ in found]
            described |= {"pooled": True, "amplitudes_v": [min(amplitudes), max(amplitudes)]}
    pairs = _Pairs(responses.g_before_s[mask], responses.delta_s[mask], responses.device_id[mask], described)
    if not np.all(np.isfinite(pairs.g_before_s)) or not np.all(np.isfinite(pairs.delta_s)):
        raise AnalysisError(f"{kind} pairs hold NaN or infinite conductances; the reads behind them are bad")
    return pairs


def _edges(g_s: np.ndarray, bins: int, binning: str, window_s: tuple[float, float] | None) -> np.ndarray:
    low, high = (float(np.min(g_s)), float(np.max(g_s))) if window_s is None else window_s
    if binning == "equal-count" and window_s is None:
        edges = np.unique(np.quantile(g_s, np.linspace(0.0, 1.0, bins + 1)))
    else:
        edges = np.linspace(low, high, bins + 1)
    if edges.size < 2 or edges[-1] <= edges[0]:
        # All pairs at one conductance: one bin around it.
        span = max(abs(low) * 1e-6, 1e-15)
        edges = np.array([low - span, high + span])
    return edges


def _groups(
    selected: dict[str, _Pairs],
    edges: dict[str, np.ndarray],
    grid: int,
    min_count: int,
    grouping: str,
    clusters: int,
    seed: int,
    notes: list[str],
) -> tuple[dict[str, np.ndarray], list[str], list[float]]:
    """The table index of every pair, per kind, with the tables' labels and weights."""
    if grouping == "population":
        return (
            {k: np.zeros(s.g_before_s.size, dtype=np.intp) for k, s in selected.items()},
            ["population"],
            [1.0],
        )
    # Devices with enough pairs of every kind to say something of their own.
    kinds = list(selected)
    per_kind = [np.unique(selected[k].device_id, return_counts=True) for k in kinds]
    enough = set(per_kind[0][0][per_kind[0][1] >= min_count].tolist())
    for ids, counts in per_kind[1:]:
        enough &= set(ids[counts >= min_count].tolist())
    devices = np.array(sorted(enough), dtype=np.int64)
    if devices.size == 0:
        raise AnalysisError(
            f"no device has {min_count} or more pairs of every pulse kind: fit the population"
        )
    dropped = len(set(np.concatenate([s.device_id for s in selected.values()]).tolist())) - devices.size
    if dropped:
        notes.append(
            f"{dropped} devices with fewer than {min_count} pairs of a kind have no table of their own"
        )
    if grouping == "device" or devices.size <= clusters:
        membership = {int(d): i for i, d in enumerate(devices)}
        labels = [f"device {int(d)}" for d in devices]
        weights = [1.0] * devices.size
    else:
        features = []
        for k in kinds:
            lookup = {int(d): i for i, d in enumerate(devices)}
            own = np.array([lookup.get(int(d), -1) for d in selected[k].device_id])
            keep = own >= 0
            quantiles, counts = _quantile_rows(
                selected[k].where(keep), edges[k], own[keep], devices.size, grid
            )
            rows, _ = _fill(quantiles, counts, edges[k], max(1, min_count // 4))
            median = rows[:, :, grid // 2]
            features.append(median / (np.std(median) or 1.0))
        from sklearn.cluster import KMeans

        found = KMeans(n_clusters=clusters, n_init=10, random_state=seed).fit_predict(np.hstack(features))
        membership = {int(d): int(c) for d, c in zip(devices, found, strict=True)}
        labels = [f"cluster {c}" for c in range(clusters)]
        weights = [float(np.sum(found == c)) for c in range(clusters)]
        notes.append(
            f"{devices.size} devices in {clusters} clusters of {', '.join(f'{w:.0f}' for w in weights)}"
        )
    groups = {}
    for k, s in selected.items():
        groups[k] = np.array([membership.get(int(d), -1) for d in s.device_id], dtype=np.intp)
    return groups, labels, weights


def _quantile_rows(
    selected: _Pairs, edges: np.ndarray, groups: np.ndarray, tables: int, grid: int
) -> tuple[np.ndarray, np.ndarray]:
    """Quantiles of dG per (table, bin) on the grid, and the pair counts; empty cells are NaN."""
    bins = edges.size - 1
    probe = ResponseTable(
        "probe", edges, np.zeros((1, bins, 2)), np.zeros((1, bins)), np.zeros((1, bins), bool)
    )
    bin_index = probe.bin_of(selected.g_before_s)
    keep = groups >= 0
    code = groups[keep].astype(np.int64) * bins + bin_index[keep]
    delta = selected.delta_s[keep]
    cells = tables * bins
    counts = np.bincount(code, minlength=cells)
    # Group the pairs by cell with one stable sort (radix on small codes), then sort each cell's dG.
    small = np.int16 if cells < 2**15 else np.int64
    ordered = delta[np.argsort(code.astype(small), kind="stable")]
    starts = np.concatenate([[0], np.cumsum(counts)])
    occupied = np.flatnonzero(counts)

    def sort_cell(cell: int) -> None:
        ordered[starts[cell] : starts[cell + 1]].sort()

    if occupied.size > 1 and delta.size > 100_000:
        with ThreadPoolExecutor(max_workers=4) as pool:  # numpy sorts release the GIL
            list(pool.map(sort_cell, occupied))
    else:
        for cell in occupied:
            sort_cell(cell)
    quantiles = np.full((cells, grid), np.nan)
    if occupied.size:
        n = counts[occupied]
        position = np.linspace(0.0, 1.0, grid)[None, :] * (n[:, None] - 1)
        lower = np.floor(position).astype(np.int64)
        upper = np.minimum(lower + 1, n[:, None] - 1)
        fraction = position - lower
        first = starts[occupied][:, None]
        low_values = ordered[first + lower]
        quantiles[occupied] = low_values + fraction * (ordered[first + upper] - low_values)
    return quantiles.reshape(tables, bins, grid), counts.reshape(tables, bins)


def _fill(
    quantiles: np.ndarray, counts: np.ndarray, edges: np.ndarray, min_count: int
) -> tuple[np.ndarray, np.ndarray]:
    """Replace the rows of thin bins by interpolation between the nearest good bins of the same table."""
    centers = 0.5 * (edges[:-1] + edges[1:])
    result = quantiles.copy()
    filled = counts < min_count
    for t in range(quantiles.shape[0]):
        good = np.flatnonzero(~filled[t])
        if good.size == 0:
            good = np.flatnonzero(counts[t] > 0)
            if good.size == 0:
                raise AnalysisError(f"table {t} has no pairs at all")
            filled[t] = counts[t] == 0
        thin = np.flatnonzero(filled[t])
        for j in range(quantiles.shape[2]):
            result[t, thin, j] = np.interp(centers[thin], centers[good], quantiles[t, good, j])
    return result, filled


def crosssim_file(folder: Path, name: str) -> Path:
    for suffix in (".csv", ".txt"):
        path = folder / f"dG_{name}{suffix}"
        if path.exists():
            return path
    raise AnalysisError(f"{folder}: no dG_{name}.csv or dG_{name}.txt CrossSim lookup table")


def read_crosssim_table(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """G bin centres, CDF points and the dG matrix (rows = CDF points, columns = G bins) of one file."""
    text = path.read_text().splitlines()
    numbers = np.array([float(v) for line in text[1:] for v in line.replace(",", " ").split()])
    # The G bins are positive and increasing; the CDF points start at 0 and end at 1.
    starts = np.flatnonzero(numbers == 0.0)
    if starts.size == 0:
        raise AnalysisError(f"{path}: no CDF points starting at 0 after the G bins")
    n_g = int(starts[0])
    ends = np.flatnonzero(numbers[n_g:] == 1.0)
    if n_g < 1 or ends.size == 0:
        raise AnalysisError(f"{path}: cannot find the G bins and CDF points of a CrossSim lookup table")
    n_cdf = int(ends[0]) + 1
    matrix = numbers[n_g + n_cdf :]
    if matrix.size != n_g * n_cdf:
        raise AnalysisError(
            f"{path}: {matrix.size} dG values for {n_g} G bins x {n_cdf} CDF points ({n_g * n_cdf} expected)"
        )
    return numbers[:n_g], numbers[n_g : n_g + n_cdf], matrix.reshape(n_cdf, n_g)


def _edges_from_centers(centers: np.ndarray) -> np.ndarray:
    if centers.size == 1:
        return np.array([centers[0] * (1 - 1e-6), centers[0] * (1 + 1e-6)])
    middle = 0.5 * (centers[:-1] + centers[1:])
    return np.concatenate(
        [[centers[0] - (middle[0] - centers[0])], middle, [centers[-1] + (centers[-1] - middle[-1])]]
    )
