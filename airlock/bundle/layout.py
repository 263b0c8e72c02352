"""Where each part of a bundle lives, what `bundle.json` holds, and how files are listed."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

FORMAT = "airlock-bundle/1"
BUNDLE_JSON = "bundle.json"
SUMS = "SHA256SUMS"
SIGNATURE = "SHA256SUMS.sig"
PUBLIC_KEY = "signing-key.pub.pem"
WHEELHOUSE = "wheelhouse"
REQUIREMENTS = f"{WHEELHOUSE}/requirements.txt"
HELM = "helm"
ANSIBLE = "ansible"
MODELS = "models"
SBOM = "sbom.cdx.json"
IMAGES = "images.json"
CONTAINERFILE = "Containerfile"  # builds the Airlock image from the wheelhouse, no index
UNSUMMED = frozenset({SUMS, SIGNATURE})  # the only files SHA256SUMS does not list
CHART_MARKER = Path("helm") / "airlock" / "Chart.yaml"


class BundleInfo(BaseModel):
    """The contents of `bundle.json`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str = Field(FORMAT, description="Layout version of the bundle.")
    airlock_version: str = Field(description="Version of the Airlock wheel inside.")
    created: str = Field(description="UTC time of the build, ISO 8601.")
    platform: str = Field(description="Target platform tag of the wheels, or the build host's.")
    python: str = Field(description="Target Python version (major.minor).")
    models: list[str] = Field(description="Model ids under models/.")
    images: str = Field(IMAGES, description="The container image list, relative to the bundle.")


def list_files(root: Path) -> tuple[list[str], list[str]]:
    """Every regular file under `root` ('/'-separated, sorted) and every link or special file."""
    files: list[str] = []
    odd: list[str] = []
    for folder, dirs, names in os.walk(root):  # never follows links: a link is reported
        for name in [*dirs, *names]:
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                odd.append(rel)
            elif path.is_file():
                files.append(rel)
    return sorted(files), sorted(odd)


def find_source(start: Path) -> Path | None:
    """The source checkout holding `start`: the nearest folder with helm/airlock/Chart.yaml."""
    for folder in (start.resolve(), *start.resolve().parents):
        if (folder / CHART_MARKER).is_file():
            return folder
    return None
