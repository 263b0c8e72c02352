"""One benchmark run: preflight, a sweep of load points, telemetry, and the result."""

from __future__ import annotations

import asyncio
import math
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import httpx

from gpu_bench import RESULT_FORMAT
from gpu_bench.client import Api, chat_sender, preflight
from gpu_bench.load import LoadResult, Progress, RunControl, run_closed, run_open
from gpu_bench.records import RequestRecord
from gpu_bench.report import new_run
from gpu_bench.roofline import Roofline
from gpu_bench.slo import Slo, goodput
from gpu_bench.stats import summarize
from gpu_bench.telemetry import GpuSampler, ServerScraper
from gpu_bench.tickets import send_ticket

LoadMode = Literal["concurrency", "rate"]


@dataclass(frozen=True)
class RunPlan:
    """What to run: the endpoint, the workload items, and the load points of the sweep."""

    endpoint: str  # the server root, e.g. http://vllm:8000 (the API is under /v1)
    model: str
    api: Api | Literal["tickets"]
    items: Sequence[Any]  # Prompts, or ticket dicts for the tickets workload
    workload: str
    mode: LoadMode
    points: tuple[float, ...]
    num_requests: int | None = None
    duration_s: float | None = None
    warmup: int = 0
    seed: int = 0
    ignore_eos: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    slo: Slo | None = None
    timeout_s: float = 600.0
    command: str = ""
    tokenizer: Any = None  # a tokenizers.Tokenizer: output tokens when the server sends no usage


@dataclass
class RunOutcome:
    """The result document and every request record (warmup included)."""

    result: dict[str, Any]
    records: list[RequestRecord]
    partial: bool


def phase_name(plan: RunPlan, point: float) -> str:
    """The label of one load point, e.g. concurrency=16 or rate=inf."""
    value = "inf" if math.isinf(point) else f"{point:g}"
    return f"{plan.mode}={value}"


async def execute(
    plan: RunPlan,
    *,
    progress: Callable[[Progress], None] | None = None,
    roofline: Roofline | None = None,
) -> RunOutcome:
    """Run every load point in turn; Ctrl-C stops the sweep and keeps what was measured."""
    control = RunControl()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, control.stop)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=512)
    origin = time.perf_counter()
    async with httpx.AsyncClient(timeout=plan.timeout_s, limits=limits) as client:
        await check_endpoint(client, plan)
        scraper = ServerScraper(client, f"{plan.endpoint.rstrip('/')}/metrics", 1.0)
        sampler = GpuSampler(0.5)
        sampler.start()
        await scraper.start()
        try:
            loads = await _sweep(plan, client, control, origin, progress)
        finally:
            server = await scraper.stop()
            gpus = sampler.stop()
            loop.remove_signal_handler(signal.SIGINT)
    records = [record for load in loads for record in load.records]
    result = build_result(plan, loads, server, gpus, roofline)
    return RunOutcome(result, records, control.stopped or any(load.partial for load in loads))


async def check_endpoint(client: httpx.AsyncClient, plan: RunPlan) -> None:
    """Fail before the run when the endpoint is unreachable or does not serve the model."""
    if plan.api == "tickets":
        url = f"{plan.endpoint.rstrip('/')}/healthz"
        try:
            response = await client.get(url)
        except httpx.TransportError as exc:
            raise RuntimeError(
                f"cannot reach {url} ({type(exc).__name__}): is Airlock up?"
            ) from None
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}: is this Airlock's API?")
        return
    await preflight(client, f"{plan.endpoint.rstrip('/')}/v1", plan.model, plan.headers)


async def _sweep(
    plan: RunPlan,
    client: httpx.AsyncClient,
    control: RunControl,
    origin: float,
    progress: Callable[[Progress], None] | None,
) -> list[LoadResult]:
    send = _sender(plan, client, origin)
    loads: list[LoadResult] = []
    for index, point in enumerate(plan.points):
        if control.stopped:
            break
        common: dict[str, Any] = {
            "phase": phase_name(plan, point),
            "num_requests": plan.num_requests,
            "duration_s": plan.duration_s,
            "warmup": plan.warmup if index == 0 else 0,
            "control": control,
            "progress": progress,
            "id_prefix": f"gb{index}",
        }
        if plan.mode == "concurrency":
            loads.append(await run_closed(plan.items, send, concurrency=int(point), **common))
        else:
            loads.append(await run_open(plan.items, send, rate=point, seed=plan.seed, **common))
    return loads


def _sender(plan: RunPlan, client: httpx.AsyncClient, origin: float) -> Any:
    if plan.api != "tickets":
        return chat_sender(
            client,
            base_url=f"{plan.endpoint.rstrip('/')}/v1",
            model=plan.model,
            api=plan.api,
            started_at=origin,
            ignore_eos=plan.ignore_eos,
            headers=plan.headers,
            tokenizer=plan.tokenizer,
        )

    async def send(ticket: dict[str, Any], phase: str, request_id: str) -> RequestRecord:
        return await send_ticket(
            client,
            base_url=plan.endpoint,
            ticket=ticket,
            phase=phase,
            request_id=request_id,
            started_at=origin,
            headers=plan.headers,
        )

    return send


def build_result(
    plan: RunPlan,
    loads: Sequence[LoadResult],
    server: dict[str, Any],
    gpus: dict[str, Any],
    roofline: Roofline | None,
) -> dict[str, Any]:
    """The versioned result document of a run."""
    records = [record for load in loads for record in load.records]
    stats = summarize(records)
    points = []
    for name, phase in stats.items():
        phase_records = [r for r in records if r.phase == name]
        good = goodput(phase_records, plan.slo).to_dict() if plan.slo else None
        point: dict[str, Any] = {"phase": name, "stats": phase.to_dict(), "goodput": good}
        point["slo"] = plan.slo.to_dict() if plan.slo else None
        if plan.api == "tickets" and good is not None:
            point["tickets_per_hour_at_slo"] = round(good["goodput_per_s"] * 3600, 1)
        points.append(point)
    cpu = max((load.client_cpu_percent for load in loads), default=0.0)
    run = new_run(endpoint=plan.endpoint, model=plan.model, api=plan.api, workload=plan.workload)
    run |= {"load_mode": plan.mode, "points": list(plan.points), "command": plan.command}
    run["points"] = ["inf" if math.isinf(p) else p for p in plan.points]
    return {
        "format": RESULT_FORMAT,
        "run": run,
        "points": points,
        "server_telemetry": server,
        "gpu_telemetry": gpus,
        "roofline": asdict(roofline) if roofline is not None else None,
        "client": {"cpu_percent": round(cpu, 1), "client_bound": cpu > 80.0},
    }
