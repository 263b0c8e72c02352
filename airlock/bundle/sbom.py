"""The CycloneDX 1.6 SBOM of a bundle: its wheels, models and container images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airlock.bundle.errors import BundleToolError
from airlock.bundle.images import ImageRef
from airlock.bundle.requirements import Wheel
from models.manifest import MANIFEST_NAME, ModelManifest
from models.store import hash_file


def build_sbom(
    project: Wheel,
    wheels: list[Wheel],
    models: list[tuple[ModelManifest, Path]],
    images: list[ImageRef],
) -> str:
    """CycloneDX 1.6 JSON, validated against the schema shipped with cyclonedx-python-lib."""
    try:
        from cyclonedx.model.bom import Bom
        from cyclonedx.output.json import JsonV1Dot6
        from cyclonedx.schema import SchemaVersion
        from cyclonedx.validation.json import JsonStrictValidator
    except ImportError:
        raise BundleToolError(
            "cyclonedx-python-lib is not installed", remedy="pip install 'airlock[bundle]'"
        ) from None
    bom = Bom()
    bom.metadata.component = _wheel_component(project, application=True)
    libraries = [_wheel_component(w, application=False) for w in wheels if w != project]
    for component in libraries:
        bom.components.add(component)
    for manifest, folder in models:
        bom.components.add(_model_component(manifest, folder))
    for image in images:
        bom.components.add(_image_component(image))
    bom.register_dependency(bom.metadata.component, libraries)
    text: str = JsonV1Dot6(bom).output_as_string(indent=2)
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if error is not None:
        raise BundleToolError(f"the SBOM does not validate ({error})", remedy="report this bug")
    return text + "\n"


def _wheel_component(wheel: Wheel, *, application: bool) -> Any:
    from cyclonedx.model import HashAlgorithm, HashType, Property
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    return Component(
        name=wheel.name,
        version=wheel.version,
        type=ComponentType.APPLICATION if application else ComponentType.LIBRARY,
        purl=PackageURL(type="pypi", name=wheel.name, version=wheel.version),
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=wheel.sha256)],
        bom_ref=f"wheelhouse/{wheel.filename}",
        properties=[Property(name="airlock:bundle-path", value=f"wheelhouse/{wheel.filename}")],
    )


def _model_component(manifest: ModelManifest, folder: Path) -> Any:
    from cyclonedx.model import HashAlgorithm, HashType, Property
    from cyclonedx.model.component import Component, ComponentType

    return Component(
        name=manifest.id,
        type=ComponentType.MACHINE_LEARNING_MODEL,
        # The manifest lists every file's SHA-256, so its hash identifies the whole model.
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=hash_file(folder / MANIFEST_NAME))],
        bom_ref=f"models/{manifest.id}",
        description=f"{manifest.family} {manifest.task} model, {manifest.format}",
        properties=[
            Property(name="airlock:bundle-path", value=f"models/{manifest.id}/{MANIFEST_NAME}"),
            Property(name="airlock:model-digest", value=manifest.get_digest()),
            Property(name="airlock:licence", value=manifest.licence),
        ],
    )


def _image_component(image: ImageRef) -> Any:
    from cyclonedx.model import HashAlgorithm, HashType, Property
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    name = image.image.rsplit("/", 1)[-1]
    purl = PackageURL(
        type="oci",
        name=name,
        version=image.digest,
        qualifiers={"repository_url": image.image, "tag": image.tag},
    )
    hashes = (
        [HashType(alg=HashAlgorithm.SHA_256, content=image.digest.removeprefix("sha256:"))]
        if image.digest
        else []
    )
    return Component(
        name=image.image,
        version=image.tag,
        type=ComponentType.CONTAINER,
        purl=purl,
        hashes=hashes,
        bom_ref=f"image:{image.source}",
        properties=[Property(name="airlock:values-path", value=image.source)],
    )
