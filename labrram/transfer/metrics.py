"""What a transfer simulation reports: the accuracy distribution and seed 002's consistency table.

The consistency of a test point is the share of simulated transfers that classify it correctly; the
table counts test points by bands of consistency (seed 002, Supplementary Note 3): 100%, 95-100%,
90-95%, 80-90%, 70-80%, 60-70%, 50-60%, below 50%. Its headline is the share of points classified
correctly in at least 95% (and 90%) of the transfers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

BANDS = ((100, 100), (95, 100), (90, 95), (80, 90), (70, 80), (60, 70), (50, 60), (0, 50))
PERCENTILES = (2.5, 5, 25, 50, 75, 95, 97.5)


def band_label(low: int, high: int) -> str:
    if low == high:
        return f"{high}"
    if low == 0:
        return f"x < {high}"
    return f"{low} <= x < {high}"


def consistency_table(correct: np.ndarray) -> list[dict[str, Any]]:
    """Test points per band of the share of transfers that classify them correctly (x in %)."""
    share = 100.0 * np.asarray(correct, dtype=float).mean(axis=0)
    total = share.size
    rows = []
    for low, high in BANDS:
        inside = share == 100.0 if low == high else (share >= low) & (share < high)
        count = int(inside.sum())
        rows.append({"band": band_label(low, high), "points": count, "share": count / total})
    return rows


def consistent_share(correct: np.ndarray, threshold: float) -> float:
    """Share of test points classified correctly in at least ``threshold`` (0-1) of the transfers."""
    share = np.asarray(correct, dtype=float).mean(axis=0)
    return float(np.mean(share >= threshold - 1e-12))


@dataclass(frozen=True)
class AccuracySummary:
    """Accuracy over transfers (fractions), with the software baseline and the consistency figures."""

    software: float
    mean: float
    sd: float
    percentiles: dict[str, float]
    at_least_95: float
    at_least_90: float
    table: list[dict[str, Any]]
    transfers: int

    @classmethod
    def of(cls, correct: np.ndarray, software: float) -> AccuracySummary:
        accuracy = np.asarray(correct, dtype=float).mean(axis=1)
        return cls(
            software=float(software),
            mean=float(accuracy.mean()),
            sd=float(accuracy.std()),
            percentiles={f"p{p:g}": float(np.percentile(accuracy, p)) for p in PERCENTILES},
            at_least_95=consistent_share(correct, 0.95),
            at_least_90=consistent_share(correct, 0.90),
            table=consistency_table(correct),
            transfers=int(accuracy.size),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "software_accuracy": self.software,
            "mean_accuracy": self.mean,
            "sd_accuracy": self.sd,
            "percentiles": self.percentiles,
            "consistent_95": self.at_least_95,
            "consistent_90": self.at_least_90,
            "consistency_table": self.table,
            "transfers": self.transfers,
        }
