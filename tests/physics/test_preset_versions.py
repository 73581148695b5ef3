"""Presets are reproducible by name: version 1 of each gives the states it gave before the step-model,
relaxation and fluctuation parameters existed (values recorded from that code, same seeds)."""

from __future__ import annotations

import numpy as np
import pytest

from labrram.physics import HFO2_1T1R, TIO2_PASSIVE_8X8
from labrram.physics.array import CrossbarArray
from labrram.physics.presets import TIO2_PASSIVE_8X8_V2, get_preset

RECORDED_S = {
    "tio2-passive-8x8@1": [
        1.627390655528e-4, 4.267359278058e-4, 4.552868484221e-4, 1.022785430057e-4,
        4.657151665229e-4, 3.378713249657e-4, 5.047005953741e-4, 3.943445633926e-4,
    ],
    "hfo2-1t1r@1": [
        2.674350787751e-4, 2.516449613073e-4, 8.749875749139e-5, 1.065598558041e-5,
        2.229575363516e-4, 2.748630997355e-4, 3.489017022394e-7, 9.639769593431e-6,
    ],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(RECORDED_S))
def test_version_one_reproduces_its_recorded_states(name):
    preset = get_preset(name)
    array = CrossbarArray(preset.parameters, 2, 4, preset.kind, np.random.default_rng(5))
    rng = np.random.default_rng(1)
    for i in range(
        60
    ):  # pulses of both polarities, with and without compliance, ageing at three temperatures
        devices = rng.choice(8, 3, replace=False)
        array.apply_voltage(devices, rng.uniform(-2.5, 3.0, 3), 200e-9, 100e-6 if i % 2 else None)
        array.advance(rng.uniform(0, 10), 25 + 60 * (i % 3))
    read_s = array.measure_cell_currents(slice(None), 0.2) / 0.2
    np.testing.assert_allclose(read_s, RECORDED_S[name], rtol=1e-9)


def test_a_bare_name_is_the_newest_version():
    assert get_preset("tio2-passive-8x8") is TIO2_PASSIVE_8X8_V2 and TIO2_PASSIVE_8X8_V2.version == 2
    assert get_preset("tio2-passive-8x8@1") is TIO2_PASSIVE_8X8 and TIO2_PASSIVE_8X8.version == 1
    assert get_preset("hfo2-1t1r") is HFO2_1T1R and HFO2_1T1R.version == 1
