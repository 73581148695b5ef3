"""The optional PyTorch path: Linear and Conv2d layers transferred like the numpy network's."""

from __future__ import annotations

import numpy as np
import pytest

from labrram.transfer import TransferSettings
from labrram.transfer.torch_models import transfer_accuracy, transferred_models
from tests.transfer import models

torch = pytest.importorskip("torch", reason="the optional PyTorch path (pip install 'labrram[torch]')")


def _classifier() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 3)
    )


def test_ideal_devices_leave_every_weight_as_it_was():
    module = _classifier()
    (copied,) = transferred_models(module, models.ideal(), TransferSettings(transfers=1), 1)
    for original, transferred in zip(module.parameters(), copied.parameters(), strict=True):
        assert torch.allclose(original, transferred, rtol=1e-5, atol=1e-7)


def test_device_spread_scatters_the_accuracy_of_transfers():
    module = _classifier()
    x = torch.randn(64, 1, 8, 8)
    with torch.no_grad():
        y = module(x).argmax(dim=1)  # the module's own answers: software accuracy 100%
    ideal = transfer_accuracy(module, x, y, models.ideal(), TransferSettings(transfers=3))
    noisy = transfer_accuracy(
        module,
        x,
        y,
        models.ideal().with_components(tuning=models.tuning(0.2)),
        TransferSettings(transfers=10),
    )
    assert np.all(ideal == 1.0)
    assert noisy.mean() < 1.0 and noisy.std() > 0
