"""Render the Airlock chart offline with the Helm SDK and validate what comes out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import helm_python
import jsonschema  # type: ignore[import-untyped]  # no stubs in the venv
import kubernetes_validate  # type: ignore[import-untyped]  # ships no py.typed
import yaml
from referencing import Registry, Resource

from tests.packaging.tools import REPO

CHART = REPO / "helm" / "airlock"
MILVUS_CHART = REPO / "helm" / "milvus-standalone"
CRD_SCHEMAS = REPO / "helm" / "crd-schemas"
KUBERNETES_VERSION = "1.31.0"
RELEASE = "airlock"
NAMESPACE = "airlock"
MODEL_ROOT = "/models"
# Our schemas for the custom resources the chart renders; everything else is core Kubernetes.
CRD_SCHEMA_FILES = {
    ("ray.io/v1", "RayService"): "rayservice-ray-v1.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor-monitoring-v1.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule-monitoring-v1.json",
}
Manifest = dict[str, Any]


def load_values(name: str = "values-production.yaml") -> dict[str, Any]:
    """A values file of the chart as a dict."""
    values: dict[str, Any] = yaml.safe_load((CHART / name).read_text())
    return values


def render(values: dict[str, Any] | None = None) -> list[Manifest]:
    """Every object the chart renders for these values (schema-checked, as an install does)."""
    with helm_python.Chart.load(CHART) as chart:
        chart.validate_schema(values or {})
        outputs = chart.render(values or {}, name=RELEASE, namespace=NAMESPACE)
    return [
        doc
        for _, text in sorted(outputs.items())
        for doc in yaml.safe_load_all(text)
        if doc is not None
    ]


def production_values(serve_config: str) -> dict[str, Any]:
    """values-production.yaml with the serve config given as `--set-file` would give it."""
    values = load_values()
    values["llm"]["serveConfig"] = serve_config
    return values


@cache
def make_serve_config() -> str:
    """The text `airlock serving config` writes for a tiny model (made once per session)."""
    airlock = Path(sys.executable).parent / "airlock"
    with tempfile.TemporaryDirectory(prefix="airlock-helm-") as workdir:
        data = Path(workdir) / "data"
        env = {
            **os.environ,
            "AIRLOCK__DATA_DIR": str(data),
            "AIRLOCK__SERVING__CLUSTER__MODEL_ROOT": MODEL_ROOT,
        }
        out = Path(workdir) / "serve.yaml"
        # make-tiny writes a store folder (files + manifest), so it goes straight into the store.
        for args in (
            ["models", "make-tiny", "--out", str(data / "models" / "tiny-llama")],
            ["serving", "config", "--model", "tiny-llama", "--allow-test-model", "--out", str(out)],
        ):
            subprocess.run([str(airlock), *args], env=env, check=True, capture_output=True)
        return out.read_text()


@cache
def _kubernetes_definitions() -> Resource[Any]:
    """kubernetes-validate's core definitions, which our CRD schemas reference by id."""
    package = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    folder = package / f"v{KUBERNETES_VERSION}-local-strict"
    return Resource.from_contents(json.loads((folder / "_definitions.json").read_text()))


def validate_custom_resource(manifest: Manifest) -> None:
    """Check a RayService / ServiceMonitor / PrometheusRule against the vendored schema."""
    name = CRD_SCHEMA_FILES[(manifest["apiVersion"], manifest["kind"])]
    schema = json.loads((CRD_SCHEMAS / name).read_text())
    definitions = _kubernetes_definitions()
    registry: Registry[Any] = Registry().with_resource(definitions.id() or "", definitions)
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    validator.validate(manifest)


def validate_manifest(manifest: Manifest) -> None:
    """Validate one object: core kinds strictly with kubernetes-validate, CRDs with our schemas."""
    if (manifest["apiVersion"], manifest["kind"]) in CRD_SCHEMA_FILES:
        validate_custom_resource(manifest)
    else:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def pod_specs(manifests: list[Manifest]) -> Iterator[tuple[str, Manifest]]:
    """(where, pod spec) of every pod template, the RayService's head and worker groups too."""
    for manifest in manifests:
        where = f"{manifest['kind']}/{manifest['metadata']['name']}"
        spec = manifest.get("spec", {})
        if "template" in spec:
            yield where, spec["template"]["spec"]
        if manifest["kind"] == "RayService":
            cluster = spec["rayClusterConfig"]
            yield f"{where}/head", cluster["headGroupSpec"]["template"]["spec"]
            for group in cluster.get("workerGroupSpecs", []):
                yield f"{where}/{group['groupName']}", group["template"]["spec"]


def containers(pod_spec: Manifest) -> list[Manifest]:
    """The init containers and containers of a pod spec."""
    return [*pod_spec.get("initContainers", []), *pod_spec["containers"]]


def find(manifests: list[Manifest], kind: str, suffix: str = "") -> Manifest:
    """The one object of this kind whose name ends with `suffix`."""
    (found,) = [
        m for m in manifests if m["kind"] == kind and m["metadata"]["name"].endswith(suffix)
    ]
    return found


def write_manifests(manifests: list[Manifest], folder: Path) -> Path:
    """Write each object to its own YAML file (for scanners such as checkov)."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, manifest in enumerate(manifests):
        name = f"{index:03d}-{manifest['kind'].lower()}-{manifest['metadata']['name']}.yaml"
        (folder / name).write_text(yaml.safe_dump(manifest, sort_keys=False))
    return folder
