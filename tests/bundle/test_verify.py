"""`airlock bundle verify`: every changed, missing or unlisted file named; signatures checked."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from airlock.bundle.checksums import render_sums
from airlock.bundle.keys import generate_key_pair, load_signing_key
from airlock.bundle.layout import UNSUMMED, list_files
from tests.bundle.conftest import BuiltBundle

pytestmark = pytest.mark.slow


@pytest.fixture
def bundle(built_bundle: BuiltBundle, tmp_path: Path) -> Path:
    """A private copy of the session's bundle, to tamper with."""
    return Path(shutil.copytree(built_bundle.path, tmp_path / "bundle"))


def _verify(run_cli, bundle: Path, key: Path):  # type: ignore[no-untyped-def]
    result = run_cli("bundle", "verify", str(bundle), "--public-key", str(key), "--json")
    return result.code, json.loads(result.out)


def _problems(report: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {p["path"]: p["problem"] for p in report["problems"]}


def _resign(bundle: Path, key: Path) -> None:
    """Rewrite SHA256SUMS for the bundle as it is now and sign it with `key`."""
    files, _ = list_files(bundle)
    sums = render_sums(bundle, [f for f in files if f not in UNSUMMED]).encode()
    (bundle / "SHA256SUMS").write_bytes(sums)
    (bundle / "SHA256SUMS.sig").write_bytes(load_signing_key(key).sign(sums))


def test_verify_passes_when_bundle_untouched(built_bundle: BuiltBundle, run_cli) -> None:
    result = run_cli(
        "bundle",
        "verify",
        str(built_bundle.path),
        "--public-key",
        str(built_bundle.inputs.public_key),
    )
    assert result.code == 0, result.out + result.err
    assert "signature valid" in result.out and "intact" in result.out


def test_verify_names_wheel_when_one_byte_changed(
    bundle: Path, built_bundle: BuiltBundle, run_cli
) -> None:
    wheel = next((bundle / "wheelhouse").glob("click-*.whl"))
    data = bytearray(wheel.read_bytes())
    data[len(data) // 2] ^= 0x01
    wheel.write_bytes(bytes(data))
    code, report = _verify(run_cli, bundle, built_bundle.inputs.public_key)
    assert code == 1
    assert report["signature_valid"] is True
    assert _problems(report)[f"wheelhouse/{wheel.name}"].startswith("changed")


def test_verify_names_unlisted_file_when_added(
    bundle: Path, built_bundle: BuiltBundle, run_cli
) -> None:
    (bundle / "models" / "tiny-llama" / "extra.bin").write_bytes(b"smuggled")
    code, report = _verify(run_cli, bundle, built_bundle.inputs.public_key)
    assert code == 1
    assert _problems(report) == {"models/tiny-llama/extra.bin": "unlisted: not in SHA256SUMS"}


def test_verify_names_missing_file_when_deleted(
    bundle: Path, built_bundle: BuiltBundle, run_cli
) -> None:
    (bundle / "helm" / "airlock-0.3.1.tgz").unlink()
    code, report = _verify(run_cli, bundle, built_bundle.inputs.public_key)
    assert code == 1
    assert _problems(report) == {"helm/airlock-0.3.1.tgz": "missing"}


def test_verify_names_every_problem_not_just_the_first(
    bundle: Path, built_bundle: BuiltBundle, run_cli
) -> None:
    (bundle / "ansible" / "site.yml").write_text("- hosts: all\n  tasks: []\n")
    (bundle / "images.json").unlink()
    (bundle / "wheelhouse" / "evil-1.0-py3-none-any.whl").write_bytes(b"PK")
    (bundle / "sbom.cdx.json").write_text("{}")
    code, report = _verify(run_cli, bundle, built_bundle.inputs.public_key)
    assert code == 1
    named = _problems(report)
    for path in ("ansible/site.yml", "images.json", "wheelhouse/evil-1.0-py3-none-any.whl",
                 "sbom.cdx.json"):  # fmt: skip
        assert path in named, path


def test_verify_reports_signature_failure_when_sums_edited_consistently(
    bundle: Path, built_bundle: BuiltBundle, tmp_path: Path, run_cli
) -> None:
    (bundle / "ansible" / "site.yml").write_text("- hosts: all\n  tasks: []\n")
    attacker_key = tmp_path / "attacker.pem"
    generate_key_pair(attacker_key)
    _resign(bundle, attacker_key)  # hashes all match again; only the signature can tell
    result = run_cli(
        "bundle", "verify", str(bundle), "--public-key", str(built_bundle.inputs.public_key)
    )
    assert result.code == 1
    assert "signature does not match: the bundle or SHA256SUMS was changed" in result.out
    assert "ansible/site.yml" not in result.out


def test_verify_reports_signature_failure_with_wrong_public_key(
    built_bundle: BuiltBundle, tmp_path: Path, run_cli
) -> None:
    other = generate_key_pair(tmp_path / "other.pem")
    code, report = _verify(run_cli, built_bundle.path, other)
    assert code == 1
    assert report["signature_valid"] is False
    assert f"{other} is not the signer's" in _problems(report)["SHA256SUMS.sig"]


def test_verify_trusts_given_key_not_the_copy_inside(
    bundle: Path, built_bundle: BuiltBundle, tmp_path: Path, run_cli
) -> None:
    attacker_key = tmp_path / "attacker.pem"
    attacker_public = generate_key_pair(attacker_key)
    shutil.copy(attacker_public, bundle / "signing-key.pub.pem")
    _resign(bundle, attacker_key)
    code, report = _verify(run_cli, bundle, built_bundle.inputs.public_key)
    assert code == 1
    assert report["signature_valid"] is False


def test_verify_finds_requirements_that_disagree_with_wheels(
    bundle: Path, built_bundle: BuiltBundle, run_cli
) -> None:
    requirements = bundle / "wheelhouse" / "requirements.txt"
    lines = requirements.read_text().splitlines()
    requirements.write_text("\n".join(line for line in lines if not line.startswith("idna")) + "\n")
    _resign(bundle, built_bundle.inputs.key)  # a signer's mistake, not an attack
    code, report = _verify(run_cli, bundle, built_bundle.inputs.public_key)
    assert code == 1
    assert report["signature_valid"] is True
    named = _problems(report)
    assert list(named) == [
        next(f"wheelhouse/{w.name}" for w in (bundle / "wheelhouse").glob("idna-*"))
    ]


def test_verify_rejects_unknown_bundle_format(
    bundle: Path, built_bundle: BuiltBundle, run_cli
) -> None:
    info = json.loads((bundle / "bundle.json").read_text())
    (bundle / "bundle.json").write_text(json.dumps({**info, "format": "airlock-bundle/99"}))
    _resign(bundle, built_bundle.inputs.key)
    code, report = _verify(run_cli, bundle, built_bundle.inputs.public_key)
    assert code == 1
    assert "airlock-bundle/99" in _problems(report)["bundle.json"]
