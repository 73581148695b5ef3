"""Mapping round trips, tiles in programming order, and each non-ideality moving accuracy its own way."""

from __future__ import annotations

import numpy as np
import pytest

from labrram.errors import LabrramError
from labrram.transfer import (
    MLP,
    NONIDEALITIES,
    TransferSettings,
    montecarlo,
    moons,
    train,
    transfer_correctness,
    transferred_weights,
)
from labrram.transfer.mapping import later_programmed, map_layer
from labrram.transfer.training import TrainingSettings
from tests.transfer import models


@pytest.fixture(scope="module")
def trained():
    dataset = moons(0)
    network = MLP.create((2, 8, 1), "sigmoid", np.random.default_rng(0))
    train(network, dataset, TrainingSettings(epochs=300, learning_rate=0.1))
    return network, dataset


@pytest.mark.parametrize("scheme", ["differential", "offset"])
def test_ideal_devices_give_back_the_software_weights_and_accuracy(trained, scheme):
    network, dataset = trained
    settings = TransferSettings(transfers=5, scheme=scheme)
    weights, biases, stuck = transferred_weights(
        network, models.ideal(), settings, 5, np.random.default_rng(0)
    )
    for w, b, w0, b0 in zip(weights, biases, network.weights, network.biases, strict=True):
        assert np.allclose(w, w0[None], rtol=1e-12, atol=1e-15) and np.allclose(
            b, b0[None], rtol=1e-12, atol=1e-15
        )
    assert not any(s.any() for s in stuck)
    correct = transfer_correctness(network, dataset.x_test, dataset.y_test, models.ideal(), settings)
    software = network.predict(dataset.x_test) == dataset.y_test
    assert np.array_equal(correct, np.broadcast_to(software, correct.shape))


def test_differential_pairs_hold_each_sign_on_its_own_device():
    weights = np.array([[0.5, -1.0], [0.0, 0.25]])
    mapping = map_layer(weights, np.array([0.1, -0.2]), (100e-6, 500e-6))
    positive, negative = mapping.targets_s
    # max |w| = 1 maps to the top of the window; the other device of each pair sits at the bottom.
    assert positive[0, 0] == pytest.approx(300e-6) and negative[0, 0] == pytest.approx(100e-6)
    assert negative[0, 1] == pytest.approx(500e-6) and positive[0, 1] == pytest.approx(100e-6)
    assert positive[1, 0] == negative[1, 0] == pytest.approx(100e-6)
    assert positive[2, 0] == pytest.approx(140e-6)  # the bias row, last


def test_devices_count_those_programmed_after_them_within_their_tile():
    n_after = later_programmed((10, 3), (8, 8), "column-major")
    # First tile: rows 0-7 x 3 columns, 24 devices programmed down each column in turn.
    assert n_after[0, 0] == 23 and n_after[7, 0] == 16 and n_after[0, 1] == 15 and n_after[7, 2] == 0
    # Second tile: rows 8-9, 6 devices.
    assert n_after[8, 0] == 5 and n_after[9, 2] == 0
    row_major = later_programmed((2, 3), (8, 8), "row-major")
    assert row_major.tolist() == [[5, 4, 3], [2, 1, 0]]
    with pytest.raises(LabrramError, match="programming order"):
        later_programmed((2, 2), (8, 8), "snake")


def _mean_accuracy(network, dataset, model, seed=1, **settings):
    options = TransferSettings(transfers=300, **settings)
    return transfer_correctness(network, dataset.x_test, dataset.y_test, model, options, seed).mean()


@pytest.mark.parametrize(
    ("component", "mild", "harsh"),
    [
        ("tuning", models.tuning(0.005), models.tuning(0.3)),
        ("disturbance", models.disturbance(1e-6, 2e-6), models.disturbance(60e-6, 120e-6)),
        ("stuck", models.stuck(0.001), models.stuck(0.05)),
        ("read_noise", models.read_noise(0.001), models.read_noise(0.3)),
    ],
)
def test_each_nonideality_alone_costs_accuracy_in_proportion(trained, component, mild, harsh):
    network, dataset = trained
    software = np.mean(network.predict(dataset.x_test) == dataset.y_test)
    everything = frozenset(NONIDEALITIES)
    mild_accuracy = _mean_accuracy(
        network, dataset, models.ideal().with_components(**{component: mild}), include=everything
    )
    harsh_accuracy = _mean_accuracy(
        network, dataset, models.ideal().with_components(**{component: harsh}), include=everything
    )
    assert software - 0.02 <= mild_accuracy <= software
    assert harsh_accuracy < mild_accuracy - 0.03


def test_retention_costs_accuracy_as_time_goes_by(trained):
    network, dataset = trained
    model = models.ideal().with_components(retention=models.retention(-8e-6, (10e-6) ** 2))
    early = _mean_accuracy(network, dataset, model, time_s=10.0)
    late = _mean_accuracy(network, dataset, model, time_s=1e8)
    assert early > late + 0.03
    # Excluding it by name removes it.
    assert _mean_accuracy(
        network, dataset, model, time_s=1e8, include=frozenset({"tuning"})
    ) == pytest.approx(np.mean(network.predict(dataset.x_test) == dataset.y_test))


def test_transfers_are_reproducible_and_chunks_do_not_change_their_statistics(trained, monkeypatch):
    network, dataset = trained
    model = models.seed_002_like()
    settings = TransferSettings(transfers=200)
    first = transfer_correctness(network, dataset.x_test, dataset.y_test, model, settings, seed=4)
    assert np.array_equal(
        first, transfer_correctness(network, dataset.x_test, dataset.y_test, model, settings, 4)
    )
    assert not np.array_equal(
        first, transfer_correctness(network, dataset.x_test, dataset.y_test, model, settings, 5)
    )
    monkeypatch.setattr(montecarlo, "CHUNK_ELEMENTS", 200 * 8 * 7)  # seven transfers a chunk
    chunked = transfer_correctness(network, dataset.x_test, dataset.y_test, model, settings, seed=4)
    assert chunked.shape == first.shape
    assert chunked.mean() == pytest.approx(first.mean(), abs=0.03)


def test_quantizing_needs_levels_and_bad_settings_are_refused(trained):
    network, dataset = trained
    with pytest.raises(LabrramError, match="multilevel levels"):
        transfer_correctness(
            network, dataset.x_test, dataset.y_test, models.ideal(), TransferSettings(quantize=True)
        )
    with pytest.raises(LabrramError, match="unknown non-idealities"):
        TransferSettings(include=frozenset({"cosmic rays"}))
    with pytest.raises(LabrramError, match="positive integer"):
        TransferSettings(transfers=0)
