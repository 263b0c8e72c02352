"""The Helm chart: lint it and package it with Helm's Go SDK (no helm binary needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airlock.bundle.errors import BundleToolError

ERROR_SEVERITY = 3  # helm lint: 1 info, 2 warning, 3 error


def _helm() -> Any:
    """helm-python-sdk, imported late: only the build host installs the `bundle` extra."""
    try:
        import helm_python
    except ImportError:
        raise BundleToolError(
            "helm-python-sdk is not installed", remedy="pip install 'airlock[bundle]'"
        ) from None
    return helm_python


def lint_chart(chart: Path) -> list[str]:
    """Lint the chart; raise on errors, return the warnings."""
    helm = _helm()
    try:
        report = helm.lint(str(chart))
    except helm.HelmError as exc:
        raise BundleToolError(
            f"helm lint of {chart} failed ({exc})", remedy="fix the chart"
        ) from None
    errors = [
        f"{m.get('path', '')}: {m.get('error', '')}"
        for m in report.get("messages", [])
        if m.get("severity", 0) >= ERROR_SEVERITY
    ] + [str(e) for e in report.get("errors") or []]
    if errors:
        raise BundleToolError(
            f"helm lint found {len(errors)} errors in {chart}: " + " | ".join(errors),
            remedy="fix the chart, then build again",
        )
    return [
        f"{m.get('path', '')}: {m.get('error', '')}"
        for m in report.get("messages", [])
        if m.get("severity", 0) == ERROR_SEVERITY - 1
    ]


def package_chart(chart: Path, dest: Path) -> Path:
    """Package the chart into `dest` as NAME-VERSION.tgz."""
    helm = _helm()
    dest.mkdir(parents=True, exist_ok=True)
    try:
        return Path(helm.package(str(chart), destination=str(dest)))
    except helm.HelmError as exc:
        raise BundleToolError(
            f"helm package of {chart} failed ({exc})", remedy="fix the chart"
        ) from None
