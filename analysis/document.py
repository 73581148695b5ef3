"""The on-disk format of analysis results: one JSON document, versioned and self-checking.

Every file labrram's analysis writes (a device model, a jump-table) is a JSON object

    {"format": "labrram-device-model", "format_version": 1, "labrram_version": "0.2.0",
     "content_sha256": "<hex>", "payload": {...}}

``content_sha256`` is the SHA-256 of the payload serialized canonically (sorted keys, no spaces), so a
flipped digit is caught on load, not only a truncated file. Arrays are objects
``{"shape": [...], "data": [...]}`` of plain JSON numbers (row-major); no NaN or infinity is ever written.
A name ending in ``.gz`` is gzip-compressed. Any JSON reader (no pickle) can read these files.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

import labrram
from labrram.errors import ModelFileError


def encode_array(values: np.ndarray) -> dict[str, Any]:
    """A numeric array as a JSON object; refuses NaN and infinities (they have no JSON form)."""
    array = np.asarray(values)
    if array.dtype.kind == "b":
        return {"shape": list(array.shape), "dtype": "bool", "data": array.ravel().tolist()}
    if array.dtype.kind in "iu":
        return {"shape": list(array.shape), "dtype": "int", "data": array.ravel().tolist()}
    floats = array.astype(float)
    if not np.all(np.isfinite(floats)):
        raise ValueError("an array to save holds NaN or infinite values")
    return {"shape": list(floats.shape), "dtype": "float", "data": floats.ravel().tolist()}


def decode_array(document: dict[str, Any]) -> np.ndarray:
    """The array an `encode_array` object describes."""
    dtype = {"bool": bool, "int": np.int64, "float": float}[document.get("dtype", "float")]
    return np.asarray(document["data"], dtype=dtype).reshape(document["shape"])


def canonical_json(payload: Any) -> bytes:
    """The payload's canonical serialization, the one its content hash is taken over."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def write_document(path: Path, kind: str, version: int, payload: dict[str, Any]) -> str:
    """Write a document; return the SHA-256 of the file's bytes (its identity in the database)."""
    path = Path(path)
    document = {
        "format": kind,
        "format_version": version,
        "labrram_version": labrram.__version__,
        "content_sha256": hashlib.sha256(canonical_json(payload)).hexdigest(),
        "payload": payload,
    }
    text = json.dumps(document, indent=1, allow_nan=False).encode()
    data = gzip.compress(text, mtime=0) if path.name.endswith(".gz") else text
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_document(path: Path, kind: str, version: int) -> dict[str, Any]:
    """The payload of a document of ``kind``; ModelFileError says exactly why a file cannot be used."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ModelFileError(f"{path}: cannot read it ({error.strerror})") from None
    try:
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        document = json.loads(data)
    except (OSError, EOFError, ValueError) as error:
        raise ModelFileError(f"{path}: not a readable {kind} file (corrupt or truncated: {error})") from None
    if not isinstance(document, dict) or "format" not in document:
        raise ModelFileError(f"{path}: not a labrram {kind} file (no 'format' field)")
    if document["format"] != kind:
        raise ModelFileError(f"{path}: is a {document['format']!r} file, not a {kind!r} file")
    found = document.get("format_version")
    if not isinstance(found, int) or found < 1:
        raise ModelFileError(f"{path}: format_version {found!r} is not a version number")
    if found > version:
        raise ModelFileError(
            f"{path}: written in {kind} format version {found} (by labrram "
            f"{document.get('labrram_version', '?')}); this labrram reads up to version {version}: "
            "upgrade labrram to read it"
        )
    payload = document.get("payload")
    if not isinstance(payload, dict):
        raise ModelFileError(f"{path}: has no payload object")
    digest = hashlib.sha256(canonical_json(payload)).hexdigest()
    if digest != document.get("content_sha256"):
        raise ModelFileError(f"{path}: corrupt: its content does not match the checksum it was saved with")
    return payload
