"""Weight files of the small models we train and ship: reproducible .npz, checked by SHA-256."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from models.store import hash_file

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed member times: the same arrays give the same bytes


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An .npz numpy can read, written byte for byte the same for the same arrays."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())


def weights_problem(path: Path, expected_sha256: str | None) -> str:
    """Why a weight file must not be loaded ('' when it matches its manifest's SHA-256)."""
    if not path.is_file():
        return f"{path} is missing"
    actual = hash_file(path)
    if actual != expected_sha256:
        return (
            f"{path} is damaged or replaced: SHA-256 {actual}, the manifest says {expected_sha256}"
        )
    return ""
