"""The data directory: created on demand, checked for writability before anything is stored."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from airlock.errors import DataDirError


def ensure_data_dir(path: Path) -> Path:
    """Create `path` (mode 0700) if missing and prove it is writable; return it resolved."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise DataDirError(
            f"data directory {path} cannot be created ({exc.strerror})",
            remedy="set data_dir (AIRLOCK__DATA_DIR) to a writable location",
        ) from None
    if not path.is_dir():
        raise DataDirError(
            f"data directory {path} is not a directory",
            remedy="set data_dir (AIRLOCK__DATA_DIR) to a directory",
        )
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise DataDirError(
            f"data directory {path} is not writable ({exc.strerror})",
            remedy=f"fix its permissions (owner uid {os.getuid()}) or set AIRLOCK__DATA_DIR",
        ) from None
    return path.resolve()
