"""The offline bundle the Ansible tests install from, built by the real `airlock bundle build`."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.packaging.tools import REPO, find_wheelhouse

AIRLOCK = Path(sys.executable).with_name("airlock")


def _run(*args: str | Path) -> None:
    result = subprocess.run(
        [str(AIRLOCK), *map(str, args)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"airlock {args[:2]} failed:\n{result.stderr[-4000:]}"


@functools.cache
def _built_bundle(full: bool) -> tuple[Path, Path]:
    """One bundle per session and kind: the checkout's wheel and, when full, every dependency."""
    wheelhouse = find_wheelhouse()
    root = Path(tempfile.mkdtemp(prefix="airlock-test-bundle-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    key = root / "keys" / "bundle.pem"
    _run("bundle", "keygen", "--out", key)
    bundle = root / "bundle"
    _run(
        "bundle", "build", "--out", bundle, "--signing-key", key, "--source", REPO,
        "--no-index", "--find-links", wheelhouse,
        *(("--extra", "torch==2.13.0") if full else ("--no-deps",)),
    )  # fmt: skip
    return bundle, key.with_name("bundle.pub.pem")


def _link_or_copy(source: str, target: str) -> None:
    """Hard-link the wheels (hundreds of MB); copy every other file, which tests may rewrite."""
    if source.endswith(".whl"):
        try:
            os.link(source, target)
            return
        except OSError:
            pass
    shutil.copy2(source, target)


def make_test_bundle(tmp_path: Path, *, full: bool = True) -> tuple[Path, Path]:
    """A private copy of a signed bundle, and the trusted public key beside it.

    `full`: Airlock installs from it; otherwise only Airlock's own wheel is inside (for
    tests that refuse the bundle before anything is installed).
    """
    built, public_key = _built_bundle(full)
    bundle = tmp_path / "bundle"
    shutil.copytree(built, bundle, copy_function=_link_or_copy)
    trusted = tmp_path / "trusted-signing-key.pub.pem"
    shutil.copy2(public_key, trusted)
    return bundle, trusted
