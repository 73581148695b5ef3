"""Tasks: seed 002's half moons, scikit-learn's digits (the MNIST-like task), and a user's own data.

Nothing is downloaded: moons are generated, digits ship with scikit-learn, and a user's data comes from
an ``.npz`` file (``x_train, y_train, x_test, y_test``) or a folder of MNIST-style IDX files.
"""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from labrram.errors import LabrramError

MOONS_TRAIN, MOONS_TEST, MOONS_NOISE = 875, 200, 0.05  # seed 002


@dataclass(frozen=True)
class Dataset:
    """Inputs (samples x features, floats) and integer labels, split into training and test sets."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def features(self) -> int:
        return self.x_train.shape[1]

    @property
    def classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    def output_units(self) -> int:
        """One sigmoid unit for two classes, else one softmax unit a class."""
        return 1 if self.classes == 2 else self.classes


def moons(seed: int = 0) -> Dataset:
    """Seed 002's half moons: noise 0.05, 875 training and 200 test points."""
    from sklearn.datasets import make_moons

    x, y = make_moons(MOONS_TRAIN + MOONS_TEST, noise=MOONS_NOISE, random_state=seed)
    return Dataset("moons", x[:MOONS_TRAIN], y[:MOONS_TRAIN], x[MOONS_TRAIN:], y[MOONS_TRAIN:])


def digits(seed: int = 0, test_share: float = 0.25) -> Dataset:
    """scikit-learn's 8x8 digits (1797 images, 10 classes), pixels scaled to [0, 1], stratified split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = data.data / 16.0
    x_train, x_test, y_train, y_test = train_test_split(
        x, data.target, test_size=test_share, random_state=seed, stratify=data.target
    )
    return Dataset("digits", x_train, y_train, x_test, y_test)


def from_npz(path: Path) -> Dataset:
    """A user's data: an .npz with x_train, y_train, x_test, y_test (inputs flattened to features)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in ("x_train", "y_train", "x_test", "y_test")}
    except KeyError as error:
        raise LabrramError(
            f"{path}: needs arrays x_train, y_train, x_test, y_test ({error} missing)"
        ) from None
    except (OSError, ValueError) as error:
        raise LabrramError(f"{path}: not a readable .npz file ({error})") from None
    return _checked(path.stem, arrays)


def from_idx(folder: Path) -> Dataset:
    """MNIST-style IDX files in a folder (train-images-idx3-ubyte[.gz], ... t10k-labels-idx1-ubyte[.gz])."""
    arrays = {}
    for key, stem in (
        ("x_train", "train-images-idx3-ubyte"),
        ("y_train", "train-labels-idx1-ubyte"),
        ("x_test", "t10k-images-idx3-ubyte"),
        ("y_test", "t10k-labels-idx1-ubyte"),
    ):
        candidates = [folder / stem, folder / f"{stem}.gz"]
        found = next((c for c in candidates if c.exists()), None)
        if found is None:
            raise LabrramError(f"{folder}: no {stem} (or .gz) IDX file")
        arrays[key] = read_idx(found)
    arrays["x_train"] = arrays["x_train"] / 255.0
    arrays["x_test"] = arrays["x_test"] / 255.0
    return _checked(folder.name, arrays)


def read_idx(path: Path) -> np.ndarray:
    """One IDX file (the MNIST format: magic with type and rank, big-endian sizes, then the data)."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise LabrramError(f"{path}: not an IDX file (bad magic number)")
    types = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if raw[2] not in types:
        raise LabrramError(f"{path}: unknown IDX data type 0x{raw[2]:02x}")
    rank = raw[3]
    shape = struct.unpack(f">{rank}I", raw[4 : 4 + 4 * rank])
    data = np.frombuffer(raw, dtype=types[raw[2]], offset=4 + 4 * rank)
    if data.size != int(np.prod(shape)):
        raise LabrramError(f"{path}: holds {data.size} values for a {shape} array")
    return data.reshape(shape)


def _checked(name: str, arrays: dict[str, np.ndarray]) -> Dataset:
    x_train = np.asarray(arrays["x_train"], dtype=float).reshape(len(arrays["x_train"]), -1)
    x_test = np.asarray(arrays["x_test"], dtype=float).reshape(len(arrays["x_test"]), -1)
    y_train = np.asarray(arrays["y_train"]).astype(np.int64).ravel()
    y_test = np.asarray(arrays["y_test"]).astype(np.int64).ravel()
    if x_train.shape[0] != y_train.size or x_test.shape[0] != y_test.size:
        raise LabrramError(f"{name}: inputs and labels differ in count")
    if x_train.shape[1] != x_test.shape[1]:
        raise LabrramError(f"{name}: training and test inputs have different feature counts")
    if min(y_train.min(), y_test.min()) < 0:
        raise LabrramError(f"{name}: labels must be 0, 1, 2, ...")
    return Dataset(name, x_train, y_train, x_test, y_test)


def load_task(task: str, seed: int = 0) -> Dataset:
    """``moons``, ``digits``, an .npz file or a folder of IDX files."""
    if task == "moons":
        return moons(seed)
    if task == "digits":
        return digits(seed)
    path = Path(task)
    if path.suffix == ".npz":
        return from_npz(path)
    if path.is_dir():
        return from_idx(path)
    raise LabrramError(f"task {task!r}: expected moons, digits, a .npz file or a folder of IDX files")
