"""Retention: per-level shift and spread of conductance vs log-time, extrapolation, and bakes.

Each device's first retention read is its reference (G0 at t_ref); later reads give its shift G(t) - G0.
Devices are grouped into levels by G0 and reads into time points (0.1-decade bins of elapsed time). Per
level, the mean shift is fitted as a + b ln t (REFERENCE.md: HfOx relaxation -0.089 uS per ln t) and the
spread in two forms, the standard deviation linear in ln t (Levy's sigma(t) = 0.042 ln t + 0.412 uS) and
the variance linear in ln t (a random walk in log-time). The random walk is kept unless the other form's
weighted residual (in standard-deviation terms) is less than half its own; the choice is recorded. All
fits are weighted least squares with their covariance, so an extrapolation to a requested time carries
a standard error.

Bakes: reads taken at a temperature above the use temperature give, per level, the spread reached after
the bake. The room-temperature spread law says at what room-temperature time t_eq the same spread is
reached; ln(t_eq / t_bake) = (Ea / kB)(1/T_use - 1/T_bake) (Arrhenius, REFERENCE.md), so a weighted
regression through the origin over levels and temperatures gives the activation energy Ea with its
standard error, and maps bake data to use-temperature time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labrram.analysis.document import decode_array, encode_array
from labrram.analysis.fitting import LineFit, fit_line
from labrram.errors import AnalysisError
from labrram.physics.retention import BOLTZMANN_EV_PER_K, ZERO_CELSIUS_K

SPREAD_FORMS = ("sd-linear", "variance-linear")
BAKE_MARGIN_C = 5.0  # reads this much above the use temperature count as baked


@dataclass(frozen=True, eq=False)
class LevelRetention:
    """One level's measured time points and its fitted shift and spread laws (t in s, G in S)."""

    g0_s: float
    times_s: np.ndarray
    means_s: np.ndarray
    sds_s: np.ndarray
    counts: np.ndarray
    mean_fit: LineFit  # shift vs ln t
    sd_fit: LineFit  # sd vs ln t
    variance_fit: LineFit  # variance vs ln t
    spread_form: str

    def mean(self, time_s: np.ndarray | float) -> np.ndarray:
        return self.mean_fit(np.log(time_s))

    def variance(self, time_s: np.ndarray | float) -> np.ndarray:
        log_t = np.log(time_s)
        if self.spread_form == "sd-linear":
            return np.maximum(self.sd_fit(log_t), 0.0) ** 2
        return np.maximum(self.variance_fit(log_t), 0.0)

    def sd(self, time_s: np.ndarray | float) -> np.ndarray:
        return np.sqrt(self.variance(time_s))

    def sd_error(self, time_s: np.ndarray | float) -> np.ndarray:
        log_t = np.log(time_s)
        if self.spread_form == "sd-linear":
            return self.sd_fit.standard_error(log_t)
        sd = np.maximum(self.sd(time_s), 1e-30)
        return self.variance_fit.standard_error(log_t) / (2.0 * sd)

    def to_dict(self) -> dict[str, Any]:
        return {
            "g0_s": self.g0_s,
            "times_s": encode_array(self.times_s),
            "means_s": encode_array(self.means_s),
            "sds_s": encode_array(self.sds_s),
            "counts": encode_array(self.counts),
            "mean_fit": self.mean_fit.to_dict(),
            "sd_fit": self.sd_fit.to_dict(),
            "variance_fit": self.variance_fit.to_dict(),
            "spread_form": self.spread_form,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LevelRetention:
        return cls(
            float(data["g0_s"]),
            decode_array(data["times_s"]),
            decode_array(data["means_s"]),
            decode_array(data["sds_s"]),
            decode_array(data["counts"]),
            LineFit.from_dict(data["mean_fit"]),
            LineFit.from_dict(data["sd_fit"]),
            LineFit.from_dict(data["variance_fit"]),
            data["spread_form"],
        )


@dataclass(frozen=True, eq=False)
class RetentionModel:
    """Shift and spread vs time per level at the use temperature, and the activation energy of bakes."""

    levels: tuple[LevelRetention, ...]
    use_temperature_c: float
    reference_time_s: float
    activation_energy_ev: float | None = None
    activation_energy_se_ev: float | None = None
    bake_points: tuple[dict[str, float], ...] = ()
    flags: tuple[str, ...] = field(default=())

    @property
    def g0_s(self) -> np.ndarray:
        return np.array([level.g0_s for level in self.levels])

    def predict(self, g0_s: np.ndarray, time_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Mean shift and sd (siemens) at ``time_s`` after programming for devices programmed to g0_s.

        Between level centres both are interpolated linearly in G0; beyond the outer levels they are
        those of the outer level. Before the reference time there is no shift.
        """
        g0 = np.asarray(g0_s, dtype=float)
        if time_s <= self.reference_time_s:
            return np.zeros(g0.shape), np.zeros(g0.shape)
        centers = self.g0_s
        means = np.array([float(level.mean(time_s)) for level in self.levels])
        sds = np.array([float(level.sd(time_s)) for level in self.levels])
        order = np.argsort(centers)
        return (
            np.interp(g0, centers[order], means[order]),
            np.interp(g0, centers[order], sds[order]),
        )

    def sample(self, g0_s: np.ndarray, time_s: float, rng: np.random.Generator) -> np.ndarray:
        """Conductance shifts at ``time_s`` for devices programmed to g0_s, normal around the mean shift."""
        mean, sd = self.predict(g0_s, time_s)
        return mean + sd * rng.standard_normal(mean.shape)

    def extrapolate(self, time_s: float) -> list[dict[str, float]]:
        """Per level: mean shift and sd at ``time_s`` with their standard errors."""
        rows = []
        for level in self.levels:
            log_t = np.log(time_s)
            rows.append(
                {
                    "g0_s": level.g0_s,
                    "time_s": time_s,
                    "mean_s": float(level.mean(time_s)),
                    "mean_se_s": float(level.mean_fit.standard_error(log_t)),
                    "sd_s": float(level.sd(time_s)),
                    "sd_se_s": float(level.sd_error(time_s)),
                    "measured_up_to_s": float(level.times_s.max()),
                }
            )
        return rows

    def acceleration(self, temperature_c: float) -> float:
        """How many seconds at the use temperature one second at ``temperature_c`` is worth."""
        if self.activation_energy_ev is None:
            raise AnalysisError("no activation energy was fitted (no bake data at several temperatures)")
        return float(
            np.exp(self.activation_energy_ev * _inverse_kt_gap(self.use_temperature_c, temperature_c))
        )

    @classmethod
    def fit(
        cls,
        device: np.ndarray,
        elapsed_s: np.ndarray,
        conductance_s: np.ndarray,
        temperature_c: np.ndarray | None = None,
        levels: int = 8,
        use_temperature_c: float = 25.0,
        min_count: int = 5,
    ) -> RetentionModel:
        """Fit from retention reads: a device key (run and device), elapsed time, conductance, temperature.

        Temperatures that are NaN are taken as the use temperature.
        """
        device = np.asarray(device)
        elapsed = np.asarray(elapsed_s, dtype=float)
        conductance = np.asarray(conductance_s, dtype=float)
        temperature = (
            np.full(elapsed.shape, np.nan)
            if temperature_c is None
            else np.asarray(temperature_c, dtype=float)
        )
        if not (device.shape == elapsed.shape == conductance.shape == temperature.shape):
            raise AnalysisError("retention columns differ in length")
        if not (np.all(np.isfinite(elapsed)) and np.all(np.isfinite(conductance))):
            raise AnalysisError("retention reads with NaN time or conductance; remove them first")
        keys, key_index = np.unique(device, return_inverse=True)
        order = np.lexsort((elapsed, key_index))
        first = order[np.concatenate([[True], np.diff(key_index[order]) != 0])]
        g0_of = np.empty(keys.size)
        t_ref_of = np.empty(keys.size)
        g0_of[key_index[first]] = conductance[first]
        t_ref_of[key_index[first]] = elapsed[first]
        later = np.ones(elapsed.size, dtype=bool)
        later[first] = False
        shift = conductance - g0_of[key_index]
        g0 = g0_of[key_index]
        baked = later & (temperature > use_temperature_c + BAKE_MARGIN_C)
        room = later & ~baked & (elapsed > 0)
        if not room.any():
            raise AnalysisError("no retention reads after the first one at the use temperature")
        edges = _level_edges(g0_of, levels, min_count)
        level_of = np.clip(np.searchsorted(edges, g0, side="right") - 1, 0, max(edges.size - 2, 0))
        flags: list[str] = []
        fitted = []
        for k in range(max(edges.size - 1, 1)):
            in_level = room & (level_of == k)
            level = _fit_level(elapsed[in_level], shift[in_level], g0[in_level], min_count)
            if level is None:
                flags.append(f"level {k}: fewer than two time points with {min_count} devices; not fitted")
                continue
            fitted.append(level)
        if not fitted:
            raise AnalysisError(f"no level has two time points with {min_count} or more devices")
        room_keys = np.unique(key_index[room])
        model = cls(
            tuple(fitted), use_temperature_c, float(np.median(t_ref_of[room_keys])), flags=tuple(flags)
        )
        if baked.any():
            model = model._with_bakes(elapsed, shift, g0, temperature, t_ref_of[key_index], baked, min_count)
        return model

    def _with_bakes(
        self,
        elapsed: np.ndarray,
        shift: np.ndarray,
        g0: np.ndarray,
        temperature: np.ndarray,
        t_ref: np.ndarray,
        baked: np.ndarray,
        min_count: int,
    ) -> RetentionModel:
        """The model with the activation energy fitted from its bake reads (see the module doc)."""
        centers = self.g0_s
        nearest = np.abs(g0[:, None] - centers[None, :]).argmin(axis=1)
        rounded = np.round(temperature, 1)
        points = []
        estimates = []
        flags = list(self.flags)
        for k, level in enumerate(self.levels):
            rows = []
            for t_c in np.unique(rounded[baked & (nearest == k)]):
                mask = baked & (nearest == k) & (rounded == t_c)
                if mask.sum() >= min_count:
                    rows.append(
                        (
                            float(t_c),
                            float(np.exp(np.mean(np.log(elapsed[mask])))),
                            float(np.var(shift[mask], ddof=1)),
                            int(mask.sum()),
                        )
                    )
            for t_c, t_bake, variance, devices in rows:
                points.append(
                    {
                        "g0_s": level.g0_s,
                        "temperature_c": t_c,
                        "elapsed_s": t_bake,
                        "sd_s": float(np.sqrt(variance)),
                        "devices": devices,
                    }
                )
            estimate = _level_activation_energy(level, self.use_temperature_c, rows)
            if estimate is not None:
                estimates.append(estimate)
        ea = se = None
        if estimates:
            values = np.array([e for e, _ in estimates])
            errors = np.array([s for _, s in estimates])
            weights = 1.0 / errors**2
            ea = float(np.sum(weights * values) / np.sum(weights))
            se = float(1.0 / np.sqrt(np.sum(weights)))
            longest = max(float(level.times_s.max()) for level in self.levels)
            for point in points:
                point["equivalent_s"] = point["elapsed_s"] * float(
                    np.exp(min(ea * _inverse_kt_gap(self.use_temperature_c, point["temperature_c"]), 690.0))
                )
            far = sum(p["equivalent_s"] > 1000 * longest for p in points)
            if far:
                flags.append(
                    f"{far} of {len(points)} bakes stand for over 1000x the longest room-temperature time "
                    f"measured ({longest:.3g} s): predictions there extrapolate the log-time laws"
                )
        else:
            flags.append(
                "no level has bakes at two or more temperatures with a growing room-temperature spread: "
                "no activation energy"
            )
        return RetentionModel(
            self.levels, self.use_temperature_c, self.reference_time_s, ea, se, tuple(points), tuple(flags)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "levels": [level.to_dict() for level in self.levels],
            "use_temperature_c": self.use_temperature_c,
            "reference_time_s": self.reference_time_s,
            "activation_energy_ev": self.activation_energy_ev,
            "activation_energy_se_ev": self.activation_energy_se_ev,
            "bake_points": [dict(p) for p in self.bake_points],
            "flags": list(self.flags),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RetentionModel:
        return cls(
            tuple(LevelRetention.from_dict(level) for level in data["levels"]),
            float(data["use_temperature_c"]),
            float(data["reference_time_s"]),
            data["activation_energy_ev"],
            data["activation_energy_se_ev"],
            tuple(data["bake_points"]),
            tuple(data["flags"]),
        )


def _level_edges(g0_s: np.ndarray, levels: int, min_count: int) -> np.ndarray:
    """Edges of the G0 levels: the programmed levels where G0 falls in clear clusters (gaps over a tenth
    of the range between them), else equal-count bins, no more than two groups of min_count can fill."""
    ordered = np.sort(g0_s)
    span = ordered[-1] - ordered[0]
    if span > 0:
        gaps = np.flatnonzero(np.diff(ordered) > 0.1 * span)
        if 1 <= gaps.size < levels:
            middles = 0.5 * (ordered[gaps] + ordered[gaps + 1])
            return np.concatenate([[ordered[0]], middles, [ordered[-1]]])
    levels = max(1, min(levels, g0_s.size // (2 * min_count)))
    return np.unique(np.quantile(g0_s, np.linspace(0.0, 1.0, levels + 1)))


def _inverse_kt_gap(use_c: float, temperature_c: float) -> float:
    """(1/kB)(1/T_use - 1/T) in 1/eV."""
    return (1.0 / (use_c + ZERO_CELSIUS_K) - 1.0 / (temperature_c + ZERO_CELSIUS_K)) / BOLTZMANN_EV_PER_K


def _fit_level(
    elapsed: np.ndarray, shift: np.ndarray, g0: np.ndarray, min_count: int
) -> LevelRetention | None:
    """Time points of one level (0.1-decade bins) and its fitted laws; None with too few points."""
    if elapsed.size == 0:
        return None
    key = np.round(np.log10(elapsed) * 10).astype(np.int64)
    rows = []
    for k in np.unique(key):
        values = shift[key == k]
        if values.size >= min_count:
            rows.append(
                (np.exp(np.mean(np.log(elapsed[key == k]))), values.mean(), values.std(ddof=1), values.size)
            )
    if len(rows) < 2:
        return None
    times, means, sds, counts = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    log_t = np.log(times)
    floor = max(float(np.max(sds)) * 1e-6, 1e-15)
    sd = np.maximum(sds, floor)
    mean_fit = fit_line(log_t, means, counts / sd**2)
    sd_fit = fit_line(log_t, sds, 2 * counts / sd**2)
    variance_fit = fit_line(log_t, sds**2, counts / (2 * sd**4))
    weights = 2 * counts / sd**2
    sd_residual = float(np.sum(weights * (np.maximum(sd_fit(log_t), 0.0) - sds) ** 2))
    variance_residual = float(np.sum(weights * (np.sqrt(np.maximum(variance_fit(log_t), 0.0)) - sds) ** 2))
    # The random walk in log-time (variance linear) is the physical law; the standard deviation linear in
    # ln t is an empirical one that extrapolates faster. It is kept only where it fits clearly better.
    form = "sd-linear" if sd_residual < 0.5 * variance_residual else "variance-linear"
    return LevelRetention(float(np.mean(g0)), times, means, sds, counts, mean_fit, sd_fit, variance_fit, form)


def _level_activation_energy(
    level: LevelRetention, use_temperature_c: float, bakes: list[tuple[float, float, float, int]]
) -> tuple[float, float] | None:
    """Ea and its standard error from one level's bakes (temperature, duration, variance, devices).

    The room-temperature law says y = s(V) is linear in ln t with slope b (s the variance itself or
    its square root, as the level's spread form). A bake of length t at T stands for t AF(T), so
    y_T - b ln t_T = c + b Ea x_T with x_T = (1/kB)(1/T_use - 1/T): the slope over the bakes' x, divided
    by b, is Ea. Only the growth rate b carries over from room temperature, not its intercept, so no
    absolute extrapolation far past the room-temperature data enters the estimate.
    """
    if len({t for t, _, _, _ in bakes}) < 2:
        return None
    fit = level.sd_fit if level.spread_form == "sd-linear" else level.variance_fit
    b, b_se = fit.slope, fit.slope_se
    if b <= 0:
        return None
    x = np.array([_inverse_kt_gap(use_temperature_c, t) for t, _, _, _ in bakes])
    variance = np.array([v for _, _, v, _ in bakes])
    grown = np.sqrt(variance) if level.spread_form == "sd-linear" else variance
    y = grown - b * np.log([t for _, t, _, _ in bakes])
    devices = np.array([n for _, _, _, n in bakes], dtype=float)
    # A sample variance of n values has relative sd sqrt(2 / (n - 1)); its square root half that.
    relative = np.sqrt(2.0 / (devices - 1)) * (0.5 if level.spread_form == "sd-linear" else 1.0)
    line = fit_line(x, y, 1.0 / (relative * grown) ** 2, known_variance=True)
    ea = line.slope / b
    slope_se = line.slope_se
    se = abs(ea) * float(np.hypot(slope_se / max(abs(line.slope), 1e-300), b_se / b))
    return (float(ea), max(se, 1e-9))
