"""JumpTable: per-bin quantiles, sampling that reproduces them, thin bins, tables per device, files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from labrram.analysis.jumptable import JumpTable
from labrram.analysis.responses import PulseResponses
from labrram.errors import AnalysisError, ModelFileError
from tests.analysis.helpers import combined, synthetic_responses

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "crosssim-lookup-tables"


@pytest.fixture(scope="module")
def responses() -> PulseResponses:
    rng = np.random.default_rng(1)
    return combined(
        synthetic_responses(40_000, rng, kind="SET"), synthetic_responses(40_000, rng, kind="RESET")
    )


def test_samples_reproduce_each_bins_distribution(responses):
    table = JumpTable.fit(responses, bins=20)
    rng = np.random.default_rng(2)
    response = table.responses["SET"]
    set_pairs = responses.where(responses.kind == "SET")
    bins = response.bin_of(set_pairs.g_before_s)
    p_values = []
    for b in range(response.bins):
        measured = set_pairs.delta_s[bins == b]
        drawn = table.sample(np.full(3000, response.centers_s[b]), "SET", rng)
        p_values.append(stats.ks_2samp(measured, drawn).pvalue)
    # 20 independent tests at 1%: a failing bin or two would be chance, most failing a broken table.
    assert sum(p < 0.01 for p in p_values) <= 2
    # And the medians follow the known law: 2 uS x (1 - x) at the bin centres.
    x = (response.centers_s - 100e-6) / 400e-6
    assert table.curves("SET")["median_s"] == pytest.approx(2e-6 * (1 - x), abs=0.05e-6)
    assert -table.curves("RESET")["median_s"] == pytest.approx(2e-6 * (1 - x), abs=0.05e-6)


def test_plus_minus_one_sigma_curves_bracket_the_known_spread(responses):
    curves = JumpTable.fit(responses, bins=10).curves("SET")
    x = (curves["g_s"] - 100e-6) / 400e-6
    half_width = 0.5 * (curves["plus_sigma_s"] - curves["minus_sigma_s"])
    assert half_width == pytest.approx(0.2e-6 + 0.5e-6 * x, rel=0.1)


def test_equal_count_bins_hold_equal_shares(responses):
    table = JumpTable.fit(responses, bins=8, binning="equal-count")
    counts = table.responses["SET"].counts[0]
    assert counts.max() - counts.min() <= 2


def test_the_window_clips_a_step_and_steps_are_reproducible(responses):
    table = JumpTable.fit(responses, bins=10)
    g = np.full(1000, table.window_s[1])
    stepped = table.step(g, "SET", np.random.default_rng(5))
    assert np.all(stepped <= table.window_s[1])
    again = table.step(g, "SET", np.random.default_rng(5))
    assert np.array_equal(stepped, again)


def test_thin_bins_are_interpolated_from_their_neighbours_never_zero():
    rng = np.random.default_rng(3)
    pairs = synthetic_responses(20_000, rng)
    # Empty the middle of the window: bins 4-5 of 10 get nothing.
    x = (pairs.g_before_s - 100e-6) / 400e-6
    pairs = pairs.where((x < 0.4) | (x >= 0.6))
    table = JumpTable.fit(pairs, bins=10, min_count=10)
    response = table.responses["SET"]
    assert list(np.flatnonzero(response.filled[0])) == [4, 5]
    median = table.curves("SET")["median_s"]
    # Linear between bins 3 and 6, as the docstring promises.
    assert median[4] == pytest.approx(median[3] + (median[6] - median[3]) / 3, rel=1e-9)
    assert np.all(median[4:6] > 0.5e-6)
    assert any("interpolated" in note for note in table.notes)


@settings(max_examples=40, deadline=None)
@given(
    value=st.floats(-1e-5, 1e-5, allow_nan=False),
    count=st.integers(1, 50),
    bins=st.integers(1, 12),
)
def test_identical_changes_give_that_change_whatever_the_binning(value, count, bins):
    g = np.linspace(100e-6, 200e-6, count)
    pairs = PulseResponses(
        g,
        np.full(count, value),
        np.full(count, "SET"),
        np.full(count, 1.0),
        np.full(count, 1e-7),
        np.full(count, np.nan),
        np.zeros(count, dtype=np.int64),
        np.ones(count, dtype=np.int64),
        np.zeros(count, dtype=np.int64),
    )
    table = JumpTable.fit(pairs, bins=bins, min_count=1)
    drawn = table.sample(np.linspace(50e-6, 250e-6, 100), "SET", np.random.default_rng(0))
    assert np.allclose(drawn, value, atol=1e-20)


def test_one_bin_is_a_single_distribution(responses):
    table = JumpTable.fit(responses, bins=1)
    assert table.responses["SET"].bins == 1
    set_pairs = responses.where(responses.kind == "SET")
    assert table.curves("SET")["median_s"][0] == pytest.approx(np.median(set_pairs.delta_s), rel=1e-9)


def test_nan_pairs_and_bad_arguments_are_refused(responses):
    broken = responses.where(np.arange(len(responses)) < 100)
    broken.delta_s[3] = np.nan
    with pytest.raises(AnalysisError, match="NaN"):
        JumpTable.fit(broken)
    with pytest.raises(AnalysisError, match="binning"):
        JumpTable.fit(responses, binning="log")
    with pytest.raises(AnalysisError, match="no SET or RESET"):
        JumpTable.fit(responses.where(np.zeros(len(responses), dtype=bool)))


def test_the_most_frequent_pulse_condition_is_kept_and_said(responses):
    other = synthetic_responses(1000, np.random.default_rng(9))
    other.amplitude_v[:] = 1.5
    table = JumpTable.fit(combined(responses, other))
    assert table.responses["SET"].condition["amplitude_v"] == 1.2
    assert any("2 pulse conditions" in note for note in table.notes)
    pooled = JumpTable.fit(combined(responses, other), pool_conditions=True)
    assert pooled.responses["SET"].condition["pooled"]


def test_clusters_separate_two_kinds_of_device():
    rng = np.random.default_rng(4)
    gentle = synthetic_responses(20_000, rng, devices=10)
    strong = synthetic_responses(20_000, rng, devices=10)
    strong.delta_s[:] *= 3
    strong.device_id[:] += 10
    table = JumpTable.fit(combined(gentle, strong), bins=10, grouping="clusters", clusters=2)
    medians = sorted(float(np.median(table.curves("SET", t)["median_s"])) for t in range(2))
    assert medians[1] / medians[0] == pytest.approx(3, rel=0.15)
    assert sorted(table.table_weights) == [10, 10]
    per_device = JumpTable.fit(combined(gentle, strong), bins=5, grouping="device")
    assert per_device.tables == 20
    tables = per_device.assign_tables(1000, np.random.default_rng(0))
    drawn = per_device.sample(np.full(1000, 300e-6), "SET", np.random.default_rng(1), tables)
    assert drawn.shape == (1000,) and np.all(np.isfinite(drawn))


def test_goodness_of_fit_reports_each_bin(responses):
    table = JumpTable.fit(responses, bins=10)
    rows = table.goodness_of_fit(responses, "SET")
    assert len(rows) == 10 and all(row["p_value"] > 0.01 for row in rows)
    # Against pairs of a different law, the table fails.
    other = synthetic_responses(20_000, np.random.default_rng(8))
    other.delta_s[:] += 1e-6
    assert all(row["p_value"] < 1e-6 for row in table.goodness_of_fit(other, "SET"))


def test_a_saved_table_loads_identical_and_damage_is_caught(tmp_path, responses):
    table = JumpTable.fit(responses, bins=12, grouping="device", min_count=5)
    path = tmp_path / "table.json.gz"
    table.save(path)
    loaded = JumpTable.load(path)
    for kind in ("SET", "RESET"):
        assert np.array_equal(loaded.responses[kind].quantiles_s, table.responses[kind].quantiles_s)
        assert np.array_equal(loaded.responses[kind].filled, table.responses[kind].filled)
    assert loaded.table_labels == table.table_labels

    plain = tmp_path / "table.json"
    table.save(plain)
    document = json.loads(plain.read_text())
    document["payload"]["window_s"][0] *= 1.0001
    plain.write_text(json.dumps(document))
    with pytest.raises(ModelFileError, match="corrupt"):
        JumpTable.load(plain)
    document["format_version"] = 99
    plain.write_text(json.dumps(document))
    with pytest.raises(ModelFileError, match=r"version 99.*upgrade labrram"):
        JumpTable.load(plain)
    plain.write_text(plain.read_text()[:500])
    with pytest.raises(ModelFileError, match="corrupt or truncated"):
        JumpTable.load(plain)


def test_crosssim_layout_round_trips(tmp_path, responses):
    table = JumpTable.fit(responses, bins=15)
    table.to_crosssim(tmp_path / "cs")
    back = JumpTable.from_crosssim(tmp_path / "cs")
    for kind in ("SET", "RESET"):
        assert np.allclose(back.responses[kind].quantiles_s, table.responses[kind].quantiles_s, rtol=1e-12)
        assert np.allclose(back.responses[kind].edges_s, table.responses[kind].edges_s, rtol=1e-9)


@pytest.mark.skipif(
    not SHARED.exists(), reason="the shared measured data (../shared/data) is not beside this checkout"
)
def test_crosssim_taox_tables_load_as_one_table_per_device():
    folders = [SHARED / "TaOx_all_subsampled" / str(n) for n in (1, 2, 3)]
    table = JumpTable.from_crosssim(folders)
    assert table.tables == 3
    # Each device's own rows are its file's columns resampled onto the common bins, not altered: device
    # 1's median at a bin inside its own range is its file's medians (CDF 0.5) interpolated there.
    lines = (folders[0] / "dG_increasing.csv").read_text().splitlines()
    centers = np.array([float(v) for v in lines[1].split(",")])
    cdf = np.array([float(v) for v in lines[2].split(",")])
    matrix = np.array([[float(v) for v in line.split(",")] for line in lines[3:]])
    own_median = np.array([np.interp(0.5, cdf, matrix[:, b]) for b in range(centers.size)])
    response = table.responses["SET"]
    inside = np.flatnonzero(~response.filled[0])
    assert inside.size > 20
    expected = np.interp(response.centers_s[inside], centers, own_median)
    assert response.quantile(0.5, 0)[inside] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    enode = JumpTable.from_crosssim(SHARED / "ENODe")
    assert enode.responses["SET"].bins == 48
