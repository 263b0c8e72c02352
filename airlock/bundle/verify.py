"""`airlock bundle verify`: the signature, every file's hash, nothing unlisted, the metadata."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from airlock.bundle import layout
from airlock.bundle.checksums import is_safe_path, parse_sums
from airlock.bundle.errors import BundleError
from airlock.bundle.keys import check_signature
from airlock.bundle.requirements import check_requirements, scan_wheels
from audit.signing import get_key_id
from models.store import hash_file

BAD_SIGNATURE = (
    "signature does not match: the bundle or SHA256SUMS was changed, or {key} is not the signer's"
)


@dataclass
class Problem:
    """One thing wrong with the bundle, named by its path."""

    path: str
    problem: str


@dataclass
class VerifyReport:
    """Everything verify found; `ok` when nothing."""

    bundle: str
    key_id: str
    signature_valid: bool = False
    files_checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the signature holds and no file is wrong."""
        return self.signature_valid and not self.problems

    def add(self, path: str, problem: str) -> None:
        """Record a problem."""
        self.problems.append(Problem(path, problem))


def verify_bundle(root: Path, public_key: Ed25519PublicKey, key_name: str) -> VerifyReport:
    """Check the bundle at `root` offline with the signer's key (never the copy inside)."""
    if not root.is_dir():
        raise BundleError(f"{root} is not a folder", remedy="pass the unpacked bundle folder")
    report = VerifyReport(bundle=str(root), key_id=get_key_id(public_key))
    sums_path, sig_path = root / layout.SUMS, root / layout.SIGNATURE
    if not sums_path.is_file() or not sig_path.is_file():
        for path in (sums_path, sig_path):
            if not path.is_file():
                report.add(path.name, "missing: the bundle cannot be checked without it")
        return report
    sums = sums_path.read_bytes()
    report.signature_valid = check_signature(public_key, sig_path.read_bytes(), sums)
    if not report.signature_valid:
        report.add(layout.SIGNATURE, BAD_SIGNATURE.format(key=key_name))
    listed = _check_listed_files(root, sums, report)
    _check_unlisted_files(root, set(listed), report)
    _check_info(root, report)
    _check_requirements(root, listed, report)
    return report


def _check_listed_files(root: Path, sums: bytes, report: VerifyReport) -> dict[str, str]:
    """Hash every file SHA256SUMS lists; record missing and changed ones; return the listing."""
    try:
        parsed = parse_sums(sums.decode("utf-8"))
    except UnicodeDecodeError:
        report.add(layout.SUMS, "is not UTF-8 text")
        return {}
    for line in parsed.bad_lines:
        report.add(layout.SUMS, f"unreadable or unsafe entry, {line}")
    for rel, expected in sorted(parsed.hashes.items()):
        path = root / rel
        if path.is_symlink() or not path.is_file():
            report.add(rel, "missing")
            continue
        if hash_file(path) != expected:
            report.add(rel, "changed: SHA-256 differs from SHA256SUMS")
        report.files_checked += 1
    return parsed.hashes


def _check_unlisted_files(root: Path, listed: set[str], report: VerifyReport) -> None:
    files, odd = layout.list_files(root)
    for rel in files:
        if rel not in listed and rel not in layout.UNSUMMED:
            report.add(rel, "unlisted: not in SHA256SUMS")
    for rel in odd:
        report.add(rel, "a link or special file: bundles hold regular files only")


def _check_info(root: Path, report: VerifyReport) -> None:
    """bundle.json has the expected format, and its models and image list are present."""
    try:
        info = layout.BundleInfo.model_validate_json((root / layout.BUNDLE_JSON).read_bytes())
    except (OSError, ValidationError) as exc:
        report.add(layout.BUNDLE_JSON, f"unreadable or malformed ({str(exc).splitlines()[0]})")
        return
    if info.format != layout.FORMAT:
        report.add(layout.BUNDLE_JSON, f"format {info.format!r}, expected {layout.FORMAT!r}")
    if not is_safe_path(info.images) or not all(is_safe_path(m) for m in info.models):
        report.add(layout.BUNDLE_JSON, "names a path outside the bundle")
        return
    for model_id in info.models:
        if not (root / layout.MODELS / model_id / "manifest.yaml").is_file():
            report.add(
                f"{layout.MODELS}/{model_id}/manifest.yaml", "listed in bundle.json, missing"
            )
    try:
        images = json.loads((root / info.images).read_text("utf-8"))
        if not isinstance(images, list):
            report.add(info.images, "is not a JSON list")
    except (OSError, ValueError) as exc:
        report.add(info.images, f"unreadable ({exc})")


def _check_requirements(root: Path, listed: dict[str, str], report: VerifyReport) -> None:
    """requirements.txt pins exactly the listed wheels, with the hashes SHA256SUMS gives them."""
    try:
        text = (root / layout.REQUIREMENTS).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        report.add(layout.REQUIREMENTS, f"unreadable ({exc})")
        return
    try:
        # Changed or unlisted wheels are already named; this checks the signed listing itself.
        wheels = scan_wheels(
            root / layout.WHEELHOUSE, lambda p: listed.get(p.relative_to(root).as_posix(), "")
        )
    except BundleError as exc:
        report.add(layout.WHEELHOUSE, exc.message)
        return
    listed_wheels = [w for w in wheels if w.sha256]
    for path, problem in check_requirements(text, listed_wheels):
        report.add(path, problem)
