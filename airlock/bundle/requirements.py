"""The wheelhouse's hash-pinned requirements.txt: one line per distribution, every wheel hashed."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from airlock.bundle.errors import BundleError
from models.store import hash_file

LINE = re.compile(
    r"^(?P<name>[a-z0-9-]+)==(?P<version>\S+)(?P<hashes>( --hash=sha256:[0-9a-f]{64})+)$"
)


@dataclass(frozen=True)
class Wheel:
    """One wheel file of the wheelhouse."""

    filename: str
    name: str  # PEP 503 normalised
    version: str
    sha256: str


def scan_wheels(folder: Path, hasher: Callable[[Path], str] = hash_file) -> list[Wheel]:
    """Every `*.whl` in `folder`, hashed, sorted by name, version and file name."""
    wheels = []
    for path in sorted(folder.glob("*.whl")):
        try:
            name, version, _, _ = parse_wheel_filename(path.name)
        except InvalidWheelFilename as exc:
            raise BundleError(
                f"{path.name} is not a valid wheel file name ({exc})",
                remedy="remove it from the wheelhouse or the --find-links folder",
            ) from None
        wheels.append(Wheel(path.name, canonicalize_name(name), str(version), hasher(path)))
    return sorted(wheels, key=lambda w: (w.name, w.version, w.filename))


def render_requirements(wheels: list[Wheel]) -> str:
    """`name==version --hash=sha256:...` per distribution (several wheels: several hashes)."""
    lines = []
    for name, group in groupby(wheels, key=lambda w: w.name):
        members = list(group)
        versions = sorted({w.version for w in members})
        if len(versions) > 1:
            raise BundleError(
                f"the wheelhouse holds {name} in several versions ({', '.join(versions)})",
                remedy="pin one version with --extra or clean the --find-links folder",
            )
        hashes = "".join(f" --hash=sha256:{w.sha256}" for w in members)
        lines.append(f"{name}=={versions[0]}{hashes}\n")
    return "".join(lines)


def check_requirements(text: str, wheels: list[Wheel]) -> list[tuple[str, str]]:
    """(path, problem) for every wheel the file does not pin and every pin with no wheel."""
    problems: list[tuple[str, str]] = []
    pinned: dict[str, tuple[str, set[str]]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = LINE.match(line.strip())
        if match is None:
            problems.append(
                ("wheelhouse/requirements.txt", f"line {number} is not name==version --hash")
            )
            continue
        hashes = set(re.findall(r"sha256:([0-9a-f]{64})", match["hashes"]))
        pinned[match["name"]] = (match["version"], hashes)
    seen: set[str] = set()
    for wheel in wheels:
        version, hashes = pinned.get(wheel.name, ("", set()))
        if wheel.version != version or wheel.sha256 not in hashes:
            problems.append(
                (f"wheelhouse/{wheel.filename}", "not pinned with this hash in requirements.txt")
            )
        seen.add(wheel.sha256)
    for name, (version, hashes) in sorted(pinned.items()):
        if hashes - seen:
            problems.append(
                ("wheelhouse/requirements.txt", f"{name}=={version} pins a hash no wheel has")
            )
    return problems
