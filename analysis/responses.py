"""From the record stream to what estimators fit: (G before, dG) per pulse, and pairs of successive reads.

A pulse's response is the conductance read right after it minus the conductance read right before it,
on the same device in the same run, with no other pulse to that device in between. Pulses without a
read on both sides (a RESET burst before tuning, say) give no pair. Two reads of a device with no pulse
between them give a read pair (read noise, plus whatever relaxation happened between them).

Records are merged by (run, device, seq) with one stable sort, so 10^7 records take well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from labrram.errors import AnalysisError

PULSE_KINDS = ("SET", "RESET", "FORM")


@dataclass(frozen=True)
class PulseResponses:
    """One row per pulse with a read on both sides: conductances in siemens, times in seconds."""

    g_before_s: np.ndarray
    delta_s: np.ndarray
    kind: np.ndarray | pd.Categorical  # "SET", "RESET" or "FORM" (a categorical: 1 byte a row)
    amplitude_v: np.ndarray
    width_s: np.ndarray
    compliance_a: np.ndarray  # NaN where the pulse had none
    device_id: np.ndarray
    run_id: np.ndarray
    # n for the n-th pulse of its kind since the device's last pulse of another kind in the run; 0 where
    # the run holds no earlier pulse of another kind (polarity memory: steps after a reversal).
    since_reversal: np.ndarray

    def __len__(self) -> int:
        return self.g_before_s.size

    def where(self, mask: np.ndarray) -> PulseResponses:
        """The rows where ``mask`` is true."""
        return PulseResponses(**{name: getattr(self, name)[mask] for name in self.__dataclass_fields__})

    @cached_property
    def _condition_codes(self) -> tuple[np.ndarray, dict[int, tuple[str, float, float]]]:
        """A code per row for its (kind, amplitude, width), and the condition of each code (hashing, fast)."""
        if isinstance(self.kind, pd.Categorical):
            kinds, kind_codes = list(self.kind.categories), self.kind.codes.astype(np.int64)
        else:
            kind_codes, kinds = pd.factorize(np.asarray(self.kind))
        amplitude_codes, amplitudes = pd.factorize(self.amplitude_v)
        width_codes, widths = pd.factorize(self.width_s)
        codes = (kind_codes * len(amplitudes) + amplitude_codes) * len(widths) + width_codes
        described = {}
        for code in np.flatnonzero(np.bincount(codes)) if codes.size else ():
            k, rest = divmod(int(code), len(amplitudes) * len(widths))
            a, w = divmod(rest, len(widths))
            described[int(code)] = (str(kinds[k]), float(amplitudes[a]), float(widths[w]))
        return codes, described

    def conditions(self, kind: str) -> list[tuple[float, float, int]]:
        """(amplitude_v, width_s, pulses) of each distinct pulse of ``kind``, most frequent first."""
        codes, described = self._condition_codes
        counts = np.bincount(codes) if codes.size else np.zeros(0, dtype=np.int64)
        found = [(a, w, int(counts[c])) for c, (k, a, w) in described.items() if k == kind]
        return sorted(found, key=lambda item: -item[2])

    def condition_mask(self, kind: str, amplitude_v: float, width_s: float) -> np.ndarray:
        """Rows of one pulse kind and condition."""
        codes, described = self._condition_codes
        wanted = [c for c, (k, a, w) in described.items() if k == kind and a == amplitude_v and w == width_s]
        return np.isin(codes, wanted)


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


def _column(table: pa.Table, name: str, dtype: type = float) -> np.ndarray:
    """A column as a numpy array of ``dtype`` (no copy where Arrow already holds it so)."""
    return np.asarray(table[name].to_numpy(zero_copy_only=False), dtype=dtype)


def _kinds(table: pa.Table, rows: np.ndarray) -> pd.Categorical:
    """The pulse kind of the given rows, dictionary-encoded by Arrow (no Python string per row)."""
    if rows.size == 0:
        return pd.Categorical([], categories=PULSE_KINDS)
    encoded = pc.dictionary_encode(table["kind"]).combine_chunks()
    names = [str(name) for name in encoded.dictionary.to_pylist()]
    unknown = set(names) - set(PULSE_KINDS)
    if unknown:
        raise AnalysisError(f"pulses of unknown kinds {sorted(unknown)}; known: {', '.join(PULSE_KINDS)}")
    remap = np.array([PULSE_KINDS.index(name) for name in names], dtype=np.int8)
    codes = remap[np.asarray(encoded.indices.to_numpy(zero_copy_only=False))[rows]]
    return pd.Categorical.from_codes(codes, categories=PULSE_KINDS)


def _events(pulses: pa.Table, reads: pa.Table) -> _Events:
    run = np.concatenate([_column(pulses, "run_id", np.int64), _column(reads, "run_id", np.int64)])
    device = np.concatenate([_column(pulses, "device_id", np.int64), _column(reads, "device_id", np.int64)])
    seq = np.concatenate([_column(pulses, "seq", np.int64), _column(reads, "seq", np.int64)])
    is_pulse = np.zeros(run.size, dtype=bool)
    is_pulse[: pulses.num_rows] = True
    source = np.concatenate([np.arange(pulses.num_rows), np.arange(reads.num_rows)])
    if run.size == 0:
        return _Events(run, is_pulse, source)
    run_code = pd.factorize(run)[0].astype(np.int64, copy=False)  # hashing: no sort of the column
    device_code = pd.factorize(device)[0].astype(np.int64, copy=False)
    group = run_code * (int(device_code.max()) + 1) + device_code
    if int(group.max()) < 2**22 and int(seq.max()) < 2**40 and int(seq.min()) >= 0:
        # One int64 key; records arrive in runs already sorted by seq, which a stable sort merges fast.
        group <<= 40
        group |= seq
        order = np.argsort(group, kind="stable")
        ordered = group[order]
        ordered >>= 40
        return _Events(ordered, is_pulse[order], source[order])
    order = np.lexsort((seq, group))
    return _Events(group[order], is_pulse[order], source[order])


def _pulses_since_reversal(events: _Events, kind_codes: np.ndarray, size: int) -> np.ndarray:
    """For each row of the pulse table: its place in the run of same-kind pulses it belongs to (1, 2, ...),
    0 where that run began the device's pulses in the run (no reversal before it)."""
    at = np.flatnonzero(events.is_pulse)
    rows = events.source[at]
    group, kind = events.group[at], kind_codes[rows]
    new_group = np.ones(at.size, dtype=bool)
    new_group[1:] = group[1:] != group[:-1]
    new_stretch = new_group.copy()
    new_stretch[1:] |= kind[1:] != kind[:-1]
    starts = np.flatnonzero(new_stretch)
    stretch = np.cumsum(new_stretch) - 1
    place = np.arange(at.size) - starts[stretch] + 1
    result = np.zeros(size, dtype=np.int64)
    result[rows] = np.where(new_group[starts[stretch]], 0, place)
    return result


