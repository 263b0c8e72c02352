"""`airlock serving config|up`."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import click

from airlock.cli.context import CliState, emit_json, pass_state
from models.registry import build_model_store
from serving.ray_app import serve_on_ray, serve_with_uvicorn
from serving.rayconfig import build_serve_config
from serving.sizing import DeploymentAsk


@click.group()
def serving() -> None:
    """Text generation engines and their deployment."""


def parse_replicas(text: str) -> tuple[int, int]:
    """'MIN:MAX' (or 'N' for N:N) as two integers with 0 <= MIN <= MAX and MAX >= 1."""
    low, _, high = text.partition(":")
    try:
        bounds = (int(low), int(high or low))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not MIN:MAX, e.g. 1:4", param_hint="--replicas"
        ) from None
    if not 0 <= bounds[0] <= bounds[1] or bounds[1] < 1:
        raise click.BadParameter(
            f"{text!r} needs 0 <= MIN <= MAX and MAX >= 1", param_hint="--replicas"
        )
    return bounds


def write_atomically(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder and rename, so readers never see half."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with tmp.open("x", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@serving.command("config")
@click.option("--model", "model_id", required=True, help="Registry id of a chat model.")
@click.option("--replicas", default="1:1", show_default=True, help="Autoscaling MIN:MAX.")
@click.option("--tensor-parallel", type=int, help="GPUs per pipeline stage [manifest or 1].")
@click.option("--pipeline-parallel", type=int, default=1, show_default=True, help="Stages.")
@click.option("--gpu-memory-utilization", type=float, default=0.9, show_default=True)
@click.option("--max-model-len", type=int, help="Context per sequence [the model's].")
@click.option("--accelerator", help="Ray accelerator type [serving.cluster].")
@click.option("--gpu-memory-gib", type=float, help="Memory of one GPU [serving.cluster].")
@click.option("--gpus-per-node", type=int, help="GPUs per node [serving.cluster].")
@click.option("--nodes", type=int, help="Nodes for the deployment [serving.cluster].")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="YAML file.")
@click.option("--json", "as_json", is_flag=True, help="Plan and config as JSON on stdout.")
@click.option("--allow-test-model", is_flag=True, help="Deploy a for_answers: false model.")
@pass_state
def serving_config(
    state: CliState,
    *,
    model_id: str,
    replicas: str,
    tensor_parallel: int | None,
    pipeline_parallel: int,
    gpu_memory_utilization: float,
    max_model_len: int | None,
    accelerator: str | None,
    gpu_memory_gib: float | None,
    gpus_per_node: int | None,
    nodes: int | None,
    out: Path | None,
    as_json: bool,
    allow_test_model: bool,
) -> None:
    """Write a Ray Serve LLM (vLLM) config for a model, sized against the GPU cluster."""
    low, high = parse_replicas(replicas)
    given: dict[str, object] = {"accelerator_type": accelerator, "nodes": nodes}
    given |= {"gpu_memory_gib": gpu_memory_gib, "gpus_per_node": gpus_per_node}
    cluster = state.settings.serving.cluster
    ask = DeploymentAsk(
        cluster=cluster.model_copy(update={k: v for k, v in given.items() if v is not None}),
        tensor_parallel=tensor_parallel,
        pipeline_parallel=pipeline_parallel,
        gpu_memory_utilization=gpu_memory_utilization,
        max_model_len=max_model_len,
        min_replicas=low,
        max_replicas=high,
    )
    store = build_model_store(state.settings)
    result = build_serve_config(store, model_id, ask, allow_test_model=allow_test_model)
    for line in result.plan.describe():
        click.echo(line, err=True)
    if out is not None:
        write_atomically(out, result.to_yaml())
        click.echo(f"wrote {out}", err=True)
    if as_json:
        emit_json({"plan": result.plan.to_dict(), "out": out, "config": result.config})
    elif out is None:
        click.echo(result.to_yaml(), nl=False)


@serving.command("up")
@click.option(
    "--engine",
    type=click.Choice(["transformers", "extractive"]),
    default="extractive",
    show_default=True,
    help="transformers: run a registry chat model; extractive: answer from given passages.",
)
@click.option("--model", "model_id", default="", help="Registry id (transformers) or name.")
@click.option("--host", help="Listen address [serving.host].")
@click.option("--port", type=click.IntRange(1, 65535), help="Listen port [serving.port].")
@click.option(
    "--mode",
    type=click.Choice(["ray", "uvicorn"]),
    default="ray",
    show_default=True,
    help="ray: a Ray Serve deployment on local Ray, as in production; uvicorn: one process.",
)
@pass_state
def serving_up(
    state: CliState, *, engine: str, model_id: str, host: str | None, port: int | None, mode: str
) -> None:
    """Serve an OpenAI-compatible API (vLLM's routes and shapes) on this machine's CPU."""
    if engine == "transformers" and not model_id:
        raise click.UsageError("--engine transformers needs --model ID (see `airlock models list`)")
    overrides = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    settings = state.settings.model_copy(
        update={"serving": state.settings.serving.model_copy(update=overrides)}
    )
    name = model_id or "extractive"
    where = f"http://{settings.serving.host}:{settings.serving.port}/v1"
    click.echo(f"serving {name} ({engine}, {mode}) at {where}; Ctrl-C stops", err=True)
    if mode == "uvicorn":
        serve_with_uvicorn(settings, engine, model_id)
    else:
        serve_on_ray(settings, engine, model_id)
