"""A small source checkout, a wheel folder, a key pair and a tiny model for the bundle tests."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from airlock.bundle.keys import generate_key_pair
from airlock.cli.main import main
from models.store import ModelStore
from models.tiny import build_tiny_model
from tests.packaging.tools import REPO, find_wheelhouse

PACKAGES = ("airlock", "audit", "models", "serving", "rag", "guardrails", "helpdesk", "api")
# A few real wheels (small ones) stand in for the full dependency tree: the test bundle is
# built with --no-deps, so it stays small and quick to hash several times.
FEW_WHEELS = ("click-", "idna-", "pyyaml-")
CHART_YAML = """\
apiVersion: v2
name: airlock
description: Stand-in chart for the bundle tests
type: application
version: 0.3.1
appVersion: "0.1.0"
"""
VALUES_YAML = """\
api:
  image:
    repository: registry.example/airlock/airlock
    tag: ""
worker:
  image:
    repository: registry.example/airlock/airlock
    tag: "0.1.0"
sidecars:
  - name: exporter
    image:
      repository: registry.example/ops/exporter
      tag: "2.4"
"""
CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-airlock
data:
  tag: {{ .Values.worker.image.tag | quote }}
"""


@dataclass(frozen=True)
class BundleInputs:
    """Everything `airlock bundle build` reads in the tests."""

    source: Path
    find_links: Path
    key: Path
    public_key: Path
    store: Path


def _copy_source(dest: Path) -> None:
    """The real Python packages and project file, with a stand-in chart and Ansible tree."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in PACKAGES:
        shutil.copytree(REPO / name, dest / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "Containerfile"):
        shutil.copy2(REPO / name, dest / name)
    chart = dest / "helm" / "airlock"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(CHART_YAML)
    (chart / "values.yaml").write_text(VALUES_YAML)
    (chart / "templates" / "configmap.yaml").write_text(CONFIGMAP)
    roles = dest / "ansible" / "roles" / "airlock" / "tasks"
    roles.mkdir(parents=True)
    (roles / "main.yml").write_text("- name: Stand-in task\n  ansible.builtin.debug:\n")
    (dest / "ansible" / "site.yml").write_text("- hosts: all\n  roles: [airlock]\n")
    (dest / "ansible" / "__pycache__").mkdir()
    (dest / "ansible" / "__pycache__" / "x.pyc").write_bytes(b"\0")


@pytest.fixture(scope="session")
def bundle_inputs(tmp_path_factory: pytest.TempPathFactory) -> BundleInputs:
    """Built once per session: source copy, a few wheels, a key pair, a store with a model."""
    wheelhouse = find_wheelhouse()
    root = tmp_path_factory.mktemp("bundle-inputs")
    _copy_source(root / "src")
    links = root / "wheels"
    links.mkdir()
    for wheel in wheelhouse.glob("*.whl"):
        if wheel.name.lower().startswith(FEW_WHEELS):
            shutil.copy2(wheel, links / wheel.name)
    key = root / "keys" / "bundle.pem"
    key.parent.mkdir()
    public_key = generate_key_pair(key)
    store = root / "store"
    made = build_tiny_model(root / "tiny-src", model_id="tiny-llama", seed=0)
    ModelStore(store).import_model(
        root / "tiny-src", made.id, manifest_file=root / "tiny-src" / "manifest.yaml"
    )
    return BundleInputs(root / "src", links, key, public_key, store)


PINNED_DIGEST = "sha256:" + "ab" * 32


@dataclass(frozen=True)
class BuiltBundle:
    """The session's bundle and the inputs it was built from."""

    path: Path
    inputs: BundleInputs
    summary: dict[str, object]


def run_airlock(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """`airlock ARGS` in-process for session fixtures (run_cli is per test): code and stdout."""
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out):
        for key, value in env.items():
            patch.setenv(key, value)
        try:
            main(args)
        except SystemExit as exc:
            return (exc.code if isinstance(exc.code, int) else 1), out.getvalue()
    return 0, out.getvalue()


def build_args(inputs: BundleInputs, out: Path, *extra: str) -> list[str]:
    """`bundle build` of the small test bundle: the project wheel and a few wheels, --no-deps."""
    return [
        "bundle", "build", "--out", str(out), "--signing-key", str(inputs.key),
        "--source", str(inputs.source), "--no-deps", "--no-index",
        "--find-links", str(inputs.find_links),
        "--extra", "click", "--extra", "idna", "--extra", "pyyaml",
        "--platform", "manylinux_2_28_x86_64", "--python", "3.11", *extra,
    ]  # fmt: skip


@pytest.fixture(scope="session")
def built_bundle(
    bundle_inputs: BundleInputs, tmp_path_factory: pytest.TempPathFactory
) -> BuiltBundle:
    """One signed bundle with a model and one pinned image, built through the CLI."""
    root = tmp_path_factory.mktemp("bundle")
    digests = root / "digests.yaml"
    digests.write_text(f'"registry.example/ops/exporter:2.4": "{PINNED_DIGEST}"\n')
    out = root / "out"
    args = build_args(bundle_inputs, out, "--model", "tiny-llama", "--image-digests", str(digests))
    code, stdout = run_airlock(
        [*args, "--json"], {"AIRLOCK__MODELS__STORE_DIR": str(bundle_inputs.store)}
    )
    assert code == 0, "the test bundle did not build (see the captured stderr)"
    return BuiltBundle(out, bundle_inputs, json.loads(stdout))
