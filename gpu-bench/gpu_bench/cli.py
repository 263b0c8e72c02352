"""`gpu-bench run | search | compare | report`."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import click

from gpu_bench.auth import AuthError, KeycloakClient, auth_headers, fetch_keycloak_token
from gpu_bench.client import PreflightError, load_tokenizer
from gpu_bench.load import Progress
from gpu_bench.plots import regenerate, write_run_dir
from gpu_bench.records import RequestRecord
from gpu_bench.report import ResultError, compare, read_result
from gpu_bench.roofline import Roofline, compute_roofline, get_gpu, get_model_shape
from gpu_bench.runner import LoadMode, RunPlan, execute
from gpu_bench.slo import parse_slo, search_rate
from gpu_bench.workloads import (
    WorkloadError,
    load_jsonl,
    load_sharegpt,
    load_tickets,
    synthetic,
)

SYNTHETIC_COUNT = 1000  # distinct synthetic prompts, cycled through by the load


def _points(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected numbers like 1,4,16 (or inf)") from None
    if not values or any(value <= 0 for value in values):
        raise click.BadParameter(f"{text!r}: every point must be positive")
    return values


def _items(options: dict[str, Any]) -> tuple[list[Any], str]:
    workload, dataset = options["workload"], options["dataset"]
    if workload != "synthetic" and dataset is None:
        raise click.UsageError(f"--workload {workload} needs --dataset FILE")
    if workload == "synthetic":
        items: list[Any] = synthetic(
            SYNTHETIC_COUNT,
            input_dist=options["input_len"],
            output_dist=options["output_len"],
            seed=options["seed"],
        )
    elif workload == "sharegpt":
        items = load_sharegpt(dataset)
    elif workload == "jsonl":
        items = load_jsonl(dataset)
    else:
        return load_tickets(dataset), f"tickets:{dataset}"
    if options["max_tokens"]:
        items = [dataclasses.replace(p, max_tokens=options["max_tokens"]) for p in items]
    return items, workload if dataset is None else f"{workload}:{dataset}"


def _headers(options: dict[str, Any]) -> dict[str, str]:
    if options["auth"] == "none":
        return {}
    if options["auth"] == "bearer":
        if not options["token"]:
            raise click.UsageError("--auth bearer needs --token (or GPU_BENCH_TOKEN)")
        return auth_headers(options["token"])
    missing = [n for n in ("keycloak_realm", "client_id", "client_secret") if not options[n]]
    if missing:
        flags = ", ".join("--" + name.replace("_", "-") for name in missing)
        raise click.UsageError(f"--auth keycloak needs {flags}")
    client = KeycloakClient(
        options["keycloak_realm"], options["client_id"], options["client_secret"]
    )
    return auth_headers(fetch_keycloak_token(client))


def _roofline(options: dict[str, Any]) -> Roofline | None:
    if not options["gpu"]:
        return None
    gpu = get_gpu(
        options["gpu"],
        memory_gib=options["gpu_memory"],
        bandwidth_gb_s=options["gpu_bandwidth"],
        bf16_tflops=options["gpu_tflops"],
    )
    shape = get_model_shape(options["model_shape"] or options["model"])
    return compute_roofline(shape, gpu, tensor_parallel=options["tensor_parallel"])


def _progress(update: Progress) -> None:
    click.echo(
        f"\r{update.phase}: {update.done} done, {update.errors} errors, "
        f"{update.request_rate:.1f} req/s, {update.output_token_rate:.0f} tok/s   ",
        nl=False,
        err=True,
    )


_RUN_OPTIONS = [
    click.option("--endpoint", required=True, help="Server root, e.g. http://vllm:8000."),
    click.option("--model", required=True, help="Model id the endpoint serves."),
    click.option("--api", type=click.Choice(["chat", "completions"]), default="chat"),
    click.option("--auth", type=click.Choice(["none", "bearer", "keycloak"]), default="none"),
    click.option("--token", envvar="GPU_BENCH_TOKEN", help="Bearer token (--auth bearer)."),
    click.option("--keycloak-realm", help="Realm URL, https://HOST/realms/REALM."),
    click.option("--client-id"),
    click.option("--client-secret", envvar="GPU_BENCH_CLIENT_SECRET"),
    click.option(
        "--workload",
        type=click.Choice(["synthetic", "sharegpt", "jsonl", "tickets"]),
        default="synthetic",
    ),
    click.option("--dataset", type=click.Path(path_type=Path, exists=True, dir_okay=False)),
    click.option("--input-len", default="fixed:256", help="fixed:N, uniform:A:B, normal:M:S"),
    click.option("--output-len", default="fixed:128", help="Same forms as --input-len."),
    click.option("--duration", type=float, help="Seconds per load point."),
    click.option("--num-requests", type=int, help="Requests per load point."),
    click.option("--warmup", type=int, default=0, help="Requests before the first point."),
    click.option("--max-tokens", type=int, help="Override every prompt's max tokens."),
    click.option("--ignore-eos", is_flag=True, help="Generate max tokens (vLLM's ignore_eos)."),
    click.option("--seed", type=int, default=0),
    click.option(
        "--tokenizer",
        type=click.Path(path_type=Path, exists=True),
        help="tokenizer.json or a model folder: output tokens when the server sends no usage.",
    ),
    click.option("--slo", help="e.g. ttft=500ms,tpot=50ms,e2e=10s (goodput per point)."),
    click.option("--gpu", help="GPU for the roofline, e.g. H200 (see gpus.yaml)."),
    click.option("--gpu-memory", type=float, help="Override the GPU's memory (GiB)."),
    click.option("--gpu-bandwidth", type=float, help="Override its memory bandwidth (GB/s)."),
    click.option("--gpu-tflops", type=float, help="Override its dense BF16 TFLOPS."),
    click.option("--model-shape", help="Preset (llama-3.1-8b) or model folder for the roofline."),
    click.option("--tensor-parallel", type=int, default=1),
]


def run_options(command: Any) -> Any:
    """Attach the options shared by `run` and `search`."""
    for option in reversed(_RUN_OPTIONS):
        command = option(command)
    return command


@click.group()
def cli() -> None:
    """Serving benchmarks for OpenAI-compatible endpoints (vLLM, Ray Serve LLM, Airlock)."""


@cli.command()
@run_options
@click.option("--concurrency", help="Closed-loop sweep, e.g. 1,4,16,64.")
@click.option("--rate", help="Open-loop Poisson sweep in requests/s, e.g. 1,2,4,inf.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True)
def run(**options: Any) -> None:
    """Run a sweep and write result.json, requests.jsonl, summary.md and plots/."""
    if bool(options["concurrency"]) == bool(options["rate"]):
        raise click.UsageError("give exactly one of --concurrency and --rate")
    if options["duration"] is None and options["num_requests"] is None:
        raise click.UsageError("give --duration or --num-requests")
    mode: LoadMode = "concurrency" if options["concurrency"] else "rate"
    items, workload = _items(options)
    plan = RunPlan(
        endpoint=options["endpoint"],
        model=options["model"],
        api="tickets" if options["workload"] == "tickets" else options["api"],
        items=items,
        workload=workload,
        mode=mode,
        points=_points(options[mode]),
        num_requests=options["num_requests"],
        duration_s=options["duration"],
        warmup=options["warmup"],
        seed=options["seed"],
        ignore_eos=options["ignore_eos"],
        headers=_headers(options),
        slo=parse_slo(options["slo"]) if options["slo"] else None,
        command=shlex.join(sys.argv),
        tokenizer=load_tokenizer(options["tokenizer"]) if options["tokenizer"] else None,
    )
    outcome = asyncio.run(execute(plan, progress=_progress, roofline=_roofline(options)))
    click.echo("", err=True)
    write_run_dir(options["out"], outcome.result, outcome.records)
    click.echo((options["out"] / "summary.md").read_text(encoding="utf-8"))
    if outcome.result["client"]["client_bound"]:
        click.echo("warning: the client used over 80 % of a core: results may be client-bound")
    if outcome.partial:
        click.echo("interrupted: partial results written", err=True)


@cli.command()
@run_options
@click.option("--target", type=float, default=0.9, help="Fraction of requests meeting the SLO.")
@click.option("--low", type=float, default=1.0, help="First rate tried (requests/s).")
@click.option("--high", type=float, default=256.0, help="Highest rate tried.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True)
def search(**options: Any) -> None:
    """The highest Poisson request rate that meets --slo for --target of the requests."""
    if not options["slo"]:
        raise click.UsageError("search needs --slo, e.g. ttft=500ms,tpot=50ms")
    if options["duration"] is None and options["num_requests"] is None:
        raise click.UsageError("give --duration or --num-requests (per probed rate)")
    items, workload = _items(options)
    slo = parse_slo(options["slo"])
    base = RunPlan(
        endpoint=options["endpoint"],
        model=options["model"],
        api="tickets" if options["workload"] == "tickets" else options["api"],
        items=items,
        workload=workload,
        mode="rate",
        points=(options["low"],),
        num_requests=options["num_requests"],
        duration_s=options["duration"],
        seed=options["seed"],
        ignore_eos=options["ignore_eos"],
        headers=_headers(options),
        slo=slo,
        tokenizer=load_tokenizer(options["tokenizer"]) if options["tokenizer"] else None,
    )

    async def at_rate(rate: float) -> list[RequestRecord]:
        outcome = await execute(dataclasses.replace(base, points=(rate,)), progress=_progress)
        return outcome.records

    found = asyncio.run(
        search_rate(
            at_rate,
            slo,
            target_attainment=options["target"],
            low=options["low"],
            high=options["high"],
        )
    )
    options["out"].mkdir(parents=True, exist_ok=True)
    (options["out"] / "search.json").write_text(json.dumps(found.to_dict(), indent=2) + "\n")
    click.echo("", err=True)
    click.echo(
        f"highest rate meeting {options['slo']} for {options['target']:.0%}: {found.best_rate}"
    )


@cli.command("compare")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
def compare_cmd(runs: tuple[Path, ...]) -> None:
    """Deltas between runs (folders or result.json files), each against the first."""
    paths = [path / "result.json" if path.is_dir() else path for path in runs]
    click.echo(compare([read_result(path) for path in paths]))


@cli.command("report")
@click.argument("directory", type=click.Path(path_type=Path, exists=True, file_okay=False))
def report_cmd(directory: Path) -> None:
    """Regenerate summary.md and the plots of a run folder from its JSON."""
    for path in regenerate(directory):
        click.echo(str(path))


def main() -> None:
    """Console entry point: bad input exits 2 with one line saying what is wrong."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (WorkloadError, ResultError, AuthError, PreflightError, RuntimeError, ValueError) as exc:
        click.echo(f"gpu-bench: {exc}", err=True)
        sys.exit(2)
