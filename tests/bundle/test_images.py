"""The image walker: every mapping with `repository` and `tag` in the chart's values is an image."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from airlock.bundle.errors import BundleError
from airlock.bundle.images import ImageRef, find_images, load_chart_images, load_digests, pin_images
from airlock.bundle.wheelhouse import expand_platform
from tests.packaging.tools import REPO

DIGEST = "sha256:" + "0f" * 32


def test_find_images_records_dotted_values_paths() -> None:
    values = {
        "global": {"imageRegistry": "mirror.local"},
        "api": {"image": {"repository": "acme/airlock", "tag": "1.2.3", "pullPolicy": "Always"}},
        "jobs": [{"image": {"repository": "acme/tool", "tag": 7}}],
        "note": "no image here",
    }
    found = list(find_images(values))
    assert found == [
        ImageRef("acme/airlock", "1.2.3", None, "api.image"),
        ImageRef("acme/tool", "7", None, "jobs[0].image"),
    ]


def test_find_images_uses_app_version_when_tag_empty() -> None:
    found = list(find_images({"image": {"repository": "acme/airlock", "tag": ""}}, "0.9.0"))
    assert found == [ImageRef("acme/airlock", "0.9.0", None, "image")]


def test_find_images_keeps_digest_given_in_values() -> None:
    values = {"ray": {"image": {"repository": "acme/ray", "tag": "2.60", "digest": DIGEST}}}
    assert next(iter(find_images(values))).digest == DIGEST


def test_pin_images_refuses_digest_contradicting_values() -> None:
    image = ImageRef("acme/ray", "2.60", DIGEST, "ray.image")
    with pytest.raises(BundleError, match=r"acme/ray:2\.60"):
        pin_images([image], {"acme/ray:2.60": "sha256:" + "11" * 32})


def test_load_digests_rejects_malformed_digest(tmp_path: Path) -> None:
    path = tmp_path / "digests.json"
    path.write_text('{"acme/ray:2.60": "sha256:abc", "acme/ok:1": "' + DIGEST + '"}')
    with pytest.raises(BundleError, match=r"acme/ray:2\.60"):
        load_digests(path)


def test_load_digests_reads_yaml_mapping(tmp_path: Path) -> None:
    path = tmp_path / "digests.yaml"
    path.write_text(f"acme/ray:2.60: {DIGEST}\n")
    assert load_digests(path) == {"acme/ray:2.60": DIGEST}


def test_repository_chart_images_all_have_values_paths() -> None:
    chart = REPO / "helm" / "airlock"
    images = load_chart_images(chart)
    assert images, "the chart's values.yaml names no image (repository + tag)"
    for image in images:
        assert image.image and image.tag and image.source, image


def test_expand_platform_accepts_older_glibc_wheels() -> None:
    tags = expand_platform("manylinux_2_28_x86_64")
    assert tags[0] == "manylinux_2_28_x86_64"
    assert {"manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux1_x86_64"} <= set(tags)
    assert "manylinux_2_34_x86_64" not in tags
    assert expand_platform("macosx_11_0_arm64") == ["macosx_11_0_arm64"]


def test_load_chart_images_walks_vendored_subchart_with_parent_overrides(tmp_path: Path) -> None:
    chart = tmp_path / "airlock"
    (chart / "charts").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(
        "apiVersion: v2\nname: airlock\nversion: 1.0.0\nappVersion: '1.0'\n"
        "dependencies:\n  - name: vector-db\n    alias: vdb\n    version: 0.2.0\n"
    )
    (chart / "values.yaml").write_text(
        "image: {registry: '', repository: acme/airlock, tag: ''}\nvdb:\n  image: {tag: v9}\n"
    )
    sub = tmp_path / "vector-db"
    sub.mkdir()
    (sub / "Chart.yaml").write_text("apiVersion: v2\nname: vector-db\nversion: 0.2.0\n")
    (sub / "values.yaml").write_text(
        "image: {registry: docker.io, repository: acme/vdb, tag: '', digest: ''}\n"
    )
    with tarfile.open(chart / "charts" / "vector-db-0.2.0.tgz", "w:gz") as archive:
        archive.add(sub, arcname="vector-db")
    assert load_chart_images(chart) == [
        ImageRef("acme/airlock", "1.0", None, "image"),
        ImageRef("docker.io/acme/vdb", "v9", None, "vdb.image"),
    ]
