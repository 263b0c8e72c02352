"""The container images a chart deploys, found in its values, pinned by digests given apart."""

from __future__ import annotations

import json
import re
import tarfile
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from airlock.bundle.errors import BundleError

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class ImageRef:
    """One image of the chart: an entry of images.json."""

    image: str  # the `repository` value; global.imageRegistry is not applied
    tag: str
    digest: str | None
    source: str  # dotted values path, e.g. api.image

    @property
    def key(self) -> str:
        """`repository:tag`, the key of the digests file."""
        return f"{self.image}:{self.tag}"

    def to_json(self) -> dict[str, Any]:
        """The images.json entry."""
        return asdict(self)


def find_images(values: Any, app_version: str = "", path: str = "") -> Iterator[ImageRef]:
    """Every mapping with `repository` and `tag` keys; an empty tag means the chart appVersion."""
    if isinstance(values, Mapping):
        if "repository" in values and "tag" in values:
            tag, registry = values.get("tag"), values.get("registry")
            digest = values.get("digest") or None
            yield ImageRef(
                # The image's own registry is where it comes from; global.imageRegistry (a
                # mirror) is deliberately not applied.
                image=f"{registry}/{values['repository']}"
                if registry
                else str(values["repository"]),
                tag=str(tag) if tag not in (None, "") else app_version,
                digest=str(digest) if digest else None,
                source=path,
            )
            return
        for key, value in values.items():
            yield from find_images(value, app_version, f"{path}.{key}" if path else str(key))
    elif isinstance(values, list):
        for index, item in enumerate(values):
            yield from find_images(item, app_version, f"{path}[{index}]")


def load_chart_images(chart: Path) -> list[ImageRef]:
    """The images of the chart at `chart` and of its vendored subcharts (charts/*.tgz)."""
    meta = _load_yaml((chart / "Chart.yaml").read_text("utf-8"))
    values_file = chart / "values.yaml"
    values = _load_yaml(values_file.read_text("utf-8")) if values_file.is_file() else {}
    images = list(find_images(values, str(meta.get("appVersion", ""))))
    for dependency in meta.get("dependencies") or []:
        name = str(dependency.get("name", ""))
        alias = str(dependency.get("alias") or name)
        found = _read_subchart(chart / "charts", name)
        if found is None:
            continue
        sub_meta, sub_values = found
        merged = _merge(sub_values, values.get(alias) or {})  # parent values override
        images += find_images(merged, str(sub_meta.get("appVersion", "")), alias)
    return images


def _read_subchart(folder: Path, name: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Chart.yaml and values.yaml of a vendored subchart, packaged or as a folder."""
    if (folder / name / "Chart.yaml").is_file():
        texts = {p.name: p.read_text("utf-8") for p in (folder / name).glob("*.yaml")}
    else:
        packages = sorted(folder.glob(f"{name}-*.tgz"))
        if not packages:
            return None
        with tarfile.open(packages[-1]) as archive:
            texts = {
                member.name.split("/", 1)[1]: _read_member(archive, member)
                for member in archive.getmembers()
                if member.isfile() and member.name in (f"{name}/Chart.yaml", f"{name}/values.yaml")
            }
    return _load_yaml(texts.get("Chart.yaml", "")), _load_yaml(texts.get("values.yaml", ""))


def _read_member(archive: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    handle = archive.extractfile(member)
    return handle.read().decode("utf-8") if handle else ""


def _load_yaml(text: str) -> dict[str, Any]:
    data = yaml.safe_load(text) if text else None
    return data if isinstance(data, dict) else {}


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's rule: the parent's values for a subchart win, mapping by mapping."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_digests(path: Path) -> dict[str, str]:
    """A YAML or JSON mapping `repository:tag` -> `sha256:<64 hex>`, checked."""
    try:
        data = yaml.safe_load(path.read_text("utf-8"))  # JSON is YAML
    except (OSError, yaml.YAMLError) as exc:
        raise BundleError(
            f"image digests file {path} cannot be read ({exc})", remedy="fix it"
        ) from None
    if not isinstance(data, dict):
        raise BundleError(
            f"image digests file {path} is not a mapping",
            remedy='write lines like "repo/name:tag": "sha256:<64 hex>"',
        )
    bad = [str(k) for k, v in data.items() if not (isinstance(v, str) and DIGEST.match(v))]
    if bad:
        raise BundleError(
            f"image digests file {path}: not sha256:<64 hex> for {', '.join(bad)}",
            remedy="copy the digests from your registry (e.g. `crane digest` or `skopeo inspect`)",
        )
    return {str(k): str(v) for k, v in data.items()}


def pin_images(images: list[ImageRef], digests: Mapping[str, str]) -> list[ImageRef]:
    """Apply the given digests; one that contradicts a digest in the values is an error."""
    pinned = []
    for image in images:
        given = digests.get(image.key)
        if given and image.digest and given != image.digest:
            raise BundleError(
                f"{image.key} has digest {image.digest} in values ({image.source}) but {given} "
                "in the digests file",
                remedy="make them agree",
            )
        if image.digest and not DIGEST.match(image.digest):
            raise BundleError(
                f"{image.source}.digest {image.digest!r} is not sha256:<64 hex>",
                remedy="fix values",
            )
        pinned.append(replace(image, digest=given or image.digest))
    return pinned


def render_images(images: list[ImageRef]) -> str:
    """images.json text."""
    return json.dumps([i.to_json() for i in images], indent=2) + "\n"
