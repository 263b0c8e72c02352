"""Turn the schemas embedded in @kubernetes-models/prometheus-operator into JSON Schema files."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

# The core Kubernetes definitions as kubernetes-validate bundles them; tests register that file
# under this id, so ObjectMeta is checked by the real Kubernetes schema, not a copy.
K8S_DEFS = "https://kubernetes.io/api/_definitions.json#/$defs/"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
KINDS = {"ServiceMonitor": "servicemonitor", "PrometheusRule": "prometheusrule"}


def extract_schema(source: str) -> dict[str, Any]:
    """The `const schema = {...};` object literal of a generated model module (it is JSON)."""
    found = re.search(r"^const schema = (\{.*?^\});$", source, re.MULTILINE | re.DOTALL)
    if found is None:
        raise SystemExit("no `const schema = {...};` in the module")
    schema: dict[str, Any] = json.loads(found.group(1))
    return schema


def to_json_schema(node: Any) -> Any:
    """OpenAPI `nullable` becomes a null type; the ObjectMeta reference points at Kubernetes'."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: to_json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("$ref") == f"{OBJECT_META}#":
        out["$ref"] = K8S_DEFS + OBJECT_META
    # Refuse undeclared fields, like kubectl's strict field validation: a misspelt field then
    # fails the test instead of being pruned silently by the API server.
    if node.get("properties") and "additionalProperties" not in node:
        out["additionalProperties"] = False
    if node.get("nullable") is True and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def main(package_dir: str, out_dir: str) -> None:
    """Write <kind>-monitoring-v1.json for each kind from an unpacked npm package folder."""
    for kind, stem in KINDS.items():
        module = Path(package_dir) / "monitoring.coreos.com" / "v1" / f"{kind}.js"
        schema = to_json_schema(extract_schema(module.read_text()))
        document = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://airlock.invalid/crd-schemas/{stem}-monitoring-v1.json",
            **schema,
        }
        target = Path(out_dir) / f"{stem}-monitoring-v1.json"
        target.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:3])
