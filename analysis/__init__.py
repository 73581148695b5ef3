"""Analysis: jump-tables, device distributions and the versioned device model, fitted from the database.

``JumpTable.from_database(engine, selection)`` and ``DeviceModel.from_database(engine, selection)`` fit
from measured runs; both ``save``/``load`` one JSON file (see `labrram.analysis.document`).
"""

from labrram.analysis.disturbance import DisturbanceByOrder
from labrram.analysis.jumptable import JumpTable
from labrram.analysis.levels import MultilevelLevels
from labrram.analysis.model import DeviceModel
from labrram.analysis.read_noise import ReadNoise
from labrram.analysis.retention import RetentionModel
from labrram.analysis.sampling import ChosenDistribution
from labrram.analysis.stuck import StuckDevices
from labrram.analysis.tuning import TuningImprecision

__all__ = [
    "ChosenDistribution",
    "DeviceModel",
    "DisturbanceByOrder",
    "JumpTable",
    "MultilevelLevels",
    "ReadNoise",
    "RetentionModel",
    "StuckDevices",
    "TuningImprecision",
]
