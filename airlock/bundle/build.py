"""`airlock bundle build`: assemble, checksum and sign the offline bundle in a staging folder."""

from __future__ import annotations

import shutil
import sysconfig
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from airlock.bundle import layout
from airlock.bundle.chart import lint_chart, package_chart
from airlock.bundle.checksums import render_sums
from airlock.bundle.errors import BundleError
from airlock.bundle.images import (
    ImageRef,
    load_chart_images,
    load_digests,
    pin_images,
    render_images,
)
from airlock.bundle.keys import load_signing_key
from airlock.bundle.model_folders import copy_models
from airlock.bundle.requirements import Wheel, render_requirements, scan_wheels
from airlock.bundle.sbom import build_sbom
from airlock.bundle.wheelhouse import (
    WheelSource,
    build_project_wheel,
    fetch_wheels,
    prove_installable,
)
from audit.signing import get_key_id, get_public_pem
from models.manifest import ModelManifest
from models.store import ModelStore

Progress = Callable[[str], None]
SKIPPED_IN_ANSIBLE = shutil.ignore_patterns(
    ".git", "__pycache__", "*.pyc", ".cache", ".ansible", "*.retry"
)


@dataclass(frozen=True)
class BuildRequest:
    """What `airlock bundle build` was asked for."""

    out: Path
    source: Path
    signing_key: Path
    wheels: WheelSource = field(default_factory=WheelSource)
    model_ids: tuple[str, ...] = ()
    model_store: ModelStore | None = None  # required when model_ids is not empty
    image_digests: Path | None = None
    require_digests: bool = False


@dataclass(frozen=True)
class BuildSummary:
    """What was built: printed on stderr, and as JSON with --json."""

    out: str
    files: int
    total_bytes: int
    wheels: int
    models: list[str]
    images: int
    unpinned_images: list[str]
    key_id: str
    warnings: list[str]


