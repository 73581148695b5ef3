"""Pulse responses and read pairs from the record stream: which pulses pair, which reads pair."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labrram.analysis.responses import pulse_responses, read_pairs
from labrram.errors import AnalysisError
from tests.analysis.helpers import tables


def test_a_pulse_pairs_with_the_reads_of_its_own_device_around_it():
    # Device 1 and 2 interleave within one run; run 2 reuses seq numbers.
    events = [
        (1, 1, 0, "R", 100e-6),
        (1, 2, 1, "R", 300e-6),
        (1, 1, 2, "P", 1.0),
        (1, 2, 3, "P", -1.0),
        (1, 1, 4, "R", 110e-6),
        (1, 2, 5, "R", 290e-6),
        (2, 1, 0, "R", 200e-6),
        (2, 1, 1, "P", 1.0),
        (2, 1, 2, "R", 205e-6),
    ]
    responses = pulse_responses(*tables(events))
    order = np.argsort(responses.g_before_s)
    assert responses.g_before_s[order] == pytest.approx([100e-6, 200e-6, 300e-6])
    assert responses.delta_s[order] == pytest.approx([10e-6, 5e-6, -10e-6])
    assert list(responses.kind[order]) == ["SET", "SET", "RESET"]
    assert list(responses.run_id[order]) == [1, 2, 1]


def test_pulses_without_a_read_on_both_sides_give_no_pair():
    events = [
        (1, 1, 0, "P", -2.0),  # a RESET burst before the first read
        (1, 1, 1, "P", -2.0),
        (1, 1, 2, "R", 100e-6),
        (1, 1, 3, "P", 1.0),
        (1, 1, 4, "P", 1.0),  # two pulses in a row: neither has reads on both sides
        (1, 1, 5, "R", 120e-6),
        (1, 1, 6, "P", 1.0),  # the last record of the run
    ]
    assert len(pulse_responses(*tables(events))) == 0


def test_each_pulse_knows_its_place_since_the_last_reversal_of_its_device():
    # Device 1: two RESETs (no reversal behind them), three SETs, one RESET; device 2 interleaved, and
    # a new run starts afresh.
    events = [(1, 1, 0, "R", 300e-6)]
    amplitudes = [-2.0, -2.0, 1.0, 1.0, 1.0, -2.0]
    for i, amplitude in enumerate(amplitudes):
        events += [(1, 1, 2 * i + 1, "P", amplitude), (1, 1, 2 * i + 2, "R", 300e-6 - i * 1e-6)]
    events += [(1, 2, 20, "R", 200e-6), (1, 2, 21, "P", 1.0), (1, 2, 22, "R", 210e-6)]
    events += [(2, 1, 0, "R", 100e-6), (2, 1, 1, "P", 1.0), (2, 1, 2, "R", 105e-6)]
    responses = pulse_responses(*tables(events))
    order = np.lexsort((-responses.g_before_s, responses.device_id, responses.run_id))
    assert list(responses.since_reversal[order]) == [0, 0, 1, 2, 3, 1, 0, 0]


def test_reads_pair_only_without_a_pulse_between_them():
    events = [
        (1, 1, 0, "R", 100e-6),
        (1, 1, 1, "R", 101e-6),
        (1, 1, 2, "P", 1.0),
        (1, 1, 3, "R", 150e-6),
        (1, 2, 4, "R", 300e-6),
        (1, 1, 5, "R", 151e-6),
    ]
    pairs = read_pairs(*tables(events))
    assert sorted(zip(pairs.first_s, pairs.second_s, strict=True)) == [(100e-6, 101e-6), (150e-6, 151e-6)]
    assert sorted(pairs.interval_s) == [1.0, 2.0]


def test_a_nan_read_is_refused_with_a_clear_error():
    events = [(1, 1, 0, "R", 100e-6), (1, 1, 1, "P", 1.0), (1, 1, 2, "R", float("nan"))]
    with pytest.raises(AnalysisError, match="1 of 2 reads have no finite conductance"):
        pulse_responses(*tables(events))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 3), st.booleans(), st.floats(1e-5, 1e-3)), min_size=1, max_size=60))
def test_every_pair_is_a_pulse_between_two_reads_of_one_device(stream):
    events = [
        (1, device, seq, "P" if pulse else "R", 1.0 if pulse else g)
        for seq, (device, pulse, g) in enumerate(stream)
    ]
    responses = pulse_responses(*tables(events))
    # Brute force: per device, pulses whose neighbours in that device's stream are reads.
    expected = []
    for device in {e[1] for e in events}:
        own = [e for e in events if e[1] == device]
        for before, pulse, after in zip(own, own[1:], own[2:], strict=False):
            if pulse[3] == "P" and before[3] == "R" and after[3] == "R":
                expected.append((before[4], after[4] - before[4]))
    got = sorted(zip(responses.g_before_s, responses.delta_s, strict=True))
    assert got == sorted(expected)
