"""Weighted straight-line fits with their covariance: the one regression every estimator here uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from labrram.errors import AnalysisError


@dataclass(frozen=True)
class LineFit:
    """y = intercept + slope * x, fitted by weighted least squares, with the parameters' covariance."""

    intercept: float
    slope: float
    covariance: tuple[tuple[float, float], tuple[float, float]]
    r_squared: float
    points: int

    @property
    def intercept_se(self) -> float:
        return float(np.sqrt(self.covariance[0][0]))

    @property
    def slope_se(self) -> float:
        return float(np.sqrt(self.covariance[1][1]))

    def __call__(self, x: np.ndarray | float) -> np.ndarray:
        return self.intercept + self.slope * np.asarray(x, dtype=float)

    def standard_error(self, x: np.ndarray | float) -> np.ndarray:
        """Standard error of the fitted line at ``x`` (uncertainty of the mean prediction)."""
        x = np.asarray(x, dtype=float)
        c = np.asarray(self.covariance)
        return np.sqrt(np.maximum(c[0, 0] + 2 * x * c[0, 1] + x * x * c[1, 1], 0.0))

    def to_dict(self) -> dict[str, Any]:
        return {
            "intercept": self.intercept,
            "slope": self.slope,
            "covariance": [list(row) for row in self.covariance],
            "r_squared": self.r_squared,
            "points": self.points,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LineFit:
        c = data["covariance"]
        return cls(
            data["intercept"],
            data["slope"],
            ((c[0][0], c[0][1]), (c[1][0], c[1][1])),
            data["r_squared"],
            data["points"],
        )


def fit_line(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None, known_variance: bool = False
) -> LineFit:
    """Weighted least squares line; weights are inverse variances up to a common factor.

    The covariance is scaled by the residual variance (the weights' common factor is estimated), so
    with three or more points it is an honest standard error. With ``known_variance`` the weights are
    taken as the exact inverse variances of y and the covariance is not rescaled (the right choice with
    few points whose errors are known). Two points fit exactly; one point gives a flat line through it.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y) & np.isfinite(w) & (w > 0)
    x, y, w = x[keep], y[keep], w[keep]
    if x.size == 0:
        raise AnalysisError("no points to fit a line through")
    if x.size == 1 or np.ptp(x) == 0:
        mean = float(np.average(y, weights=w))
        spread = float(np.var(y)) / max(x.size - 1, 1)
        return LineFit(mean, 0.0, ((spread, 0.0), (0.0, 0.0)), 0.0, int(x.size))
    design = np.stack([np.ones_like(x), x], axis=1)
    weighted = design * w[:, None]
    normal = design.T @ weighted
    inverse = np.linalg.inv(normal)
    beta = inverse @ (weighted.T @ y)
    residual = y - design @ beta
    dof = x.size - 2
    estimated = float(np.sum(w * residual**2) / dof) if dof > 0 else 0.0
    scale = 1.0 if known_variance else estimated
    covariance = inverse * scale
    mean = np.average(y, weights=w)
    total = float(np.sum(w * (y - mean) ** 2))
    r_squared = 1.0 - float(np.sum(w * residual**2)) / total if total > 0 else 1.0
    return LineFit(
        float(beta[0]),
        float(beta[1]),
        (
            (float(covariance[0, 0]), float(covariance[0, 1])),
            (float(covariance[1, 0]), float(covariance[1, 1])),
        ),
        r_squared,
        int(x.size),
    )
