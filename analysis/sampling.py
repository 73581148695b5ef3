"""Distributions chosen from data the way seed 002 chooses them, and sampled for many groups at once.

A set of measured values becomes:
- "normal" (mean, sd) when Shapiro-Wilk does not reject normality at ``alpha``;
- "empirical" (the raw values, resampled) when it does and there are at least ``min_empirical`` values;
- "uniform" over the values' range when normality is rejected with too few values to resample, or there
  are only two (seed 002 samples its few HRS-stuck conductances this way);
- "constant" for one value, or values that are all the same.
The choice and its reason are kept with the distribution. Shapiro-Wilk's p-value is exact only up to
5000 values: larger sets are tested on 5000 of them drawn with a fixed seed (said in the reason).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from scipy import stats

from labrram.analysis.document import decode_array, encode_array
from labrram.errors import AnalysisError

FORMS = ("normal", "empirical", "uniform", "constant")
SHAPIRO_MAX = 5000
_FORM_CODE = {form: code for code, form in enumerate(FORMS)}


@dataclass(frozen=True, eq=False)
class ChosenDistribution:
    """One group's distribution, with the values it came from and why this form was chosen."""

    form: str
    values: np.ndarray
    shapiro_p: float | None
    reason: str

    @property
    def count(self) -> int:
        return self.values.size

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def sd(self) -> float:
        return float(np.std(self.values, ddof=1)) if self.values.size > 1 else 0.0

    @classmethod
    def choose(
        cls, values: np.ndarray, alpha: float = 0.05, min_empirical: int = 20, form: str | None = None
    ) -> ChosenDistribution:
        """The form the data support (or ``form``, forced), with the test behind the choice."""
        values = np.asarray(values, dtype=float).ravel()
        if values.size == 0:
            raise AnalysisError("a distribution needs at least one value")
        if not np.all(np.isfinite(values)):
            raise AnalysisError(f"{int(np.sum(~np.isfinite(values)))} values are NaN or infinite")
        if form is not None:
            if form not in FORMS:
                raise AnalysisError(f"form must be one of {', '.join(FORMS)}, got {form!r}")
            return cls(form, values, _shapiro(values)[0], "chosen by the caller")
        if values.size == 1 or np.ptp(values) == 0:
            return cls("constant", values, None, "one value, or all values equal")
        if values.size == 2:
            return cls("uniform", values, None, "two values: uniform over their range")
        p_value, note = _shapiro(values)
        if p_value >= alpha:
            return cls("normal", values, p_value, f"Shapiro-Wilk p = {p_value:.3g} >= {alpha}{note}")
        if values.size >= min_empirical:
            return cls(
                "empirical", values, p_value, f"Shapiro-Wilk rejects normality (p = {p_value:.3g}){note}"
            )
        return cls(
            "uniform",
            values,
            p_value,
            f"Shapiro-Wilk rejects normality (p = {p_value:.3g}), {values.size} values are too few to "
            "resample: uniform over their range",
        )

    @cached_property
    def _as_set(self) -> DistributionSet:
        return DistributionSet([self])

    def sample(self, size: int | tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        return self._as_set.sample(np.zeros(size, dtype=np.intp), rng)

    def to_dict(self) -> dict[str, Any]:
        return {
            "form": self.form,
            "values": encode_array(self.values),
            "shapiro_p": self.shapiro_p,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChosenDistribution:
        return cls(data["form"], decode_array(data["values"]), data["shapiro_p"], data["reason"])


def _shapiro(values: np.ndarray) -> tuple[float, str]:
    if values.size < 3 or np.ptp(values) == 0:
        return 1.0, ""
    tested, note = values, ""
    if values.size > SHAPIRO_MAX:
        tested = np.random.default_rng(0).choice(values, SHAPIRO_MAX, replace=False)
        note = f"; tested on {SHAPIRO_MAX} of {values.size} values"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # scipy warns about ties it handles anyway
        return float(stats.shapiro(tested).pvalue), note


class DistributionSet:
    """Several distributions sampled together: one draw per entry of a group-index array, vectorized."""

    def __init__(self, distributions: list[ChosenDistribution]) -> None:
        if not distributions:
            raise AnalysisError("a distribution set needs at least one distribution")
        self.distributions = list(distributions)
        self._form = np.array([_FORM_CODE[d.form] for d in distributions])
        self._mean = np.array([d.mean for d in distributions])
        self._sd = np.array([d.sd for d in distributions])
        self._low = np.array([d.values.min() for d in distributions])
        self._high = np.array([d.values.max() for d in distributions])
        self._count = np.array([d.count for d in distributions])
        self._offset = np.concatenate([[0], np.cumsum(self._count)[:-1]])
        self._values = np.concatenate([d.values for d in distributions])

    def is_normal(self, groups: np.ndarray) -> np.ndarray:
        """Whether each group's distribution is the normal form."""
        return self._form[groups] == _FORM_CODE["normal"]

    def moments(self, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and sd of each group's values."""
        return self._mean[groups], self._sd[groups]

    def sample(self, groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One value per entry of ``groups`` (indices into the set), same shape.

        Only the forms present are computed, each on its own entries: a set of normal groups costs one
        normal draw per entry and a multiply-add.
        """
        groups = np.asarray(groups, dtype=np.intp)
        forms = self._form[groups]
        present = np.unique(self._form)
        if present.size == 1:
            return self._draw(int(present[0]), groups, rng)
        result = np.empty(groups.shape)
        for code in present:
            mask = forms == code
            if mask.any():
                result[mask] = self._draw(int(code), groups[mask], rng)
        return result

    def _draw(self, code: int, groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if code == _FORM_CODE["normal"]:
            drawn = rng.standard_normal(groups.shape)
            drawn *= self._sd[groups]
            drawn += self._mean[groups]
            return drawn
        if code == _FORM_CODE["constant"]:
            return self._low[groups].astype(float)  # the value itself (a mean of equal values may round)
        u = rng.random(groups.shape)
        if code == _FORM_CODE["uniform"]:
            low = self._low[groups]
            return low + u * (self._high[groups] - low)
        count = self._count[groups]
        picked = np.minimum((u * count).astype(np.intp), count - 1)
        return self._values[self._offset[groups] + picked]
