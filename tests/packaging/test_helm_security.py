"""Secure by default: what every rendered pod, container and network policy must say."""

from __future__ import annotations

import copy

import pytest

from tests.packaging.helmrender import (
    Manifest,
    containers,
    find,
    make_serve_config,
    pod_specs,
    production_values,
    render,
)

RAY_UID = 1000  # the Ray image's own user


@pytest.fixture(scope="module")
def production() -> list[Manifest]:
    """The objects of values-production.yaml, vLLM included."""
    return render(production_values(make_serve_config()))


@pytest.fixture(scope="module", params=["default", "production"])
def manifests(request: pytest.FixtureRequest, production: list[Manifest]) -> list[Manifest]:
    """Default values, then production values."""
    return render() if request.param == "default" else production


def test_every_container_runs_locked_down(manifests: list[Manifest]):
    for where, pod in pod_specs(manifests):
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        for container in containers(pod):
            context = container["securityContext"]
            name = f"{where}/{container['name']}"
            assert context["runAsNonRoot"] is True, name
            assert context["runAsUser"] in (10001, RAY_UID), name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            assert "add" not in context["capabilities"], name
            assert context["seccompProfile"]["type"] == "RuntimeDefault", name
            assert container["imagePullPolicy"] == "IfNotPresent", name
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name


def test_long_running_containers_have_probes(manifests: list[Manifest]):
    for where, pod in pod_specs(manifests):
        if where.startswith("Job/"):
            continue  # a run-once Job is bounded by activeDeadlineSeconds instead
        for container in pod["containers"]:
            assert "livenessProbe" in container and "readinessProbe" in container, where


def test_no_secret_is_rendered_and_none_is_passed_by_value(manifests: list[Manifest]):
    assert not [m for m in manifests if m["kind"] == "Secret"]
    for where, pod in pod_specs(manifests):
        for container in containers(pod):
            for env in container.get("env", []):
                # Secrets arrive as files from existing Secrets, never in the environment.
                assert "secretKeyRef" not in env.get("valueFrom", {}), where
                if env["name"].endswith(("PASSWORD", "SECRET")):
                    assert not env.get("value"), where


def test_service_account_tokens_are_not_mounted(manifests: list[Manifest]):
    for where, pod in pod_specs(manifests):
        if where.endswith("/head") and pod.get("automountServiceAccountToken"):
            # The Ray autoscaler needs the Kubernetes API; KubeRay binds a Role to this pod.
            assert "serviceAccountName" not in pod, where
            continue
        assert pod["automountServiceAccountToken"] is False, where


def test_model_checksums_gate_every_ray_pod_group(production: list[Manifest]):
    ray_pods = [(w, p) for w, p in pod_specs(production) if w.startswith("RayService/")]
    assert [w.rsplit("/", 1)[1] for w, _ in ray_pods] == ["head", "gpu"]
    for where, pod in ray_pods:
        (verify,) = pod["initContainers"]
        assert verify["args"] == ["models", "verify", "tiny-llama"], where
        assert verify["image"].split("@")[0].rsplit(":", 1)[0].endswith("airlock/airlock")
        env = {e["name"]: e["value"] for e in verify["env"]}
        assert env["AIRLOCK__MODELS__STORE_DIR"] == "/models"
        (mount,) = [m for m in verify["volumeMounts"] if m["mountPath"] == "/models"]
        assert mount["readOnly"] is True, where
        (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
        claim = volume["persistentVolumeClaim"]
        assert claim == {"claimName": "airlock-models", "readOnly": True}, where
        ray_mounts = pod["containers"][0]["volumeMounts"]
        assert {"name": mount["name"], "mountPath": "/models", "readOnly": True} in ray_mounts


def test_network_policies_deny_everything_not_allowed(manifests: list[Manifest]):
    policies = [m for m in manifests if m["kind"] == "NetworkPolicy"]
    deny = find(policies, "NetworkPolicy", "-default-deny")["spec"]
    assert deny["podSelector"] == {"matchLabels": {"app.kubernetes.io/instance": "airlock"}}
    assert deny["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny and "egress" not in deny
    for policy in policies:
        for rule in policy["spec"].get("egress", []):
            # An egress rule without `to` would open every destination.
            assert rule.get("to"), policy["metadata"]["name"]


def test_production_egress_reaches_only_the_configured_services(production: list[Manifest]):
    egress = find(production, "NetworkPolicy", "-app-egress")["spec"]["egress"]
    destinations = [(rule["to"], rule["ports"][0]["port"]) for rule in egress]
    assert ([{"ipBlock": {"cidr": "10.20.30.0/28"}}], 5432) in destinations
    assert ([{"ipBlock": {"cidr": "10.20.31.0/28"}}], 19530) in destinations
    assert ([{"ipBlock": {"cidr": "10.20.32.10/32"}}], 443) in destinations
    assert any(port == 8000 and "podSelector" in to[0] for to, port in destinations)
    assert len(destinations) == 4


def all_images(manifests: list[Manifest]) -> list[str]:
    """Every container image of every pod."""
    return [c["image"] for _, pod in pod_specs(manifests) for c in containers(pod)]


def test_global_image_registry_rewrites_every_image(production: list[Manifest]):
    values = production_values(make_serve_config())
    values["global"]["imageRegistry"] = "mirror.example.internal:5000/x"
    values["milvus"] = {"enabled": True}
    images = all_images(render(values))
    assert len(images) >= 7
    assert all(image.startswith("mirror.example.internal:5000/x/") for image in images), images


def test_image_digest_replaces_the_tag():
    digest = "sha256:" + "ab" * 32
    values = {"image": {"digest": digest}}
    images = all_images(render(copy.deepcopy(values)))
    assert images and all(image == f"airlock/airlock@{digest}" for image in images)
