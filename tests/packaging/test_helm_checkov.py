"""checkov finds nothing in the rendered chart but what the chart suppresses with a reason."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.packaging.helmrender import (
    CHART,
    MILVUS_CHART,
    make_serve_config,
    production_values,
    render,
    write_manifests,
)
from tests.packaging.tools import find_ops_tool

SKIP = "checkov.io/skip"


def run_checkov(folder: Path) -> list[dict[str, Any]]:
    """checkov's JSON reports for a folder of manifests, with every download switched off."""
    checkov = find_ops_tool("checkov")
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE"}
    command = [str(checkov), "-d", str(folder), "--framework", "kubernetes", "--skip-download",
               "--quiet", "-o", "json"]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    reports = json.loads(done.stdout)
    return reports if isinstance(reports, list) else [reports]


def test_checkov_finds_no_failed_check_in_default_and_production(tmp_path: Path):
    values = production_values(make_serve_config())
    values["milvus"] = {"enabled": True}
    write_manifests(render(), tmp_path / "default")
    write_manifests(render(values), tmp_path / "production")
    reports = run_checkov(tmp_path)
    failed = [
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for report in reports
        for c in report["results"]["failed_checks"]
    ]
    assert not failed, "\n".join(failed)
    assert sum(report["summary"]["passed"] for report in reports) > 100


def test_every_checkov_suppression_names_a_check_and_a_reason():
    templates = [*CHART.glob("templates/*"), *MILVUS_CHART.glob("templates/*")]
    suppressions = [
        line.strip() for path in templates for line in path.read_text().splitlines() if SKIP in line
    ]
    assert suppressions
    for line in suppressions:
        value = yaml.safe_load(line.split(":", 1)[1]) if ":" in line else ""
        check, _, reason = str(value).partition("=")
        assert check.startswith("CKV_K8S_") and len(reason.split()) >= 4, line
