"""Fit a preset's read noise to read series: white noise and 1/f (flicker) noise, from each device's spectrum.

A read series is one device read again and again with no pulse in between (after its last pulse in a
run). Its relative deviation from a straight line through it (relaxation drift taken out) has, in the
simulator's model, the one-sided power spectral density

    S(f) = w + flicker^2 K(f),    w = 2 rel^2 / fs

for reads at rate fs, with rel the device's white relative noise and flicker its 1/f part, K the
simulator's own flicker spectrum for reads at that rate each integrating over its interval (1/f in the
band, with its fast fluctuators folded in as white near Nyquist; labrram.physics.fluctuations). Both
are fitted per device by non-negative least squares on S(f) (Welch), relative errors. Across devices the
white part is the simulator's sigma_G^2 = (read_noise_rel G)^2 + floor^2 (non-negative least squares,
as `labrram.analysis.read_noise`), the floor a current at the read voltage integrated over one read
interval; the flicker as a power of G across devices (its level at the preset's reference conductance
and the exponent; the median where the series show one level). Telegraph noise is not fitted (one
series per device shows too few flips to pin its rate and share).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, signal

from labrram.analysis.fit_report import (
    READ_VOLTAGE_V,
    FitReport,
    HeldOutCheck,
    array_digest,
    bootstrap,
    calibrated_check,
    fitted_parameters,
    held_out_devices,
    simulated_reads_s,
)
from labrram.errors import AnalysisError
from labrram.physics import ArrayKind, CrossbarArray, DeviceParameters
from labrram.physics.fluctuations import flicker_spectrum
from labrram.physics.presets import ChipPreset

MIN_SERIES = 256  # reads in a series below which its spectrum is not fitted
LAGS = (1, 10, 100)  # reads apart, for the held-out check of the correlation in time
CHECK_READS = 1024  # the first reads of each held-out series that the check replays


@dataclass(frozen=True)
class ReadSeries:
    """Each device's reads with no pulse between them: times (s) and conductances (S), one array each."""

    device: tuple[str, ...]
    time_s: tuple[np.ndarray, ...]
    conductance_s: tuple[np.ndarray, ...]

    @classmethod
    def from_reads(
        cls, key: np.ndarray, time_s: np.ndarray, conductance_s: np.ndarray, last_pulse_s: dict[str, float]
    ) -> ReadSeries:
        """Series per key (run and device), reads after the key's last pulse (``last_pulse_s``) only."""
        keys, code = np.unique(np.asarray(key), return_inverse=True)
        order = np.lexsort((time_s, code))
        code, time_s, conductance_s = code[order], np.asarray(time_s)[order], np.asarray(conductance_s)[order]
        starts = np.searchsorted(code, np.arange(keys.size))
        ends = np.append(starts[1:], code.size)
        devices, times, values = [], [], []
        for k, start, end in zip(keys, starts, ends, strict=True):
            after = time_s[start:end] > last_pulse_s.get(str(k), -np.inf)
            if after.sum() >= MIN_SERIES:
                devices.append(str(k))
                times.append(time_s[start:end][after])
                values.append(conductance_s[start:end][after])
        if not devices:
            raise AnalysisError(
                f"no device has a series of {MIN_SERIES} or more reads without a pulse between"
            )
        return cls(tuple(devices), tuple(times), tuple(values))


@dataclass(frozen=True)
class SeriesNoise:
    """One series' fitted white and flicker parts, its mean conductance and spectral slope."""

    g_s: float
    rel: float
    flicker: float
    slope: float
    rate_hz: float


def relative_deviation(time_s: np.ndarray, conductance_s: np.ndarray) -> np.ndarray:
    """Deviation from a straight line through the series (drift out), relative to its mean."""
    trend = np.polyval(np.polyfit(time_s - time_s[0], conductance_s, 1), time_s - time_s[0])
    return conductance_s / trend - 1.0


