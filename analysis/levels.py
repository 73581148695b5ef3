"""Multilevel level distributions (seed 000, Milo et al., Esmanhotto et al.) and their bit errors.

Each level's programmed conductances get a `ChosenDistribution`. Neighbouring levels k and k+1 are told
apart by a read threshold halfway between the top of bin k and the bottom of bin k+1 (where the bins
are known; else halfway between the level means): the bit error of the pair is the share of level-k
devices read above it plus the share of level-(k+1) devices read below it, halved (equal priors), both
counted in the data and estimated from normal fits, Phi((t - mu_k)/sigma_k) style.

For binary and ternary weights on 2T2R cells (seed 001) a weight is read by comparing two devices, one
programmed to a low level and one to a high one: its bit error is P(G_high_device < G_low_device) =
Phi((mu_low - mu_high) / sqrt(sigma_low^2 + sigma_high^2)) (REFERENCE.md), also estimated by sampling.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from labrram.analysis.document import decode_array, encode_array
from labrram.analysis.sampling import ChosenDistribution, DistributionSet
from labrram.errors import AnalysisError


@dataclass(frozen=True, eq=False)
class MultilevelLevels:
    """Per level: target, bin (when known) and the distribution of programmed conductances."""

    targets_s: np.ndarray
    low_s: np.ndarray  # bin bottoms, NaN where unknown
    high_s: np.ndarray  # bin tops, NaN where unknown
    distributions: tuple[ChosenDistribution, ...]
    success_rate: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "_set", DistributionSet(list(self.distributions)))

    @property
    def count(self) -> int:
        return len(self.distributions)

    @property
    def means_s(self) -> np.ndarray:
        return np.array([d.mean for d in self.distributions])

    @property
    def sds_s(self) -> np.ndarray:
        return np.array([d.sd for d in self.distributions])

    def sample(self, levels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A programmed conductance for each level index."""
        levels = np.asarray(levels, dtype=np.intp)
        if np.any((levels < 0) | (levels >= self.count)):
            raise AnalysisError(f"level indices must lie in 0..{self.count - 1}")
        return self._set.sample(levels, rng)

    def nearest(self, conductance_s: np.ndarray) -> np.ndarray:
        """The index of the level whose mean is nearest each conductance (quantization)."""
        means = self.means_s
        order = np.argsort(means)
        sorted_means = means[order]
        mid = 0.5 * (sorted_means[:-1] + sorted_means[1:])
        return order[np.searchsorted(mid, np.asarray(conductance_s, dtype=float))]

    def thresholds_s(self) -> np.ndarray:
        """Read thresholds between neighbouring levels (ordered by mean)."""
        order = np.argsort(self.means_s)
        thresholds = []
        for a, b in itertools.pairwise(order):
            if np.isfinite(self.high_s[a]) and np.isfinite(self.low_s[b]):
                thresholds.append(0.5 * (self.high_s[a] + self.low_s[b]))
            else:
                thresholds.append(0.5 * (self.means_s[a] + self.means_s[b]))
        return np.array(thresholds)

    def bit_errors(self) -> list[dict[str, Any]]:
        """For each neighbouring pair: threshold, errors counted in the data, and the normal estimate."""
        order = np.argsort(self.means_s)
        rows = []
        for (a, b), threshold in zip(itertools.pairwise(order), self.thresholds_s(), strict=True):
            low, high = self.distributions[a], self.distributions[b]
            up = float(np.mean(low.values > threshold))
            down = float(np.mean(high.values < threshold))
            normal_up = (
                float(stats.norm.sf(threshold, low.mean, low.sd))
                if low.sd > 0
                else float(low.mean > threshold)
            )
            normal_down = (
                float(stats.norm.cdf(threshold, high.mean, high.sd))
                if high.sd > 0
                else float(high.mean < threshold)
            )
            rows.append(
                {
                    "lower_level": int(a),
                    "upper_level": int(b),
                    "threshold_s": float(threshold),
                    "measured_error": 0.5 * (up + down),
                    "normal_error": 0.5 * (normal_up + normal_down),
                }
            )
        return rows

    def pair_bit_error(self, low_level: int, high_level: int, rng: np.random.Generator | None = None) -> dict:
        """2T2R bit error: P(high-level device reads below low-level device), normal formula and sampled."""
        low, high = self.distributions[low_level], self.distributions[high_level]
        spread = np.hypot(low.sd, high.sd)
        formula = (
            float(stats.norm.cdf((low.mean - high.mean) / spread))
            if spread > 0
            else float(low.mean >= high.mean)
        )
        rng = rng or np.random.default_rng(0)
        draws = 200_000
        sampled = float(np.mean(high.sample(draws, rng) < low.sample(draws, rng)))
        return {"normal": formula, "sampled": sampled, "draws": draws}

    @classmethod
    def fit(
        cls,
        levels: np.ndarray,
        achieved_s: np.ndarray,
        target_s: np.ndarray | None = None,
        low_s: np.ndarray | None = None,
        high_s: np.ndarray | None = None,
        success: np.ndarray | None = None,
    ) -> MultilevelLevels:
        """From per-device level results: level index, achieved conductance, and the bin where known."""
        levels = np.asarray(levels)
        achieved = np.asarray(achieved_s, dtype=float)
        if levels.shape != achieved.shape:
            raise AnalysisError("levels and conductances differ in length")
        if not np.all(np.isfinite(achieved)):
            raise AnalysisError(f"{int(np.sum(~np.isfinite(achieved)))} programmed conductances are NaN")
        present = np.unique(levels)
        if present.size < 1:
            raise AnalysisError("no multilevel results in the selection")

        def per_level(values: np.ndarray | None, reduce) -> np.ndarray:
            if values is None:
                return np.full(present.size, np.nan)
            values = np.asarray(values, dtype=float)
            return np.array([reduce(values[levels == k]) for k in present])

        ok = np.ones(levels.shape) if success is None else np.asarray(success, dtype=float)
        return cls(
            targets_s=per_level(target_s, np.mean) if target_s is not None else per_level(achieved, np.mean),
            low_s=per_level(low_s, np.min),
            high_s=per_level(high_s, np.max),
            distributions=tuple(ChosenDistribution.choose(achieved[levels == k]) for k in present),
            success_rate=per_level(ok, np.mean),
        )

    def to_dict(self) -> dict[str, Any]:
        def finite(values: np.ndarray) -> list:
            return [float(v) if np.isfinite(v) else None for v in values]

        return {
            "targets_s": encode_array(self.targets_s),
            "low_s": finite(self.low_s),
            "high_s": finite(self.high_s),
            "distributions": [d.to_dict() for d in self.distributions],
            "success_rate": encode_array(self.success_rate),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MultilevelLevels:
        def floats(values: list) -> np.ndarray:
            return np.array([np.nan if v is None else v for v in values], dtype=float)

        return cls(
            decode_array(data["targets_s"]),
            floats(data["low_s"]),
            floats(data["high_s"]),
            tuple(ChosenDistribution.from_dict(d) for d in data["distributions"]),
            decode_array(data["success_rate"]),
        )
