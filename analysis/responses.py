"""From the record stream to what estimators fit: (G before, dG) per pulse, and pairs of successive reads.

A pulse's response is the conductance read right after it minus the conductance read right before it,
on the same device in the same run, with no other pulse to that device in between. Pulses without a
read on both sides (a RESET burst before tuning, say) give no pair. Two reads of a device with no pulse
between them give a read pair (read noise, plus whatever relaxation happened between them).

Records are merged by (run, device, seq) with one stable sort, so 10^7 records take well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from labrram.errors import AnalysisError


@dataclass(frozen=True)
class PulseResponses:
    """One row per pulse with a read on both sides: conductances in siemens, times in seconds."""

    g_before_s: np.ndarray
    delta_s: np.ndarray
    kind: np.ndarray  # "SET", "RESET" or "FORM"
    amplitude_v: np.ndarray
    width_s: np.ndarray
    compliance_a: np.ndarray  # NaN where the pulse had none
    device_id: np.ndarray
    run_id: np.ndarray

    def __len__(self) -> int:
        return self.g_before_s.size

    def where(self, mask: np.ndarray) -> PulseResponses:
        """The rows where ``mask`` is true."""
        return PulseResponses(**{name: getattr(self, name)[mask] for name in self.__dataclass_fields__})

    def conditions(self, kind: str) -> list[tuple[float, float, int]]:
        """(amplitude_v, width_s, pulses) of each distinct pulse of ``kind``, most frequent first."""
        mask = self.kind == kind
        if not mask.any():
            return []
        pairs = np.stack([self.amplitude_v[mask], self.width_s[mask]], axis=1)
        unique, counts = np.unique(pairs, axis=0, return_counts=True)
        order = np.argsort(-counts, kind="stable")
        return [(float(unique[i, 0]), float(unique[i, 1]), int(counts[i])) for i in order]


@dataclass(frozen=True)
class ReadPairs:
    """Successive reads of one device with no pulse between them."""

    first_s: np.ndarray
    second_s: np.ndarray
    interval_s: np.ndarray
    device_id: np.ndarray

    def __len__(self) -> int:
        return self.first_s.size


@dataclass(frozen=True)
class _Events:
    """Pulses and reads of the same runs, sorted by run, device and sequence number."""

    group: np.ndarray  # one code per (run, device)
    is_pulse: np.ndarray
    source: np.ndarray  # row in the pulse or read table


def _column(table: pa.Table, name: str) -> np.ndarray:
    return table[name].to_numpy(zero_copy_only=False)


def _events(pulses: pa.Table, reads: pa.Table) -> _Events:
    run = np.concatenate([_column(pulses, "run_id"), _column(reads, "run_id")]).astype(np.int64)
    device = np.concatenate([_column(pulses, "device_id"), _column(reads, "device_id")]).astype(np.int64)
    seq = np.concatenate([_column(pulses, "seq"), _column(reads, "seq")]).astype(np.int64)
    is_pulse = np.zeros(run.size, dtype=bool)
    is_pulse[: pulses.num_rows] = True
    source = np.concatenate([np.arange(pulses.num_rows), np.arange(reads.num_rows)])
    if run.size == 0:
        return _Events(run, is_pulse, source)
    _, run_code = np.unique(run, return_inverse=True)
    _, device_code = np.unique(device, return_inverse=True)
    group = run_code.astype(np.int64) * (int(device_code.max()) + 1) + device_code
    if int(group.max()) < 2**22 and int(seq.max()) < 2**40 and int(seq.min()) >= 0:
        # One int64 key; records arrive in runs already sorted by seq, which a stable sort merges fast.
        order = np.argsort((group << 40) | seq, kind="stable")
    else:
        order = np.lexsort((seq, group))
    return _Events(group[order], is_pulse[order], source[order])


def _checked_conductance(reads: pa.Table) -> np.ndarray:
    conductance = _column(reads, "conductance_s").astype(float)
    bad = ~np.isfinite(conductance)
    if bad.any():
        raise AnalysisError(
            f"{int(bad.sum())} of {conductance.size} reads have no finite conductance (NaN or infinite); "
            "remove or repair them before fitting"
        )
    return conductance


def pulse_responses(pulses: pa.Table, reads: pa.Table) -> PulseResponses:
    """(G before, dG) of every pulse read on both sides (tables as `labrram.db.columnar` returns)."""
    conductance = _checked_conductance(reads)
    events = _events(pulses, reads)
    group, is_pulse, source = events.group, events.is_pulse, events.source
    inner = np.arange(1, group.size - 1)
    ok = (
        is_pulse[inner]
        & ~is_pulse[inner - 1]
        & ~is_pulse[inner + 1]
        & (group[inner - 1] == group[inner])
        & (group[inner + 1] == group[inner])
    )
    at = inner[ok]
    before = conductance[source[at - 1]]
    after = conductance[source[at + 1]]
    rows = source[at]
    compliance = _column(pulses, "compliance_a").astype(float)[rows]
    return PulseResponses(
        g_before_s=before,
        delta_s=after - before,
        kind=_column(pulses, "kind").astype(str)[rows],
        amplitude_v=_column(pulses, "amplitude_v").astype(float)[rows],
        width_s=_column(pulses, "width_s").astype(float)[rows],
        compliance_a=compliance,
        device_id=_column(pulses, "device_id").astype(np.int64)[rows],
        run_id=_column(pulses, "run_id").astype(np.int64)[rows],
    )


def read_pairs(pulses: pa.Table, reads: pa.Table) -> ReadPairs:
    """Every two successive reads of a device in a run with no pulse to it in between."""
    conductance = _checked_conductance(reads)
    times = _column(reads, "t_s").astype(float)
    events = _events(pulses, reads)
    group, is_pulse, source = events.group, events.is_pulse, events.source
    ok = ~is_pulse[:-1] & ~is_pulse[1:] & (group[:-1] == group[1:])
    first = source[:-1][ok]
    second = source[1:][ok]
    return ReadPairs(
        first_s=conductance[first],
        second_s=conductance[second],
        interval_s=times[second] - times[first],
        device_id=_column(reads, "device_id").astype(np.int64)[first],
    )
