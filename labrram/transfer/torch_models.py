"""Users' own PyTorch models (``pip install 'labrram[torch]'``): nn.Linear and nn.Conv2d layers transferred.

Each layer's weight matrix goes onto crossbars as its numpy counterpart does: a Linear layer's
(out, in) weight as an (in, out) matrix with the bias as one more row; a Conv2d's (out, in, kh, kw)
kernel as the (in kh kw, out) matrix of its unrolled (im2col) product, the way convolutions are mapped
onto crossbars. Each simulated transfer gives a copy of the model with transferred weights; other
layers (normalization, pooling) are left as they are.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import numpy as np

from labrram.analysis.model import DeviceModel
from labrram.errors import LabrramError
from labrram.transfer.mapping import map_layer
from labrram.transfer.montecarlo import TransferSettings, layout, sample_conductances


def _torch():
    try:
        import torch
    except ImportError:
        raise LabrramError("PyTorch is not installed: pip install 'labrram[torch]'") from None
    return torch


def crossbar_layers(module) -> list:
    """The Linear and Conv2d layers of a module, in order."""
    torch = _torch()
    return [m for m in module.modules() if isinstance(m, torch.nn.Linear | torch.nn.Conv2d)]


def transferred_models(
    module, model: DeviceModel, settings: TransferSettings, transfers: int, seed: int = 0
) -> Iterator:
    """``transfers`` copies of ``module`` whose Linear and Conv2d weights went through simulated transfers."""
    torch = _torch()
    rng = np.random.default_rng(seed)
    tile, order = layout(model, settings)
    layers = crossbar_layers(module)
    if not layers:
        raise LabrramError("the model has no nn.Linear or nn.Conv2d layer to transfer")
    plans = []
    for layer in layers:
        weight = layer.weight.detach().cpu().numpy().astype(float)
        matrix = weight.reshape(weight.shape[0], -1).T  # (in [x kh x kw], out)
        bias = (
            layer.bias.detach().cpu().numpy().astype(float)
            if layer.bias is not None
            else np.zeros(weight.shape[0])
        )
        plans.append(
            (
                weight.shape,
                layer.bias is not None,
                map_layer(matrix, bias, model.window_s, settings.scheme, tile, order),
            )
        )
    for _ in range(transfers):
        copied = copy.deepcopy(module)
        for target, (shape, has_bias, mapping) in zip(crossbar_layers(copied), plans, strict=True):
            conductances, _ = sample_conductances(model, mapping, 1, settings, rng)
            matrix, bias = mapping.weights(conductances)
            with torch.no_grad():
                target.weight.copy_(torch.as_tensor(matrix[0].T.reshape(shape), dtype=target.weight.dtype))
                if has_bias:
                    target.bias.copy_(torch.as_tensor(bias[0], dtype=target.bias.dtype))
        yield copied


def transfer_accuracy(
    module, x, y, model: DeviceModel, settings: TransferSettings, seed: int = 0
) -> np.ndarray:
    """Accuracy of each simulated transfer of a classifier (argmax of its outputs) on tensors x, y."""
    torch = _torch()
    accuracies = []
    for copied in transferred_models(module, model, settings, settings.transfers, seed):
        copied.eval()
        with torch.no_grad():
            predicted = copied(x).argmax(dim=1)
        accuracies.append(float((predicted == y).float().mean()))
    return np.array(accuracies)
