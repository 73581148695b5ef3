"""Tuning imprecision and offset vs level (seed 002, Fig. 2c-d).

Each tuning that reached its band gives a relative error e = achieved / target - 1. Grouped by target
level, the spread of e is fitted as sigma_rel(G) = slope * G + intercept (seed 002's sigma%(G) = a G + b,
here as a fraction, not a percentage) and its mean, the offset, as offset_rel(G) = slope * G + intercept;
both by weighted least squares (weights: devices per level, the inverse variance of a level's mean up to
a factor). A transfer then draws achieved = target * (1 + offset_rel(G) + sigma_rel(G) z).

Targets fall into levels by value when there are at most ``max_levels`` distinct ones (seed 002 tunes to
eight), otherwise into ``levels`` equal-width bins over the targets' range. Where the fitted sigma would
turn negative inside the fitted range the model form cannot represent the data: that is flagged, and
sigma is floored at the smallest measured level sigma rather than silently clipped at zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labrram.analysis.document import decode_array, encode_array
from labrram.analysis.fitting import LineFit, fit_line
from labrram.errors import AnalysisError


@dataclass(frozen=True, eq=False)
class TuningImprecision:
    """Relative spread and offset of tuned conductances vs target, fitted per level."""

    levels_s: np.ndarray
    counts: np.ndarray
    sd_rel: np.ndarray
    mean_rel: np.ndarray
    spread: LineFit  # sigma_rel(G)
    offset: LineFit  # mean relative error vs G
    floor_rel: float
    tunings: int
    failures: int
    flags: tuple[str, ...] = field(default=())

    def sigma_rel(self, g_s: np.ndarray | float) -> np.ndarray:
        """Relative sd of the achieved conductance for a target G (floored, see the module doc)."""
        return np.maximum(self.spread(g_s), self.floor_rel)

    def offset_rel(self, g_s: np.ndarray | float) -> np.ndarray:
        """Mean relative offset of the achieved conductance from a target G."""
        return self.offset(g_s)

    def moments(self, target_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and sd (siemens) of the conductance achieved for each target."""
        target = np.asarray(target_s, dtype=float)
        return target * (1.0 + self.offset_rel(target)), target * self.sigma_rel(target)

    def sample(self, target_s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Achieved conductances for targets: target * (1 + offset_rel + sigma_rel * z)."""
        mean, sd = self.moments(target_s)
        return mean + sd * rng.standard_normal(mean.shape)

    @classmethod
    def fit(
        cls,
        target_s: np.ndarray,
        achieved_s: np.ndarray,
        success: np.ndarray | None = None,
        levels: int = 8,
        max_levels: int = 20,
        min_count: int = 3,
    ) -> TuningImprecision:
        """Fit from tuning results; failed tunings are counted, not fitted (they are stuck or lost)."""
        target = np.asarray(target_s, dtype=float)
        achieved = np.asarray(achieved_s, dtype=float)
        ok = np.ones(target.shape, dtype=bool) if success is None else np.asarray(success, dtype=bool)
        if target.shape != achieved.shape or target.shape != ok.shape:
            raise AnalysisError("targets, achieved conductances and success flags differ in length")
        bad = ~(np.isfinite(target) & np.isfinite(achieved))
        if np.any(bad & ok):
            raise AnalysisError(
                f"{int(np.sum(bad & ok))} successful tunings have NaN target or achieved value"
            )
        target, achieved, failures = target[ok], achieved[ok], int(np.sum(~ok))
        if target.size < min_count:
            raise AnalysisError(f"{target.size} successful tunings: at least {min_count} are needed")
        error = achieved / target - 1.0
        level_of, centers = _levels(target, levels, max_levels)
        rows = []
        for k, center in enumerate(centers):
            values = error[level_of == k]
            if values.size >= min_count:
                rows.append((center, values.size, np.std(values, ddof=1), np.mean(values)))
        if not rows:
            raise AnalysisError(f"no target level has {min_count} or more successful tunings")
        levels_s, counts, sd_rel, mean_rel = (np.array(column) for column in zip(*rows, strict=True))
        spread = fit_line(levels_s, sd_rel, counts)
        offset = fit_line(levels_s, mean_rel, counts)
        flags = []
        if levels_s.size < 3:
            flags.append(f"only {levels_s.size} levels: the G-dependence of the spread is barely constrained")
        floor_rel = float(np.min(sd_rel))
        ends = spread(np.array([levels_s.min(), levels_s.max()]))
        if np.any(ends <= 0):
            flags.append(
                "the fitted spread turns non-positive inside the measured range; floored at the smallest "
                f"level spread {floor_rel:.3g}: a line in G does not represent these data"
            )
        return cls(
            levels_s,
            counts,
            sd_rel,
            mean_rel,
            spread,
            offset,
            floor_rel,
            int(target.size),
            failures,
            tuple(flags),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "levels_s": encode_array(self.levels_s),
            "counts": encode_array(self.counts),
            "sd_rel": encode_array(self.sd_rel),
            "mean_rel": encode_array(self.mean_rel),
            "spread": self.spread.to_dict(),
            "offset": self.offset.to_dict(),
            "floor_rel": self.floor_rel,
            "tunings": self.tunings,
            "failures": self.failures,
            "flags": list(self.flags),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TuningImprecision:
        return cls(
            decode_array(data["levels_s"]),
            decode_array(data["counts"]),
            decode_array(data["sd_rel"]),
            decode_array(data["mean_rel"]),
            LineFit.from_dict(data["spread"]),
            LineFit.from_dict(data["offset"]),
            float(data["floor_rel"]),
            int(data["tunings"]),
            int(data["failures"]),
            tuple(data["flags"]),
        )


def _levels(target: np.ndarray, levels: int, max_levels: int) -> tuple[np.ndarray, np.ndarray]:
    """Level index of every target and the level centres (mean target of each level)."""
    distinct, inverse = np.unique(target, return_inverse=True)
    if distinct.size <= max_levels:
        return inverse, distinct
    edges = np.linspace(target.min(), target.max(), levels + 1)
    index = np.clip(np.searchsorted(edges, target, side="right") - 1, 0, levels - 1)
    centers = np.array([target[index == k].mean() if np.any(index == k) else np.nan for k in range(levels)])
    return index, centers
