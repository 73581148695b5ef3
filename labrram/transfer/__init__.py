"""The transfer evaluator: what a DeviceModel does to a neural network transferred onto its devices."""

from labrram.transfer.datasets import Dataset, digits, load_task, moons
from labrram.transfer.evaluate import Evaluation, evaluate, evaluate_task
from labrram.transfer.metrics import AccuracySummary, consistency_table
from labrram.transfer.montecarlo import (
    NONIDEALITIES,
    TransferSettings,
    transfer_correctness,
    transferred_weights,
)
from labrram.transfer.network import MLP
from labrram.transfer.onchip import OnChipSettings, artificial_jump_table, train_on_chip
from labrram.transfer.training import TrainingSettings, train, train_binary, train_hardware_aware

__all__ = [
    "MLP",
    "NONIDEALITIES",
    "AccuracySummary",
    "Dataset",
    "Evaluation",
    "OnChipSettings",
    "TrainingSettings",
    "TransferSettings",
    "artificial_jump_table",
    "consistency_table",
    "digits",
    "evaluate",
    "evaluate_task",
    "load_task",
    "moons",
    "train",
    "train_binary",
    "train_hardware_aware",
    "train_on_chip",
    "transfer_correctness",
    "transferred_weights",
]
