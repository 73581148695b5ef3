"""Disturbance by programming order (seed 002, Fig. 3): dG of a programmed device vs the number N of
devices programmed after it on the same array.

Values come from array-programming runs ("disturbance" results); devices whose own tuning failed or that
are stuck are left out, and so are changes beyond ``max_abs_s`` (seed 002 keeps |dG| <= 60 uS: larger
ones are failures, not disturbance). Each N is one sub-database. An N with fewer than ``min_count``
values is pooled with the following N until the group has enough (a trailing thin group joins the one
before it); the pooling is recorded. Each group's distribution is chosen as `ChosenDistribution` does:
normal when Shapiro-Wilk accepts it, the raw values resampled when it rejects (as seed 002 found for
most N). The last device programmed (N = 0) is not disturbed; an N beyond the data takes the largest
group's distribution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from labrram.analysis.sampling import ChosenDistribution, DistributionSet
from labrram.errors import AnalysisError

SEED_002_MAX_ABS_S = 60e-6


@dataclass(frozen=True, eq=False)
class DisturbanceByOrder:
    """A distribution of dG for each group of N (devices programmed after), N = 1 .. n_max."""

    group_ranges: tuple[tuple[int, int], ...]  # (first N, last N) of each group
    distributions: tuple[ChosenDistribution, ...]
    max_abs_s: float
    excluded: int

    def __post_init__(self) -> None:
        if len(self.group_ranges) != len(self.distributions) or not self.distributions:
            raise AnalysisError("every N group needs a distribution")
        n_max = self.group_ranges[-1][1]
        lookup = np.full(n_max + 1, -1, dtype=np.intp)
        for group, (first, last) in enumerate(self.group_ranges):
            lookup[first : last + 1] = group
        object.__setattr__(self, "_group_of_n", lookup)
        object.__setattr__(self, "_set", DistributionSet(list(self.distributions)))

    @property
    def n_max(self) -> int:
        return self.group_ranges[-1][1]

    def group_of(self, n_after: np.ndarray) -> np.ndarray:
        """Group index of each N (-1 for N = 0: no disturbance)."""
        n = np.asarray(n_after, dtype=np.intp)
        if np.any(n < 0):
            raise AnalysisError("a number of devices programmed afterwards cannot be negative")
        return self._group_of_n[np.minimum(n, self.n_max)]

    def sample(self, n_after: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One dG (siemens) per entry of ``n_after``; 0 where nothing was programmed afterwards."""
        groups = self.group_of(n_after)
        drawn = self._set.sample(np.maximum(groups, 0), rng)
        return np.where(groups >= 0, drawn, 0.0)

    def sample_transfers(self, n_after: np.ndarray, transfers: int, rng: np.random.Generator) -> np.ndarray:
        """dG of each device in each of ``transfers`` transfers: (transfers, *n_after.shape).

        Groups are looked up once per device, not once per draw; devices of normal groups cost one
        normal draw each.
        """
        n_after = np.asarray(n_after)
        groups = self.group_of(n_after)
        result = np.zeros((transfers, *n_after.shape))
        distributions = self._set
        disturbed = groups >= 0
        normal = disturbed & distributions.is_normal(np.maximum(groups, 0))
        if normal.any():
            means, sds = distributions.moments(groups[normal])
            result[:, normal] = means + sds * rng.standard_normal((transfers, int(normal.sum())))
        other = disturbed & ~normal
        if other.any():
            result[:, other] = self._set.sample(
                np.broadcast_to(groups[other], (transfers, int(other.sum()))), rng
            )
        return result

    def table(self) -> list[dict[str, Any]]:
        """One row per group: N range, values, mean, sd, 5th/95th percentiles, the chosen form."""
        rows = []
        for (first, last), d in zip(self.group_ranges, self.distributions, strict=True):
            rows.append(
                {
                    "n_first": first,
                    "n_last": last,
                    "values": d.count,
                    "mean_s": d.mean,
                    "sd_s": d.sd,
                    "p5_s": float(np.percentile(d.values, 5)),
                    "p95_s": float(np.percentile(d.values, 95)),
                    "shapiro_p": d.shapiro_p,
                    "form": d.form,
                }
            )
        return rows

    @classmethod
    def fit(
        cls,
        n_after: np.ndarray,
        delta_s: np.ndarray,
        max_abs_s: float | None = SEED_002_MAX_ABS_S,
        min_count: int = 20,
        alpha: float = 0.05,
    ) -> DisturbanceByOrder:
        """Fit from (N, dG) pairs of devices whose own tuning succeeded."""
        n = np.asarray(n_after)
        delta = np.asarray(delta_s, dtype=float)
        if n.shape != delta.shape:
            raise AnalysisError("N and dG differ in length")
        if not np.all(np.isfinite(delta)):
            raise AnalysisError(f"{int(np.sum(~np.isfinite(delta)))} disturbance values are NaN or infinite")
        if np.any(n != np.round(n)) or np.any(n < 0):
            raise AnalysisError("N must be whole numbers >= 0")
        n = n.astype(np.intp)
        keep = n > 0
        excluded = 0
        if max_abs_s is not None:
            large = keep & (np.abs(delta) > max_abs_s)
            excluded = int(large.sum())
            keep &= ~large
        n, delta = n[keep], delta[keep]
        if n.size == 0:
            raise AnalysisError("no disturbance values with N >= 1 in the selection")
        ranges = _pooled_ranges(np.bincount(n), min_count)
        distributions = tuple(
            ChosenDistribution.choose(delta[(n >= first) & (n <= last)], alpha=alpha)
            for first, last in ranges
        )
        return cls(tuple(ranges), distributions, float(max_abs_s or np.inf), excluded)

    def to_dict(self) -> dict[str, Any]:
        return {
            "group_ranges": [list(r) for r in self.group_ranges],
            "distributions": [d.to_dict() for d in self.distributions],
            "max_abs_s": self.max_abs_s if np.isfinite(self.max_abs_s) else None,
            "excluded": self.excluded,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DisturbanceByOrder:
        return cls(
            tuple((int(a), int(b)) for a, b in data["group_ranges"]),
            tuple(ChosenDistribution.from_dict(d) for d in data["distributions"]),
            float(data["max_abs_s"]) if data["max_abs_s"] is not None else np.inf,
            int(data["excluded"]),
        )


def _pooled_ranges(counts: np.ndarray, min_count: int) -> list[tuple[int, int]]:
    """Consecutive N (from 1) grouped until each group holds ``min_count`` values."""
    ranges: list[tuple[int, int]] = []
    start, held = None, 0
    for n in range(1, counts.size):
        if start is None:
            start, held = n, 0
        held += counts[n]
        if held >= min_count:
            ranges.append((start, n))
            start = None
    if start is not None:
        if ranges and held < min_count:
            ranges[-1] = (ranges[-1][0], counts.size - 1)
        else:
            ranges.append((start, counts.size - 1))
    return ranges
