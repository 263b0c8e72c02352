"""`airlock bundle build`: the layout of the contract, signed, and checkable without Airlock."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from airlock.bundle.images import load_chart_images
from airlock.bundle.layout import FORMAT, UNSUMMED, list_files
from airlock.bundle.requirements import scan_wheels
from tests.bundle.conftest import PINNED_DIGEST, BuiltBundle, build_args
from tests.packaging.tools import REPO

pytestmark = pytest.mark.slow


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(reason=f"{name} is not installed (the operator's no-Airlock check uses it)")
    return found


def test_build_writes_every_part_of_the_layout(built_bundle: BuiltBundle) -> None:
    root = built_bundle.path
    files, odd = list_files(root)
    assert odd == []
    for name in ("bundle.json", "SHA256SUMS", "SHA256SUMS.sig", "signing-key.pub.pem",
                 "wheelhouse/requirements.txt", "helm/airlock-0.3.1.tgz", "ansible/site.yml",
                 "models/tiny-llama/manifest.yaml", "models/tiny-llama/model.safetensors",
                 "sbom.cdx.json", "images.json", "Containerfile"):  # fmt: skip
        assert name in files, name
    assert not any("__pycache__" in f for f in files)
    assert (root / "SHA256SUMS.sig").stat().st_size == 64
    info = json.loads((root / "bundle.json").read_text())
    assert info["format"] == FORMAT
    assert info["models"] == ["tiny-llama"]
    assert (info["platform"], info["python"], info["images"]) == (
        "manylinux_2_28_x86_64", "3.11", "images.json"
    )  # fmt: skip
    assert built_bundle.summary["wheels"] == 4


def test_sums_list_every_file_but_themselves_sorted(built_bundle: BuiltBundle) -> None:
    root = built_bundle.path
    listed = [line.split("  ", 1)[1] for line in (root / "SHA256SUMS").read_text().splitlines()]
    files, _ = list_files(root)
    assert listed == sorted(listed)
    assert listed == [f for f in files if f not in UNSUMMED]


def test_sha256sum_and_openssl_accept_bundle_without_airlock(built_bundle: BuiltBundle) -> None:
    root, public_key = built_bundle.path, built_bundle.inputs.public_key
    sums = subprocess.run(
        [_tool("sha256sum"), "-c", "--strict", "SHA256SUMS"],
        cwd=root,
        check=False,
        capture_output=True,
        text=True,
    )
    assert sums.returncode == 0, sums.stdout + sums.stderr
    signature = subprocess.run(
        [_tool("openssl"), "pkeyutl", "-verify", "-pubin", "-inkey", str(public_key), "-rawin",
         "-in", str(root / "SHA256SUMS"), "-sigfile", str(root / "SHA256SUMS.sig")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert signature.returncode == 0, signature.stdout + signature.stderr
    assert "Verified Successfully" in signature.stdout


def test_requirements_install_offline_with_hashes(
    built_bundle: BuiltBundle, tmp_path: Path
) -> None:
    wheelhouse = built_bundle.path / "wheelhouse"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-index", "--find-links", str(wheelhouse),
         "--require-hashes", "-r", str(wheelhouse / "requirements.txt"), "--no-deps",
         "--target", str(tmp_path / "site"), "--disable-pip-version-check", "--quiet"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "site" / "airlock" / "bundle" / "verify.py").is_file()
    lines = (wheelhouse / "requirements.txt").read_text().splitlines()
    assert [line.split("==")[0] for line in lines] == ["airlock", "click", "idna", "pyyaml"]


def test_sbom_lists_every_wheel_with_its_hash(built_bundle: BuiltBundle) -> None:
    sbom = json.loads((built_bundle.path / "sbom.cdx.json").read_text())
    assert (sbom["bomFormat"], sbom["specVersion"]) == ("CycloneDX", "1.6")
    assert sbom["metadata"]["component"]["name"] == "airlock"
    listed = {
        c["purl"]: c["hashes"][0]["content"]
        for c in [sbom["metadata"]["component"], *sbom["components"]]
        if c["type"] in ("application", "library")
    }
    wheels = scan_wheels(built_bundle.path / "wheelhouse")
    assert listed == {f"pkg:pypi/{w.name}@{w.version}": w.sha256 for w in wheels}
    kinds = {c["type"]: c for c in sbom["components"]}
    assert kinds["machine-learning-model"]["name"] == "tiny-llama"
    containers = [c for c in sbom["components"] if c["type"] == "container"]
    pinned = [c for c in containers if c.get("hashes")]
    assert [c["hashes"][0]["content"] for c in pinned] == [PINNED_DIGEST.removeprefix("sha256:")]


def test_images_json_lists_chart_images_with_given_digest(built_bundle: BuiltBundle) -> None:
    images = json.loads((built_bundle.path / "images.json").read_text())
    assert images == [
        {"image": "registry.example/airlock/airlock", "tag": "0.1.0", "digest": None,
         "source": "api.image"},
        {"image": "registry.example/airlock/airlock", "tag": "0.1.0", "digest": None,
         "source": "worker.image"},
        {"image": "registry.example/ops/exporter", "tag": "2.4", "digest": PINNED_DIGEST,
         "source": "sidecars[0].image"},
    ]  # fmt: skip
    assert len(built_bundle.summary["unpinned_images"]) == 2  # type: ignore[arg-type]


def test_build_refuses_non_empty_out(built_bundle: BuiltBundle, run_cli) -> None:
    result = run_cli(*build_args(built_bundle.inputs, built_bundle.path))
    assert result.code == 2
    assert "exists and is not an empty folder" in result.err


def test_build_fails_clearly_when_model_unknown(
    built_bundle: BuiltBundle, tmp_path: Path, run_cli
) -> None:
    env = {"AIRLOCK__MODELS__STORE_DIR": str(built_bundle.inputs.store)}
    args = build_args(built_bundle.inputs, tmp_path / "out", "--model", "no-such-model")
    result = run_cli(*args, env=env)
    assert result.code == 2
    assert "no model 'no-such-model'" in result.err and "tiny-llama" in result.err
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == []  # no staging folder left behind


def test_build_fails_naming_unpinned_images_when_digests_required(
    built_bundle: BuiltBundle, tmp_path: Path, run_cli
) -> None:
    args = build_args(built_bundle.inputs, tmp_path / "out", "--require-digests")
    result = run_cli(*args)
    assert result.code == 2
    assert "registry.example/airlock/airlock:0.1.0 (api.image)" in result.err
    assert "registry.example/ops/exporter:2.4 (sidecars[0].image)" in result.err
    assert list(tmp_path.iterdir()) == []


def test_build_refuses_signing_key_readable_by_others(
    built_bundle: BuiltBundle, tmp_path: Path, run_cli
) -> None:
    exposed = tmp_path / "exposed.pem"
    shutil.copy(built_bundle.inputs.key, exposed)
    exposed.chmod(0o644)
    args = build_args(built_bundle.inputs, tmp_path / "out")
    args[args.index("--signing-key") + 1] = str(exposed)
    result = run_cli(*args)
    assert result.code == 2
    assert "readable by group or others" in result.err and "chmod 600" in result.err


def test_build_fails_outside_a_checkout_without_source(
    tmp_path: Path, run_cli, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli("bundle", "build", "--out", str(tmp_path / "out"), "--signing-key", "k.pem")
    assert result.code == 2
    assert "no Airlock source checkout" in result.err and "--source" in result.err


def test_build_from_repository_lists_its_chart_images(
    built_bundle: BuiltBundle, tmp_path: Path, run_cli
) -> None:
    args = build_args(built_bundle.inputs, tmp_path / "out", "--json")
    args[args.index("--source") + 1] = str(REPO)
    result = run_cli(*args)
    assert result.code == 0, result.err
    version = yaml.safe_load((REPO / "helm" / "airlock" / "Chart.yaml").read_text())["version"]
    assert (tmp_path / "out" / "helm" / f"airlock-{version}.tgz").is_file()
    listed = json.loads((tmp_path / "out" / "images.json").read_text())
    expected = load_chart_images(REPO / "helm" / "airlock")
    assert listed == [image.to_json() for image in expected]
    verified = run_cli(
        "bundle",
        "verify",
        str(tmp_path / "out"),
        "--public-key",
        str(built_bundle.inputs.public_key),
    )
    assert verified.code == 0, verified.out