def series_noise(time_s: np.ndarray, conductance_s: np.ndarray) -> SeriesNoise:
    """White rel and flicker of one series from its spectrum (each read taken as integrating over its
    interval)."""
    intervals = np.diff(time_s)
    rate_hz = 1.0 / float(np.median(intervals))
    deviation = relative_deviation(time_s, conductance_s)
    segment = max(64, deviation.size // 8)
    frequency, density = signal.welch(deviation, fs=rate_hz, nperseg=segment)
    band = (frequency > 2.0 * rate_hz / segment) & (frequency < 0.4 * rate_hz)
    f, s = frequency[band], density[band]
    # White plus the simulator's own flicker spectrum at this read rate (1/f in the band; its fast
    # fluctuators fold in as white near Nyquist: that part is the flicker's, not the white noise's).
    shape = flicker_spectrum(f, rate_hz, 1.0 / rate_hz)
    design = np.column_stack([np.ones_like(f), shape])
    # Relative errors, weighted by the model rather than the noisy estimate (weighting by the estimate
    # favours the points that came out low and biases the fit down): refitted twice.
    scale = s
    for _ in range(3):
        (white, flicker_squared), _ = optimize.nnls(design / scale[:, None], s / scale)
        scale = np.maximum(design @ [white, flicker_squared], 1e-3 * s)
    slope = float(np.polyfit(np.log10(f), np.log10(s), 1)[0])
    flicker = math.sqrt(flicker_squared)
    white_variance = white * rate_hz / 2.0
    return SeriesNoise(
        float(np.mean(conductance_s)), math.sqrt(max(white_variance, 0.0)), flicker, slope, rate_hz
    )


def flicker_by_level(noise: list[SeriesNoise], reference_s: float) -> dict[str, float]:
    """The relative 1/f level at ``reference_s`` and its exponent in G (``read_noise_flicker_exponent``),
    by least squares of ln flicker on ln G over the series with 1/f noise; the median alone where they
    show fewer than two distinct levels."""
    with_flicker = [n for n in noise if n.flicker > 0]
    levels = np.log([n.g_s / reference_s for n in with_flicker])
    if np.unique(levels).size < 2:
        return {"read_noise_flicker": float(np.median([n.flicker for n in noise]))}
    exponent, intercept = np.polyfit(levels, np.log([n.flicker for n in with_flicker]), 1)
    return {"read_noise_flicker": math.exp(intercept), "read_noise_flicker_exponent": float(exponent)}


def fit_read_noise_model(
    series: ReadSeries,
    preset: ChipPreset,
    source: str,
    runs: tuple[int, ...] = (),
    rounds: int = 100,
    held_out: float = 0.2,
    seed: int = 0,
) -> FitReport:
    """Fit ``read_noise_rel``, the floor, ``read_noise_flicker`` and its exponent in G of ``preset`` to read
    series."""
    rng = np.random.default_rng(seed)
    reference_s = preset.parameters.read_noise_flicker_reference_s
    names = np.array(series.device)
    held = held_out_devices(names, held_out, rng)
    is_held = np.isin(names, held)
    noise = [series_noise(t, g) for t, g in zip(series.time_s, series.conductance_s, strict=True)]
    fitting = np.flatnonzero(~is_held)

    def technology(rows: np.ndarray, _renumbered: np.ndarray | None = None) -> dict[str, float]:
        chosen = [noise[r] for r in fitting[rows]]
        g = np.array([n.g_s for n in chosen])
        white_s = np.array([n.rel for n in chosen]) * g
        # Relative errors (each variance is known to a share of itself), but a white part near 0 is a
        # measurement too, not an infinite weight: no scale below a twentieth of the mean.
        scale = np.maximum(white_s**2, max(0.05 * float(np.mean(white_s**2)), 1e-40))
        (rel_squared, floor_squared), _ = optimize.nnls(
            np.column_stack([g**2, np.ones_like(g)]) / scale[:, None], white_s**2 / scale
        )
        interval_s = float(np.median([1.0 / n.rate_hz for n in chosen]))
        return {
            "read_noise_rel": math.sqrt(rel_squared),
            "read_noise_floor_a": math.sqrt(floor_squared) * READ_VOLTAGE_V,
            "read_noise_floor_integration_s": interval_s,
            **flicker_by_level(chosen, reference_s),
        }

    overrides = technology(np.arange(fitting.size))
    uncertainty = bootstrap(np.arange(fitting.size), technology, rounds, rng)
    flags = []
    if "read_noise_flicker_exponent" not in overrides:
        flags.append(
            "the flicker's change with G is not fitted (fewer than two levels with 1/f noise): one relative "
            "level, the median, for every G"
        )
    off = [n for n in noise if not -1.5 <= n.slope <= -0.5]
    if off:
        flags.append(
            f"{len(off)} of {len(noise)} series have a spectral slope outside -1.5..-0.5 "
            f"({', '.join(f'{n.slope:.2f}' for n in off[:5])}): not the model's white + 1/f"
        )
    flags.append("telegraph noise is not fitted: one series per device shows too few flips for its rate")
    parameters = fitted_parameters(preset, overrides)
    check = _held_out_check(series, np.flatnonzero(is_held), noise, parameters, seed) if held.size else None
    if check is not None:
        flags += check.flags(lambda g: f"lag {g['lag_reads']}")
    return FitReport(
        part="read-noise",
        preset=preset.pinned_name,
        source=source,
        runs=runs,
        data_sha256=array_digest(*itertools.chain(*zip(series.time_s, series.conductance_s, strict=True))),
        devices=len(series.device),
        held_out_devices=int(held.size),
        seed=seed,
        overrides=overrides,
        uncertainty=uncertainty,
        check=check,
        tables={
            "series": [
                {
                    "device": name,
                    "held_out": bool(out),
                    "g_s": n.g_s,
                    "rate_hz": n.rate_hz,
                    "white_rel": n.rel,
                    "flicker": n.flicker,
                    "spectral_slope": n.slope,
                }
                for name, out, n in zip(series.device, is_held, noise, strict=True)
            ]
        },
        flags=flags,
    )


def _held_out_check(
    series: ReadSeries, held: np.ndarray, noise: list[SeriesNoise], parameters: DeviceParameters, seed: int
) -> HeldOutCheck | None:
    """Relative differences of held-out reads LAGS apart against simulated devices read at the same times
    (the first CHECK_READS of each series), each read integrating over its interval as a sampling
    instrument's does."""
    times = [series.time_s[h][:CHECK_READS] for h in held]
    measured = [
        np.concatenate(
            [_lagged(t, series.conductance_s[h][:CHECK_READS], lag) for t, h in zip(times, held, strict=True)]
        )
        for lag in LAGS
    ]

    def simulate(rng: np.random.Generator) -> list[np.ndarray]:
        per_lag: list[list[np.ndarray]] = [[] for _ in LAGS]
        for time_s, h in zip(times, held, strict=True):
            reads = _simulated_series(parameters, noise[h].g_s, time_s, 1.0 / noise[h].rate_hz, rng)
            for bucket, lag in zip(per_lag, LAGS, strict=True):
                bucket.append(_lagged(time_s, reads, lag))
        return [np.concatenate(bucket) for bucket in per_lag]

    return calibrated_check(
        [{"lag_reads": lag} for lag in LAGS], measured, simulate, np.random.default_rng(seed + 1)
    )


def _simulated_series(
    parameters: DeviceParameters,
    g_s: float,
    time_s: np.ndarray,
    integration_s: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """One simulated device at ``g_s`` read at ``time_s``: the conductances it shows."""
    array = CrossbarArray(parameters, 1, 1, ArrayKind.ONE_T_ONE_R, rng)
    array.set_conductance_s(np.array([[g_s]]))
    reads = np.empty(time_s.size)
    now = time_s[0]
    for k, t in enumerate(time_s):
        array.advance(max(t - now, 0.0), parameters.reference_temperature_c)
        now = t
        reads[k] = simulated_reads_s(array, slice(None), integration_s)[0]
    return reads


def _lagged(time_s: np.ndarray, conductance_s: np.ndarray, lag: int) -> np.ndarray:
    """Differences of the relative deviation between reads ``lag`` apart."""
    deviation = relative_deviation(time_s, conductance_s)
    return deviation[lag:] - deviation[:-lag] if deviation.size > lag else np.zeros(0)