def build_bundle(request: BuildRequest, progress: Progress) -> BuildSummary:
    """Build into a staging folder beside `out`, then rename it into place."""
    _check_request(request)
    key = load_signing_key(request.signing_key)
    staging = request.out.parent / f".{request.out.name}.partial-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    try:
        warnings, images = _assemble(request, staging, key, progress)
        if request.out.exists():
            request.out.rmdir()  # checked empty above
        staging.rename(request.out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    files, _ = layout.list_files(request.out)
    return BuildSummary(
        out=str(request.out),
        files=len(files),
        total_bytes=sum((request.out / f).stat().st_size for f in files),
        wheels=len(list((request.out / layout.WHEELHOUSE).glob("*.whl"))),
        models=list(request.model_ids),
        images=len(images),
        unpinned_images=[f"{i.key} ({i.source})" for i in images if i.digest is None],
        key_id=get_key_id(key.public_key()),
        warnings=warnings,
    )


def _check_request(request: BuildRequest) -> None:
    if request.out.exists() and (not request.out.is_dir() or any(request.out.iterdir())):
        raise BundleError(
            f"--out {request.out} exists and is not an empty folder",
            remedy="choose a new folder; a bundle is never written over another",
        )
    if not (request.source / layout.CHART_MARKER).is_file():
        raise BundleError(
            f"{request.source} is not an Airlock source checkout (no {layout.CHART_MARKER})",
            remedy="run from the checkout or pass --source",
        )
    for part in (layout.ANSIBLE, layout.CONTAINERFILE):
        if not (request.source / part).exists():
            raise BundleError(
                f"{request.source / part} does not exist",
                remedy="build from a full Airlock checkout",
            )
    if request.model_store is not None:
        for model_id in request.model_ids:
            request.model_store.get_manifest(model_id)  # an unknown id fails before pip runs
    elif request.model_ids:
        raise BundleError(
            "models were asked for but no model store is configured", remedy="set models.store_dir"
        )


def _assemble(
    request: BuildRequest, root: Path, key: Ed25519PrivateKey, progress: Progress
) -> tuple[list[str], list[ImageRef]]:
    """Write every part, then bundle.json, the public key, SHA256SUMS and its signature."""
    images, warnings = _add_images(request, root, progress)  # cheap checks before pip runs
    project, wheels, unused = _fill_wheelhouse(request, root / layout.WHEELHOUSE, progress)
    warnings += [f"wheel not needed by the offline install: {name}" for name in unused]
    warnings += _add_chart(request.source / "helm" / "airlock", root / layout.HELM, progress)
    _add_ansible(request.source / layout.ANSIBLE, root / layout.ANSIBLE, progress)
    shutil.copyfile(request.source / layout.CONTAINERFILE, root / layout.CONTAINERFILE)
    models = _add_models(request, root / layout.MODELS, progress)
    progress("writing the CycloneDX SBOM")
    sbom = build_sbom(project, wheels, [(m, root / layout.MODELS / m.id) for m in models], images)
    (root / layout.SBOM).write_text(sbom, "utf-8")
    _write_info(request, root, project)
    (root / layout.PUBLIC_KEY).write_text(get_public_pem(key.public_key()), "ascii")
    _sign(root, key, progress)
    return warnings, images


def _fill_wheelhouse(
    request: BuildRequest, wheelhouse: Path, progress: Progress
) -> tuple[Wheel, list[Wheel], list[str]]:
    """Project wheel, dependencies, hash-pinned requirements.txt, and the proof it installs."""
    wheelhouse.mkdir()
    with tempfile.TemporaryDirectory(prefix="airlock-wheel-") as scratch:
        project_file = build_project_wheel(request.wheels, request.source, Path(scratch), progress)
        fetch_wheels(request.wheels, project_file, wheelhouse, progress)
    wheels = scan_wheels(wheelhouse)
    if not wheels:
        raise BundleError("pip put no wheels in the wheelhouse", remedy="check pip's output above")
    requirements = wheelhouse / "requirements.txt"
    requirements.write_text(render_requirements(wheels), "utf-8")
    progress(f"proving that the {len(wheels)} wheels install offline with their hashes")
    unused = prove_installable(request.wheels, wheelhouse, requirements)
    project = next((w for w in wheels if w.name == "airlock"), None)
    if project is None:
        raise BundleError(
            "the Airlock wheel is missing from the wheelhouse", remedy="report this bug"
        )
    return project, wheels, unused


def _add_chart(chart: Path, dest: Path, progress: Progress) -> list[str]:
    progress(f"linting and packaging the Helm chart {chart}")
    warnings = lint_chart(chart)
    package_chart(chart, dest)
    return [f"helm lint: {w}" for w in warnings]


def _add_ansible(tree: Path, dest: Path, progress: Progress) -> None:
    progress(f"copying {tree}")
    shutil.copytree(tree, dest, ignore=SKIPPED_IN_ANSIBLE, symlinks=False)


def _add_models(request: BuildRequest, dest: Path, progress: Progress) -> list[ModelManifest]:
    if not request.model_ids or request.model_store is None:
        return []
    progress(f"copying and re-verifying models: {', '.join(request.model_ids)}")
    return copy_models(request.model_store, list(request.model_ids), dest)


def _add_images(
    request: BuildRequest, root: Path, progress: Progress
) -> tuple[list[ImageRef], list[str]]:
    digests = load_digests(request.image_digests) if request.image_digests else {}
    images = pin_images(load_chart_images(request.source / "helm" / "airlock"), digests)
    unpinned = [f"{i.key} ({i.source})" for i in images if i.digest is None]
    if unpinned and request.require_digests:
        raise BundleError(
            f"{len(unpinned)} images have no digest: {', '.join(unpinned)}",
            remedy="pin them in --image-digests (from your registry) or drop --require-digests",
        )
    unused = sorted(set(digests) - {i.key for i in images})
    warnings = [f"image without a digest (not pinned): {u}" for u in unpinned]
    warnings += [f"digest given for an image the chart does not use: {u}" for u in unused]
    progress(f"listing {len(images)} container images ({len(unpinned)} without a digest)")
    (root / layout.IMAGES).write_text(render_images(images), "utf-8")
    return images, warnings


def _write_info(request: BuildRequest, root: Path, project: Wheel) -> None:
    host_python = sysconfig.get_python_version()
    info = layout.BundleInfo(
        airlock_version=project.version,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        platform=request.wheels.platform or sysconfig.get_platform(),
        python=request.wheels.python or host_python,
        models=list(request.model_ids),
    )
    (root / layout.BUNDLE_JSON).write_text(info.model_dump_json(indent=2) + "\n", "utf-8")


def _sign(root: Path, key: Ed25519PrivateKey, progress: Progress) -> None:
    files, odd = layout.list_files(root)
    if odd:
        raise BundleError(
            f"links or special files in the bundle: {', '.join(odd)}", remedy="report this bug"
        )
    progress(f"hashing {len(files)} files into {layout.SUMS} and signing it")
    sums = render_sums(root, [f for f in files if f not in layout.UNSUMMED]).encode("utf-8")
    (root / layout.SUMS).write_bytes(sums)
    (root / layout.SIGNATURE).write_bytes(key.sign(sums))
