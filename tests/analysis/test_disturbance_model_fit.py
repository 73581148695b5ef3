"""`labrram fit --part disturbance`: the simulation-based match of V/3 disturbance by order."""

from __future__ import annotations

import numpy as np
import pytest

from labrram.analysis.disturbance_model_fit import (
    ORDERS,
    fit_disturbance_model,
    sd_by_order,
    simulate_disturbance,
)
from labrram.errors import AnalysisError
from labrram.physics import HFO2_1T1R, TIO2_PASSIVE_8X8


def test_the_match_finds_the_relaxation_spread_the_data_were_simulated_with():
    truth = {"relaxation_spread_s": 2 * TIO2_PASSIVE_8X8.parameters.relaxation_spread_s}
    n_after, delta_s = simulate_disturbance(TIO2_PASSIVE_8X8, truth, chips=5, first_seed=100)
    fit = fit_disturbance_model(
        n_after,
        delta_s,
        TIO2_PASSIVE_8X8,
        "simulated truth",
        chips=3,
        blocks=1,
        fractions=(0.0,),
        spread_scales=(1.0, 2.0),
    )
    assert fit.overrides["relaxation_spread_s"] == pytest.approx(truth["relaxation_spread_s"])
    (table,) = [fit.tables["sd_by_order"]]
    assert [row["n_after"] for row in table] == list(ORDERS)
    assert all(row["measured_low_s"] <= row["measured_sd_s"] <= row["measured_high_s"] for row in table)
    scores = {row["spread_scale"]: row["mismatch"] for row in fit.tables["grid"]}
    assert scores[2.0] < scores[1.0]


def test_sd_by_order_pools_neighbouring_orders():
    n_after = np.array([1, 2, 1, 2, 5, 4, 6, 10, 9, 11, 20, 18, 22, 30, 27, 33])
    delta_s = np.arange(n_after.size, dtype=float)
    sds = sd_by_order(n_after, delta_s)
    assert sds[0] == pytest.approx(np.subtract(*np.percentile([0, 1, 2, 3], [75, 25])) / 1.349)
    assert sds[-1] == pytest.approx(np.subtract(*np.percentile([13, 14, 15], [75, 25])) / 1.349)


def test_arrays_without_half_select_and_data_without_every_order_are_refused():
    n_after, delta_s = np.array([1, 1, 1, 2]), np.array([1e-6, 2e-6, -1e-6, 0.0])
    with pytest.raises(AnalysisError, match="not a passive array"):
        fit_disturbance_model(n_after, delta_s, HFO2_1T1R, "1T1R")
    with pytest.raises(AnalysisError, match="no measured disturbance at N"):
        fit_disturbance_model(n_after, delta_s, TIO2_PASSIVE_8X8, "only N = 1, 2")
