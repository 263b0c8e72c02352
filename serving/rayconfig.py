"""The Ray Serve LLM application config (`serve run` YAML, KubeRay `serveConfigV2`) of a model."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import yaml
from pydantic import ValidationError

from airlock.offline import OFFLINE_ENVIRONMENT
from models.manifest import MANIFEST_NAME, ModelManifest
from models.store import ModelStore, hash_file
from serving.errors import ServingConfigError
from serving.sizing import DeploymentAsk, ServingPlan, load_model_shape, plan_deployment

APP_NAME = "airlock-llm"
IMPORT_PATH = "ray.serve.llm:build_openai_app"
RAY_REQUIRED = "ray[serve]>=2.50 (Ray Serve LLM's LLMConfig)"
# Requests in flight per replica before the autoscaler adds one; vLLM batches far more than
# this, so a replica scales out while its latency is still good.
TARGET_ONGOING_REQUESTS = 32
# The air-gap switches that matter inside the replicas (vLLM, transformers, the hub, Ray);
# the OPENAI_* ones only guard LlamaIndex in Airlock's own processes.
REPLICA_ENVIRONMENT = {k: v for k, v in OFFLINE_ENVIRONMENT.items() if not k.startswith("OPENAI_")}


@dataclass(frozen=True)
class ServeConfig:
    """A validated Ray Serve config, the plan behind it, and the manifest it was built from."""

    plan: ServingPlan
    config: dict[str, Any]
    manifest_sha256: str

    def to_yaml(self) -> str:
        """The YAML, headed by comments naming the model, its manifest hash and the sizing."""
        header = [
            f"# Ray Serve LLM application for model {self.plan.model_id}",
            f"# manifest {MANIFEST_NAME} sha256 {self.manifest_sha256}",
            "# written by `airlock serving config`; deploy with `serve run FILE` or paste",
            "# `applications` into a KubeRay RayService serveConfigV2",
            *(f"# {line}" for line in self.plan.describe()),
        ]
        body = yaml.safe_dump(self.config, sort_keys=False, allow_unicode=True)
        return "\n".join(header) + "\n" + body


def build_serve_config(
    store: ModelStore,
    model_id: str,
    ask: DeploymentAsk,
    *,
    allow_test_model: bool = False,
) -> ServeConfig:
    """Size, build and validate the Ray Serve LLM config of one stored model."""
    manifest = store.get_manifest(model_id)
    _check_servable(manifest, allow_test_model)
    model_dir = store.get_model_dir(model_id)
    plan = plan_deployment(manifest, load_model_shape(model_dir, manifest), ask)
    if not manifest.for_answers:
        note = "a test model (for_answers: false): plumbing checks only, never real answers"
        plan = replace(plan, warnings=(*plan.warnings, note))
    root = ask.cluster.model_root or str(store.root.resolve())
    llm_config = build_llm_config(manifest, plan, ask, f"{root.rstrip('/')}/{model_id}")
    config = build_application_config([llm_config])
    validate_serve_config(config)
    return ServeConfig(plan, config, hash_file(model_dir / MANIFEST_NAME))


def build_llm_config(
    manifest: ModelManifest, plan: ServingPlan, ask: DeploymentAsk, model_source: str
) -> dict[str, Any]:
    """One `llm_configs` entry: where the weights are, vLLM's engine kwargs, scaling, placement."""
    # Ray Serve LLM serves the model under model_id and refuses `model`/`served_model_name`
    # in engine_kwargs; clients ask for the registry id.
    engine_kwargs: dict[str, Any] = {
        "tensor_parallel_size": plan.tensor_parallel,
        "pipeline_parallel_size": plan.pipeline_parallel,
        "gpu_memory_utilization": plan.gpu_memory_utilization,
        "max_model_len": plan.max_model_len,
        "dtype": plan.dtype,
        "trust_remote_code": False,
    }
    if manifest.quantization:
        engine_kwargs["quantization"] = manifest.quantization
    one_node = plan.gpus_per_replica <= ask.cluster.gpus_per_node
    return {
        "model_loading_config": {"model_id": manifest.id, "model_source": model_source},
        "accelerator_type": ask.cluster.accelerator_type,
        "engine_kwargs": engine_kwargs,
        "deployment_config": {
            "autoscaling_config": {
                "min_replicas": ask.min_replicas,
                "max_replicas": ask.max_replicas,
                "target_ongoing_requests": TARGET_ONGOING_REQUESTS,
            }
        },
        # One bundle per engine worker; a replica that fits one node must stay on it (NVLink).
        "placement_group_config": {
            "bundle_per_worker": {"CPU": 1, "GPU": 1},
            "strategy": "STRICT_PACK" if one_node else "PACK",
        },
        "runtime_env": {"env_vars": dict(REPLICA_ENVIRONMENT)},
    }


