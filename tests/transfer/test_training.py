"""Training against devices: hardware-aware (seed 002), error-aware binary (seed 001), on-chip (seed 003)."""

from __future__ import annotations

import numpy as np
import pytest

from labrram.transfer import (
    MLP,
    AccuracySummary,
    OnChipSettings,
    TrainingSettings,
    TransferSettings,
    artificial_jump_table,
    consistency_table,
    digits,
    moons,
    train,
    train_binary,
    train_hardware_aware,
    train_on_chip,
    transfer_correctness,
)
from labrram.transfer.training import binary_accuracy
from tests.transfer import models


def test_the_consistency_table_counts_points_by_their_share_of_correct_transfers():
    # 20 transfers x 5 points: correct in 20, 19, 18, 10 and 3 of them.
    correct = np.zeros((20, 5), dtype=bool)
    for point, count in enumerate((20, 19, 18, 10, 3)):
        correct[:count, point] = True
    table = {row["band"]: row["points"] for row in consistency_table(correct)}
    assert table == {
        "100": 1,
        "95 <= x < 100": 1,
        "90 <= x < 95": 1,
        "80 <= x < 90": 0,
        "70 <= x < 80": 0,
        "60 <= x < 70": 0,
        "50 <= x < 60": 1,
        "x < 50": 1,
    }
    summary = AccuracySummary.of(correct, software=1.0)
    assert summary.at_least_95 == pytest.approx(0.4) and summary.at_least_90 == pytest.approx(0.6)
    assert summary.mean == pytest.approx(70 / 100)


def test_hardware_aware_training_beats_plain_at_95_percent_consistency():
    """Seed 002's recipe (2-8-1 sigmoid, Adam, batches of 256) on devices with seed 002's figures."""
    dataset, model = moons(0), models.seed_002_like()
    settings = TrainingSettings(epochs=1000, learning_rate=0.03)
    transfer = TransferSettings(transfers=400)
    plain, aware = [], []
    for seed in (0, 1):
        start = MLP.create((2, 8, 1), "sigmoid", np.random.default_rng(seed))
        network = start.copy()
        train(network, dataset, settings)
        plain.append(
            AccuracySummary.of(
                transfer_correctness(network, dataset.x_test, dataset.y_test, model, transfer, 9), 1
            )
        )
        network = start.copy()
        train_hardware_aware(network, dataset, model, settings)
        aware.append(
            AccuracySummary.of(
                transfer_correctness(network, dataset.x_test, dataset.y_test, model, transfer, 9), 1
            )
        )
    plain_95 = np.mean([s.at_least_95 for s in plain])
    aware_95 = np.mean([s.at_least_95 for s in aware])
    assert aware_95 > plain_95 + 0.05, (plain_95, aware_95)
    assert all(s.mean > 0.9 for s in aware)


@pytest.fixture(scope="module")
def binary_networks():
    dataset = digits(0)
    networks = {}
    for rate in (0.0, 0.1):
        network = MLP.create((64, 64, 10), "tanh", np.random.default_rng(0))
        train_binary(network, dataset, TrainingSettings(epochs=40, batch_size=32, learning_rate=0.005), rate)
        networks[rate] = network
    return dataset, networks


def test_binary_networks_shrug_off_rare_bit_errors_and_error_aware_training_helps_at_high_rates(
    binary_networks,
):
    dataset, networks = binary_networks
    plain = networks[0.0]
    clean = binary_accuracy(plain, dataset.x_test, dataset.y_test, 0.0, 1).mean()
    assert clean > 0.9
    assert binary_accuracy(plain, dataset.x_test, dataset.y_test, 1e-4, 20).mean() == pytest.approx(
        clean, abs=0.005
    )
    at_high = {
        rate: binary_accuracy(n, dataset.x_test, dataset.y_test, 0.1, 30, seed=3).mean()
        for rate, n in networks.items()
    }
    assert at_high[0.1] > at_high[0.0] + 0.02, at_high


@pytest.fixture(scope="module")
def digits_task():
    return digits(0)


def _on_chip(dataset, **table) -> float:
    network = MLP.create((64, 24, 10), "sigmoid", np.random.default_rng(0))
    reset_ratio = table.pop("reset_ratio", 1.0)
    history = train_on_chip(
        network, dataset, artificial_jump_table(steps=500, **table), OnChipSettings(reset_ratio=reset_ratio)
    )
    return float(np.mean(history["test_accuracy"][-3:]))


def test_on_chip_training_with_a_symmetric_linear_table_comes_near_software(digits_task):
    network = MLP.create((64, 24, 10), "sigmoid", np.random.default_rng(0))
    train(network, digits_task, TrainingSettings(epochs=60, batch_size=64, learning_rate=0.01))
    software = np.mean(network.predict(digits_task.x_test) == digits_task.y_test)
    assert _on_chip(digits_task) > software - 0.06


def test_on_chip_training_falls_with_asymmetry_and_fewer_reset_pulses_bring_it_back(digits_task):
    linear = _on_chip(digits_task)
    asymmetric = _on_chip(digits_task, asymmetry=4.0)
    compensated = _on_chip(digits_task, asymmetry=4.0, reset_ratio="auto")
    assert asymmetric < linear - 0.1
    assert compensated > linear - 0.05
