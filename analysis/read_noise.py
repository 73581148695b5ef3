"""Read noise vs conductance, from successive reads of a device with no pulse between them.

The difference of two reads of an unchanged device has variance 2 sigma^2(G) whatever the device's own
value, so per conductance bin sigma^2 = var(difference) / 2; a robust variance (1.4826 MAD, squared)
keeps an occasional relaxation jump between the reads from inflating it. The model is the simulator's:
sigma_G(G)^2 = (rel G)^2 + floor^2 (a proportional part and a floor from the current measurement),
fitted by non-negative least squares in G^2. Only pairs at most ``max_interval_s`` apart are used, so
that drift between the reads stays small; white noise is assumed (1/f noise would make the estimate
depend on that interval).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize

from labrram.analysis.document import decode_array, encode_array
from labrram.analysis.responses import ReadPairs
from labrram.errors import AnalysisError

MAD_TO_SD = 1.4826


@dataclass(frozen=True, eq=False)
class ReadNoise:
    """sigma_G(G) = sqrt((rel G)^2 + floor_s^2), with the per-bin estimates it was fitted to."""

    rel: float
    floor_s: float
    g_s: np.ndarray
    sd_s: np.ndarray
    pairs: np.ndarray
    max_interval_s: float

    def sd(self, g_s: np.ndarray | float) -> np.ndarray:
        g = np.asarray(g_s, dtype=float)
        return np.sqrt((self.rel * g) ** 2 + self.floor_s**2)

    def sample(self, g_s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Noisy reads of devices at conductances g_s."""
        g = np.asarray(g_s, dtype=float)
        return g + self.sd(g) * rng.standard_normal(g.shape)

    @classmethod
    def fit(
        cls, pairs: ReadPairs, bins: int = 10, max_interval_s: float = 1.0, min_count: int = 10
    ) -> ReadNoise:
        """Fit from read pairs; bins are equal-count over the pairs' mean conductance."""
        keep = (pairs.interval_s >= 0) & (pairs.interval_s <= max_interval_s)
        first, second = pairs.first_s[keep], pairs.second_s[keep]
        if first.size < min_count:
            raise AnalysisError(
                f"{first.size} pairs of successive reads at most {max_interval_s:g} s apart; "
                f"{min_count} are needed for read noise"
            )
        level = 0.5 * (first + second)
        difference = second - first
        edges = np.unique(np.quantile(level, np.linspace(0.0, 1.0, bins + 1)))
        index = np.clip(np.searchsorted(edges, level, side="right") - 1, 0, max(edges.size - 2, 0))
        rows = []
        for k in range(max(edges.size - 1, 1)):
            d = difference[index == k]
            if d.size >= min_count:
                robust = MAD_TO_SD * np.median(np.abs(d - np.median(d)))
                rows.append((np.mean(level[index == k]), robust / np.sqrt(2.0), d.size))
        if not rows:
            raise AnalysisError(f"no conductance bin holds {min_count} read pairs")
        g, sd, count = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
        # Weighted NNLS on the variance: var = rel^2 G^2 + floor^2, weights ~ n / var^2.
        weight = np.sqrt(count) / np.maximum(sd**2, 1e-40)
        design = np.stack([g**2, np.ones_like(g)], axis=1) * weight[:, None]
        (rel2, floor2), _ = optimize.nnls(design, sd**2 * weight)
        return cls(
            float(np.sqrt(rel2)), float(np.sqrt(floor2)), g, sd, count.astype(np.int64), max_interval_s
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "rel": self.rel,
            "floor_s": self.floor_s,
            "g_s": encode_array(self.g_s),
            "sd_s": encode_array(self.sd_s),
            "pairs": encode_array(self.pairs),
            "max_interval_s": self.max_interval_s,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReadNoise:
        return cls(
            float(data["rel"]),
            float(data["floor_s"]),
            decode_array(data["g_s"]),
            decode_array(data["sd_s"]),
            decode_array(data["pairs"]),
            float(data["max_interval_s"]),
        )