def build_application_config(llm_configs: list[dict[str, Any]]) -> dict[str, Any]:
    """The Serve config around the LLM configs: one OpenAI-compatible application at '/'."""
    return {
        "applications": [
            {
                "name": APP_NAME,
                "route_prefix": "/",
                "import_path": IMPORT_PATH,
                "args": {"llm_configs": llm_configs},
            }
        ]
    }


def validate_serve_config(config: dict[str, Any]) -> None:
    """Check the config with Ray's own schemas; ServingConfigError names the field."""
    from ray.serve.schema import ServeDeploySchema

    try:
        ServeDeploySchema.model_validate(config)
    except ValidationError as exc:
        raise _schema_error("Ray Serve config", exc) from None
    llm_config_model = load_llm_config_model()
    for app_index, app in enumerate(config["applications"]):
        args = app.get("args") or {}
        if set(args) != {"llm_configs"} or not args["llm_configs"]:
            raise ServingConfigError(
                f"applications[{app_index}].args must hold a non-empty llm_configs list only",
                remedy=f"build the config with {IMPORT_PATH} arguments",
            )
        for index, llm_config in enumerate(args["llm_configs"]):
            try:
                llm_config_model.model_validate(llm_config)
            except ValidationError as exc:
                where = f"applications[{app_index}].args.llm_configs[{index}]"
                raise _schema_error(where, exc) from None


def load_llm_config_model() -> Any:
    """Ray's LLMConfig pydantic model (the public path needs vLLM; the internal one does not)."""
    try:
        from ray.serve.llm import LLMConfig

        return LLMConfig
    except ImportError:
        pass
    try:
        from ray.llm._internal.serve.core.configs.llm_config import LLMConfig as Internal

        return Internal
    except ImportError as exc:
        raise ServingConfigError(
            f"Ray Serve LLM's LLMConfig cannot be imported ({exc})",
            remedy=f"install {RAY_REQUIRED}",
        ) from None


def _check_servable(manifest: ModelManifest, allow_test_model: bool) -> None:
    if manifest.task != "chat":
        raise ServingConfigError(
            f"model {manifest.id!r} is a {manifest.task} model; vLLM on Ray serves chat models",
            remedy="pass the id of a chat model (`airlock models list`)",
        )
    if manifest.format != "safetensors":
        raise ServingConfigError(
            f"model {manifest.id!r} is {manifest.format}; vLLM on Ray gets safetensors folders",
            remedy="import the safetensors release of the model",
        )
    if not manifest.for_answers and not allow_test_model:
        raise ServingConfigError(
            f"model {manifest.id!r} is marked for tests only (for_answers: false)",
            remedy="pass --allow-test-model to deploy it for a plumbing check",
        )


def _schema_error(where: str, exc: ValidationError) -> ServingConfigError:
    problems = "; ".join(
        f"{where}.{'.'.join(str(p) for p in err['loc'])}: "
        + err["msg"].removeprefix("Value error, ")
        for err in exc.errors(include_url=False)
    )
    return ServingConfigError(
        f"invalid {problems}",
        remedy="fix the option or cluster setting behind that field "
        "(accelerator types are Ray's, e.g. H100, A100, L4)",
    )