def _checked_conductance(reads: pa.Table) -> np.ndarray:
    conductance = _column(reads, "conductance_s")
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
    every_kind = _kinds(pulses, np.arange(pulses.num_rows)).codes
    since_reversal = _pulses_since_reversal(events, every_kind, pulses.num_rows)
    return PulseResponses(
        g_before_s=before,
        delta_s=after - before,
        kind=pd.Categorical.from_codes(every_kind[rows], categories=PULSE_KINDS),
        amplitude_v=_column(pulses, "amplitude_v")[rows],
        width_s=_column(pulses, "width_s")[rows],
        compliance_a=_column(pulses, "compliance_a")[rows],
        device_id=_column(pulses, "device_id", np.int64)[rows],
        run_id=_column(pulses, "run_id", np.int64)[rows],
        since_reversal=since_reversal[rows],
    )


def read_pairs(pulses: pa.Table, reads: pa.Table) -> ReadPairs:
    """Every two successive reads of a device in a run with no pulse to it in between."""
    conductance = _checked_conductance(reads)
    times = _column(reads, "t_s")
    events = _events(pulses, reads)
    group, is_pulse, source = events.group, events.is_pulse, events.source
    ok = ~is_pulse[:-1] & ~is_pulse[1:] & (group[:-1] == group[1:])
    first = source[:-1][ok]
    second = source[1:][ok]
    return ReadPairs(
        first_s=conductance[first],
        second_s=conductance[second],
        interval_s=times[second] - times[first],
        device_id=_column(reads, "device_id", np.int64)[first],
    )
