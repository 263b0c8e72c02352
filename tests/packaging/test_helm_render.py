"""The chart renders for default and production values, and every object validates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python
import pytest
import yaml

from airlock.config import load_settings
from tests.packaging.helmrender import (
    CHART,
    MILVUS_CHART,
    Manifest,
    find,
    make_serve_config,
    production_values,
    render,
    validate_manifest,
)
from tests.packaging.tools import REPO


@pytest.fixture(scope="module")
def serve_config() -> str:
    """What `airlock serving config` wrote for the tiny model, with model_root /models."""
    return make_serve_config()


@pytest.fixture(scope="module")
def production(serve_config: str) -> list[Manifest]:
    """The objects of values-production.yaml with that serve config."""
    return render(production_values(serve_config))


def kinds(manifests: list[Manifest]) -> set[str]:
    """The kinds rendered."""
    return {m["kind"] for m in manifests}


def test_default_values_render_objects_that_validate_strictly():
    manifests = render()
    for manifest in manifests:
        validate_manifest(manifest)
    assert {"Deployment", "Service", "ConfigMap", "NetworkPolicy", "PodDisruptionBudget"} <= kinds(
        manifests
    )
    assert "RayService" not in kinds(manifests)


def test_production_values_render_objects_that_validate_strictly(production: list[Manifest]):
    for manifest in production:
        validate_manifest(manifest)
    assert {
        "Deployment", "Service", "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget",
        "RayService", "ServiceMonitor", "PrometheusRule", "NetworkPolicy", "Job", "ConfigMap",
    } <= kinds(production)  # fmt: skip
    (tls,) = find(production, "Ingress")["spec"]["tls"]
    assert tls["secretName"] == "airlock-bank-internal-tls"
    assert find(production, "HorizontalPodAutoscaler")["spec"]["minReplicas"] == 3


def test_serve_config_v2_is_exactly_the_generated_text(
    production: list[Manifest], serve_config: str
):
    assert find(production, "RayService")["spec"]["serveConfigV2"] == serve_config


def test_gpu_worker_group_follows_the_serve_config(production: list[Manifest], serve_config: str):
    llm = yaml.safe_load(serve_config)["applications"][0]["args"]["llm_configs"][0]
    engine, scaling = llm["engine_kwargs"], llm["deployment_config"]["autoscaling_config"]
    cluster = find(production, "RayService")["spec"]["rayClusterConfig"]
    (group,) = cluster["workerGroupSpecs"]
    (container,) = group["template"]["spec"]["containers"]
    gpus = engine["tensor_parallel_size"] * engine["pipeline_parallel_size"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == gpus
    assert (group["minReplicas"], group["maxReplicas"]) == (
        scaling["min_replicas"],
        scaling["max_replicas"],
    )
    assert cluster["enableInTreeAutoscaling"] is True


def test_ray_pods_carry_the_offline_switches_of_airlock(production: list[Manifest]):
    from airlock.offline import OFFLINE_ENVIRONMENT

    cluster = find(production, "RayService")["spec"]["rayClusterConfig"]
    templates = [cluster["headGroupSpec"]["template"]] + [
        group["template"] for group in cluster["workerGroupSpecs"]
    ]
    for template in templates:
        env = {e["name"]: e["value"] for e in template["spec"]["containers"][0]["env"]}
        assert {k: env.get(k) for k in OFFLINE_ENVIRONMENT} == OFFLINE_ENVIRONMENT


def test_airlock_accepts_the_rendered_configuration(production: list[Manifest], tmp_path: Path):
    config = tmp_path / "airlock.yaml"
    config.write_text(find(production, "ConfigMap", "-config")["data"]["airlock.yaml"])
    settings = load_settings(config_file=config, environ={})
    assert settings.profile == "production"
    assert settings.rag.uri == "http://milvus.vector.bank.internal:19530"
    engines = [(e.name, e.base_url) for e in settings.serving.engines]
    assert engines == [
        ("vllm", "http://airlock-llm-serve-svc.airlock.svc.cluster.local:8000/v1"),
        ("extractive", ""),
    ]


def test_milvus_subchart_renders_and_airlock_points_at_it(serve_config: str):
    values = production_values(serve_config)
    values["milvus"] = {"enabled": True, "persistence": {"size": "200Gi"}}
    manifests = render(values)
    for manifest in manifests:
        validate_manifest(manifest)
    milvus = find(manifests, "Deployment", "-milvus-standalone")
    assert milvus["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "milvus", "run", "standalone",
    ]  # fmt: skip
    config = yaml.safe_load(find(manifests, "ConfigMap", "airlock-config")["data"]["airlock.yaml"])
    assert (
        config["rag"]["uri"] == "http://airlock-milvus-standalone.airlock.svc.cluster.local:19530"
    )


def chart_contents(chart: helm_python.Chart) -> dict[str, Any]:
    """What a chart holds: metadata, values, schema, templates and files."""
    return {
        "metadata": chart.metadata,
        "values": chart.values,
        "schema": chart.schema,
        "templates": sorted((t["name"], t["data"]) for t in chart.templates),
        "files": sorted((f["name"], f["data"]) for f in chart.files),
    }


def test_vendored_milvus_chart_matches_its_source():
    metadata = yaml.safe_load((MILVUS_CHART / "Chart.yaml").read_text())
    archive = CHART / "charts" / f"milvus-standalone-{metadata['version']}.tgz"
    with helm_python.Chart.load(archive) as vendored, helm_python.Chart.load(MILVUS_CHART) as src:
        assert chart_contents(vendored) == chart_contents(src), (
            "helm/airlock/charts is stale: re-package with "
            "helm_python.package('helm/milvus-standalone', destination='helm/airlock/charts')"
        )


def test_keycloak_realm_in_the_chart_is_the_api_realm():
    chart_copy = CHART / "files" / "keycloak" / "realm-airlock.json"
    original = REPO / "api" / "keycloak" / "realm-airlock.json"
    assert chart_copy.read_bytes() == original.read_bytes()


def test_monitoring_objects_are_the_monitoring_files(production: list[Manifest]):
    rules = yaml.safe_load((CHART / "files" / "alerts" / "airlock-rules.yaml").read_text())
    assert find(production, "PrometheusRule")["spec"] == rules
    dashboards = sorted(p.name for p in (CHART / "files" / "dashboards").glob("*.json"))
    rendered = sorted(
        key
        for m in production
        if m["kind"] == "ConfigMap" and m["metadata"]["labels"].get("grafana_dashboard") == "1"
        for key in m["data"]
    )
    assert rendered == dashboards
