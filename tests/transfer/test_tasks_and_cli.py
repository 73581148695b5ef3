"""Datasets from files, the transfer command line, and sweeps that give the same results anywhere."""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from labrram.cli import main
from labrram.errors import LabrramError
from labrram.transfer import TrainingSettings, TransferSettings, load_task, moons
from labrram.transfer.sweep import points, run_sweep
from tests.transfer import models


def _idx(path: Path, data: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, data.ndim]) + struct.pack(f">{data.ndim}I", *data.shape)
    path.write_bytes(gzip.compress(header + data.astype(np.uint8).tobytes()))


def test_user_data_loads_from_npz_and_idx_files(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (30, 4, 4))
    labels = rng.integers(0, 3, 30)
    for name, data in (
        ("train-images-idx3-ubyte", images[:20]),
        ("train-labels-idx1-ubyte", labels[:20]),
        ("t10k-images-idx3-ubyte", images[20:]),
        ("t10k-labels-idx1-ubyte", labels[20:]),
    ):
        _idx(tmp_path / f"{name}.gz", data)
    dataset = load_task(str(tmp_path))
    assert dataset.x_train.shape == (20, 16) and dataset.x_test.shape == (10, 16)
    assert np.allclose(dataset.x_train[0], images[0].ravel() / 255.0) and list(dataset.y_test) == list(
        labels[20:]
    )
    npz = tmp_path / "mine.npz"
    np.savez(npz, x_train=images[:20], y_train=labels[:20], x_test=images[20:], y_test=labels[20:])
    assert load_task(str(npz)).features == 16
    np.savez(npz, x_train=images[:20], y_train=labels[:20])
    with pytest.raises(LabrramError, match="needs arrays"):
        load_task(str(npz))
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(LabrramError, match="task"):
        load_task("imagenet")


def test_moons_follow_seed_002s_split():
    dataset = moons(0)
    assert (
        dataset.x_train.shape == (875, 2) and dataset.x_test.shape == (200, 2) and dataset.output_units() == 1
    )


def test_the_transfer_command_writes_a_report_and_prints_its_figures(tmp_path, capsys):
    model = tmp_path / "model.json"
    models.seed_002_like().save(model)
    out = tmp_path / "report"
    arguments = [
        "transfer",
        "--model",
        str(model),
        "--task",
        "moons",
        "--transfers",
        "100",
        "--hardware-aware",
    ]
    assert main([*arguments, "--epochs", "150", "--learning-rate", "0.1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    figures = json.loads(printed[: printed.rindex("}") + 1])
    labels = [n["label"] for n in figures["networks"]]
    assert labels == ["plain", "hardware-aware"] and figures["transfers"] == 100
    assert figures == json.loads((out / "transfer.json").read_text())
    assert {p.name for p in out.iterdir()} >= {
        "report.html",
        "accuracy.png",
        "consistency.png",
        "regions.png",
    }
    table = figures["networks"][0]["consistency_table"]
    assert sum(row["points"] for row in table) == 200
    assert (
        main(["transfer", "--model", str(model), "--task", "digits", "--network", "2-8-1", "--out", str(out)])
        == 2
    )
    assert "does not fit digits" in capsys.readouterr().err


def _sweep(model_path: Path):
    return points(
        "moons",
        ["2-4-1", "2-8-1"],
        [str(model_path)],
        [None, 1e5],
        TrainingSettings(epochs=60, learning_rate=0.1),
        TransferSettings(transfers=50),
        hardware_aware=False,
        seed=3,
    )


def test_a_sweep_gives_the_same_results_here_and_on_a_dask_cluster(tmp_path):
    model_path = tmp_path / "model.json"
    models.seed_002_like().with_components(retention=models.retention(-5e-6, (5e-6) ** 2)).save(model_path)
    sweep = _sweep(model_path)
    assert len(sweep) == 4 and len({p.seed for p in sweep}) == 4
    here = run_sweep(sweep)
    assert run_sweep(sweep) == here
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        on_dask = run_sweep(sweep, scheduler=cluster.scheduler_address)
    assert on_dask == here
