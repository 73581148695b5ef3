"""CrossSim lookup tables as pulse responses, so that `labrram fit` can fit the step model to them.

A table holds, per conductance bin of one device, the distribution of dG of identical pulses as values at
CDF points. Its values at a uniform grid of probabilities are an equally weighted sample of that
distribution: each becomes one (G before, dG) pair of that device. The tables store no pulse amplitude
or width; the caller names the pulses they were taken with, and the fitted rate is for those pulses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from labrram.analysis.jumptable import crosssim_file, read_crosssim_table
from labrram.analysis.responses import PULSE_KINDS, PulseResponses

TABLES = {"SET": "increasing", "RESET": "decreasing"}


def crosssim_responses(
    folders: list[Path], pulses: dict[str, tuple[float, float]], points: int = 51
) -> PulseResponses:
    """One device per folder; ``pulses`` maps SET and RESET to the (amplitude_v, width_s) behind them."""
    uniform = np.linspace(0.0, 1.0, points)
    parts: dict[str, list[np.ndarray]] = {
        name: [] for name in ("g", "delta", "kind", "amplitude", "width", "device")
    }
    for device, folder in enumerate(folders):
        for kind, name in TABLES.items():
            centers, cdf, matrix = read_crosssim_table(crosssim_file(Path(folder), name))
            samples = np.stack([np.interp(uniform, cdf, matrix[:, b]) for b in range(centers.size)])
            amplitude_v, width_s = pulses[kind]
            parts["g"].append(np.repeat(centers, points))
            parts["delta"].append(samples.ravel())
            parts["kind"].append(np.full(samples.size, PULSE_KINDS.index(kind), dtype=np.int8))
            parts["amplitude"].append(np.full(samples.size, amplitude_v))
            parts["width"].append(np.full(samples.size, width_s))
            parts["device"].append(np.full(samples.size, device, dtype=np.int64))
    joined = {name: np.concatenate(values) for name, values in parts.items()}
    size = joined["g"].size
    return PulseResponses(
        g_before_s=joined["g"],
        delta_s=joined["delta"],
        kind=pd.Categorical.from_codes(joined["kind"], categories=PULSE_KINDS),
        amplitude_v=joined["amplitude"],
        width_s=joined["width"],
        compliance_a=np.full(size, np.nan),
        device_id=joined["device"],
        run_id=np.zeros(size, dtype=np.int64),
        since_reversal=np.zeros(size, dtype=np.int64),
    )
