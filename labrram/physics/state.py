"""Save and restore a simulated chip's state, so that a simulated chip outlives the process that used it.

A chip is rebuilt from its bench file (same seed: the same devices); what a session changes is then
written over it: every device's conductance, age bookkeeping, switching history, stuck and virgin
flags, fluctuation states, the chip's clock and temperature, and the random streams' positions, so the
restored chip continues exactly where the saved one stopped. The file is an ``.npz`` (arrays, and JSON
text for the streams; no pickle) holding a fingerprint of the chip's parameters and geometry: restoring
onto a different chip is refused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from labrram.errors import ConfigError
from labrram.physics.chip import SimulatedChip

_ARRAY_FIELDS = (
    "_g",
    "_programmed_at_s",
    "_evaluated_at_s",
    "_reversals",
    "_last_polarity",
    "_relaxing",
    "_pulse_polarity",
    "_polarity_run",
)
_POPULATION_FIELDS = ("stuck", "stuck_conductance_s", "virgin")
_FLUCTUATION_FIELDS = ("flicker", "read_at_s", "rtn_amplitude", "rtn_rate_per_s", "rtn_high")


def fingerprint(chip: SimulatedChip) -> str:
    """What makes two chips the same: each array's name, size, kind and parameters."""
    description = [
        [name, array.rows, array.cols, str(array.kind), asdict(array.parameters)]
        for name, array in sorted(chip.arrays.items())
    ]
    return hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()


def save_chip(chip: SimulatedChip, path: Path) -> None:
    """Write the chip's state (atomically: a half-written file never replaces a good one)."""
    path = Path(path)
    content: dict[str, np.ndarray] = {
        "fingerprint": np.array(fingerprint(chip)),
        "now_s": np.array(chip.now_s),
        "temperature_c": np.array(chip.temperature_c),
    }
    streams = {}
    for name, array in chip.arrays.items():
        for field in _ARRAY_FIELDS:
            content[f"{name}/{field}"] = getattr(array, field)
        for field in _POPULATION_FIELDS:
            content[f"{name}/population.{field}"] = getattr(array.population, field)
        content[f"{name}/_effective_age_s"] = np.array(array._effective_age_s)
        content[f"{name}/_clock_s"] = np.array(array._clock_s)
        streams[name] = {
            "switching": array._rng.bit_generator.state,
            "compliance": array._compliance_rng.bit_generator.state,
        }
        if array._fluctuations is not None:
            for field in _FLUCTUATION_FIELDS:
                content[f"{name}/fluctuations.{field}"] = getattr(array._fluctuations, field)
            streams[name]["fluctuations"] = array._fluctuation_rng.bit_generator.state
    content["streams"] = np.array(json.dumps(streams))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".part.npz")
    np.savez(temporary, **content)
    temporary.replace(path)


def load_chip(chip: SimulatedChip, path: Path) -> None:
    """Overwrite a freshly built chip with a saved state; ConfigError if it was another chip's."""
    with np.load(path, allow_pickle=False) as saved:
        if str(saved["fingerprint"]) != fingerprint(chip):
            raise ConfigError(
                str(path),
                "holds the state of a different simulated chip (geometry, preset or overrides differ, "
                "or it was saved by a labrram whose device model had other parameters)",
            )
        streams = json.loads(str(saved["streams"]))
        for name, array in chip.arrays.items():
            for field in _ARRAY_FIELDS:
                setattr(array, field, saved[f"{name}/{field}"].copy())
            for field in _POPULATION_FIELDS:
                setattr(array.population, field, saved[f"{name}/population.{field}"].copy())
            array._effective_age_s = float(saved[f"{name}/_effective_age_s"])
            array._clock_s = float(saved[f"{name}/_clock_s"])
            if array._fluctuations is not None:
                for field in _FLUCTUATION_FIELDS:
                    setattr(array._fluctuations, field, saved[f"{name}/fluctuations.{field}"].copy())
                array._fluctuation_rng.bit_generator.state = streams[name]["fluctuations"]
            array._has_virgin = bool(array.population.virgin.any())
            array._rng.bit_generator.state = streams[name]["switching"]
            array._compliance_rng.bit_generator.state = streams[name]["compliance"]
        chip.now_s = float(saved["now_s"])
        chip.temperature_c = float(saved["temperature_c"])
