"""Stuck devices (seed 002, Fig. 4): the share stuck in HRS and in LRS, and the conductances they sit at.

Rates are stuck devices over devices tried, with exact (Clopper-Pearson) 95% intervals, so "none stuck
in 64" reads as "below 5.6%", not as zero. Each state's conductances get a `ChosenDistribution`
(seed 002 samples its HRS-stuck conductances uniformly over their range because normality is rejected,
and its LRS-stuck ones from a normal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from labrram.analysis.sampling import ChosenDistribution
from labrram.errors import AnalysisError

STATES = ("HRS", "LRS")
WORKING, STUCK_HRS, STUCK_LRS = 0, 1, 2


@dataclass(frozen=True, eq=False)
class StuckDevices:
    """Stuck shares and conductance distributions of a population."""

    devices: int
    stuck: dict[str, int]
    conductances: dict[str, ChosenDistribution]

    def rate(self, state: str) -> float:
        return self.stuck[state] / self.devices

    def interval(self, state: str, confidence: float = 0.95) -> tuple[float, float]:
        """Clopper-Pearson interval of the stuck share."""
        k, n = self.stuck[state], self.devices
        tail = (1.0 - confidence) / 2.0
        low = 0.0 if k == 0 else float(stats.beta.ppf(tail, k, n - k + 1))
        high = 1.0 if k == n else float(stats.beta.ppf(1.0 - tail, k + 1, n - k))
        return low, high

    def sample_states(self, shape: int | tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """WORKING (0), STUCK_HRS (1) or STUCK_LRS (2) for each device."""
        u = rng.random(shape)
        hrs, lrs = self.rate("HRS"), self.rate("LRS")
        return np.where(u < hrs, STUCK_HRS, np.where(u < hrs + lrs, STUCK_LRS, WORKING)).astype(np.int8)

    def sample_conductance(self, states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A stuck conductance for every HRS or LRS entry of ``states`` (NaN where working)."""
        states = np.asarray(states)
        result = np.full(states.shape, np.nan)
        for code, state in ((STUCK_HRS, "HRS"), (STUCK_LRS, "LRS")):
            mask = states == code
            if mask.any():
                if state not in self.conductances:
                    raise AnalysisError(f"no {state}-stuck conductances were measured to sample from")
                result[mask] = np.abs(self.conductances[state].sample(int(mask.sum()), rng))
        return result

    @classmethod
    def fit(cls, devices: int, states: np.ndarray, conductances_s: np.ndarray) -> StuckDevices:
        """From the number of devices tried and the state ("HRS"/"LRS") and conductance of each stuck one."""
        states = np.asarray(states).astype(str)
        conductances = np.asarray(conductances_s, dtype=float)
        if devices < 1:
            raise AnalysisError("stuck rates need at least one device tried")
        if states.size > devices:
            raise AnalysisError(f"{states.size} stuck devices among {devices} tried")
        unknown = set(states.tolist()) - set(STATES)
        if unknown:
            raise AnalysisError(f"stuck states must be HRS or LRS, got {sorted(unknown)}")
        counts = {state: int(np.sum(states == state)) for state in STATES}
        distributions = {
            state: ChosenDistribution.choose(conductances[states == state])
            for state in STATES
            if counts[state]
        }
        return cls(devices, counts, distributions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "devices": self.devices,
            "stuck": dict(self.stuck),
            "conductances": {state: d.to_dict() for state, d in self.conductances.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StuckDevices:
        return cls(
            int(data["devices"]),
            {k: int(v) for k, v in data["stuck"].items()},
            {k: ChosenDistribution.from_dict(v) for k, v in data["conductances"].items()},
        )
