"""Low-frequency conductance fluctuations that reads see: 1/f (flicker) noise and random telegraph noise.

Unlike white read noise these are correlated in time, so reading a device ten times does not average
them away, and a longer integration helps only a little.

- 1/f: a sum of Ornstein-Uhlenbeck processes per device, one per decade of corner frequency from
  FLICKER_LOW_HZ to FLICKER_HIGH_HZ, each of variance flicker^2 ln 10: together a relative conductance
  whose one-sided power spectral density is flicker^2 / f inside that band (Hooge-like).
- Telegraph: a share of devices carries one two-state fluctuator, its relative amplitude log-normal
  around ``rtn_amplitude`` and its switching rate log-normal around ``rtn_rate_per_s``.

Each process is advanced exactly from a device's last read to the present. A read integrating over t
enters each process's state scaled by sqrt(2 (u - 1 + exp(-u)) / u^2), u = t / tau, the standard
deviation of an Ornstein-Uhlenbeck (or telegraph) average over the window relative to its own: a fast
fluctuator averages out of a long read, a slow one does not.
"""

from __future__ import annotations

import math

import numpy as np

FLICKER_LOW_HZ = 1e-4
FLICKER_HIGH_HZ = 1e4
CORNERS_HZ = np.logspace(math.log10(FLICKER_LOW_HZ), math.log10(FLICKER_HIGH_HZ), 9)
RTN_AMPLITUDE_SPREAD = 0.5  # log-normal sigma of the telegraph amplitude across devices
RTN_RATE_SPREAD = 1.0  # log-normal sigma of the telegraph rate across devices


def averaging_factor(integration_s: float | None, tau_s: np.ndarray) -> np.ndarray:
    """sd of a process's average over the integration window relative to its sd (1 for an instant):
    sqrt(2 (u - 1 + exp(-u)) / u^2), u = t / tau; its series 1 - u/3 + u^2/12 for small u (no
    cancellation)."""
    tau = np.asarray(tau_s, dtype=float)
    if not integration_s:
        return np.ones_like(tau)
    u = integration_s / tau
    small = u < 1e-3
    safe = np.where(small, 1.0, u)
    exact = 2.0 * (safe + np.expm1(-safe)) / safe**2
    return np.sqrt(np.where(small, 1.0 - u / 3.0 + u * u / 12.0, exact))


def flicker_spectrum(frequency_hz: np.ndarray, rate_hz: float, integration_s: float | None) -> np.ndarray:
    """One-sided power spectral density, per unit flicker^2, of the relative deviation the 1/f model puts on
    reads taken at ``rate_hz``, each averaged over ``integration_s``: each fluctuator read so is an
    autoregressive sequence (coefficient exp(-1 / (rate tau))) of variance ln 10 times its averaging
    factor squared. Inside the band and well below the read rate it is 1/f; near and above the Nyquist
    frequency the fast fluctuators fold in as white noise."""
    f = np.asarray(frequency_hz, dtype=float)[:, None]
    tau_s = 1.0 / (2.0 * math.pi * CORNERS_HZ)
    phi = np.exp(-1.0 / (rate_hz * tau_s))
    variance = math.log(10.0) * averaging_factor(integration_s, tau_s) ** 2
    shape = (1.0 - phi**2) / (1.0 - 2.0 * phi * np.cos(2.0 * math.pi * f / rate_hz) + phi**2)
    return (2.0 / rate_hz) * np.sum(variance * shape, axis=1)


class Fluctuations:
    """The 1/f and telegraph states of every device of an array, advanced when devices are read."""

    def __init__(
        self,
        size: int,
        flicker: float,
        rtn_fraction: float,
        rtn_amplitude: float,
        rtn_rate_per_s: float,
        rng: np.random.Generator,
    ) -> None:
        self.tau_s = 1.0 / (2.0 * math.pi * CORNERS_HZ)
        self.sigma = flicker * math.sqrt(math.log(10.0))
        self.flicker = self.sigma * rng.standard_normal((self.tau_s.size, size))  # stationary start
        self.read_at_s = np.zeros(size)
        has_rtn = rng.random(size) < rtn_fraction
        self.rtn_amplitude = np.where(
            has_rtn, rtn_amplitude * np.exp(RTN_AMPLITUDE_SPREAD * rng.standard_normal(size)), 0.0
        )
        self.rtn_rate_per_s = rtn_rate_per_s * np.exp(RTN_RATE_SPREAD * rng.standard_normal(size))
        self.rtn_high = rng.random(size) < 0.5

    def relative(
        self,
        index: np.ndarray | slice,
        now_s: float,
        integration_s: float | None,
        rng: np.random.Generator,
        flicker_scale: np.ndarray | None = None,
    ) -> np.ndarray:
        """The relative conductance deviation each indexed device shows to a read ending at ``now_s``;
        ``flicker_scale`` multiplies each device's 1/f part (its level at the device's conductance;
        None: 1)."""
        elapsed = np.maximum(now_s - self.read_at_s[index], 0.0)
        self.read_at_s[index] = now_s
        decay = np.exp(-elapsed[None, :] / self.tau_s[:, None])
        state = self.flicker[:, index] * decay + self.sigma * np.sqrt(1.0 - decay**2) * rng.standard_normal(
            decay.shape
        )
        self.flicker[:, index] = state
        deviation = averaging_factor(integration_s, self.tau_s) @ state
        if flicker_scale is not None:
            deviation = deviation * flicker_scale
        amplitude = self.rtn_amplitude[index]
        if np.any(amplitude):
            rate = self.rtn_rate_per_s[index]
            flipped = rng.random(elapsed.size) < 0.5 * (1.0 - np.exp(-2.0 * rate * elapsed))
            high = self.rtn_high[index] ^ flipped
            self.rtn_high[index] = high
            smoothing = averaging_factor(integration_s, 1.0 / (2.0 * rate))
            deviation = deviation + amplitude * np.where(high, 0.5, -0.5) * smoothing
        return deviation
