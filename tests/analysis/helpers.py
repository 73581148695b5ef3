"""Record tables built by hand and synthetic pulse responses with known statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from labrram.analysis.responses import PULSE_KINDS, PulseResponses


def tables(events: list[tuple]) -> tuple[pa.Table, pa.Table]:
    """Pulse and read tables from (run, device, seq, "P"|"R", value) events.

    A pulse's value is its amplitude (SET if positive); a read's is its conductance.
    """
    pulses = [e for e in events if e[3] == "P"]
    reads = [e for e in events if e[3] == "R"]
    pulse_table = pa.table(
        {
            "run_id": [e[0] for e in pulses],
            "device_id": [e[1] for e in pulses],
            "seq": [e[2] for e in pulses],
            "t_s": [float(e[2]) for e in pulses],
            "amplitude_v": [float(e[4]) for e in pulses],
            "width_s": [1e-7] * len(pulses),
            "kind": ["SET" if e[4] > 0 else "RESET" for e in pulses],
            "compliance_a": pa.array([None] * len(pulses), pa.float64()),
            "current_a": [0.0] * len(pulses),
        }
    )
    read_table = pa.table(
        {
            "run_id": [e[0] for e in reads],
            "device_id": [e[1] for e in reads],
            "seq": [e[2] for e in reads],
            "t_s": [float(e[2]) for e in reads],
            "voltage_v": [0.2] * len(reads),
            "current_a": [0.2 * e[4] for e in reads],
            "conductance_s": [float(e[4]) for e in reads],
        }
    )
    return pulse_table, read_table


def synthetic_responses(
    count: int,
    rng: np.random.Generator,
    window_s: tuple[float, float] = (100e-6, 500e-6),
    kind: str = "SET",
    devices: int = 1,
) -> PulseResponses:
    """Pairs whose dG at G is normal, mean 2 uS x (1 - x) and sd 0.2 uS + 0.5 uS x (x: place in window)."""
    g = rng.uniform(*window_s, count)
    x = (g - window_s[0]) / (window_s[1] - window_s[0])
    mean, sd = 2e-6 * (1 - x), 0.2e-6 + 0.5e-6 * x
    sign = 1.0 if kind == "SET" else -1.0
    return PulseResponses(
        g_before_s=g,
        delta_s=sign * (mean + sd * rng.standard_normal(count)),
        kind=pd.Categorical(np.full(count, kind), categories=PULSE_KINDS),
        amplitude_v=np.full(count, 1.2 * sign),
        width_s=np.full(count, 1e-7),
        compliance_a=np.full(count, np.nan),
        device_id=rng.integers(0, devices, count),
        run_id=np.ones(count, dtype=np.int64),
        since_reversal=np.zeros(count, dtype=np.int64),
    )


def combined(*parts: PulseResponses) -> PulseResponses:
    return PulseResponses(
        **{
            name: np.concatenate([getattr(p, name) for p in parts])
            for name in PulseResponses.__dataclass_fields__
        }
    )
