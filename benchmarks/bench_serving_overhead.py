"""Serving overhead: the OpenAI-compatible server against the same engine called in-process.

Target (issue 3): tiny model, 2 cores; the server adds at most 5 ms to the time to first token
at p50, and at most 0.3 ms per streamed token.

Run from the repository root (on an otherwise idle machine):

    .venv/bin/python benchmarks/bench_serving_overhead.py            # uvicorn mode
    .venv/bin/python benchmarks/bench_serving_overhead.py --ray      # plus Ray Serve mode

The tiny model (models/tiny.py) is built into a temporary store. "in-process" streams
`TransformersEngine.stream_chat` in this process (engine and consumer in one process).
"server" runs `airlock serving up --engine transformers --mode uvicorn|ray` in its own process
over the same store, and this process reads the SSE stream with httpx (one keep-alive
connection). Both use greedy decoding, the same prompt and `max_tokens`, and the same number of
torch threads; every request must produce exactly `max_tokens` tokens. After warm-up the two
paths alternate request by request (the order flips each pair) to spread machine noise.

TTFT: from the call (or the POST) to the first chunk (SSE event) with text. Per token:
(last text chunk - first text chunk) / (completion tokens - 1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent
for _folder in (REPO, BENCHMARKS):  # the project's packages, then the sibling benchmark modules
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

import httpx  # noqa: E402
from measure import percentile  # noqa: E402
from serving_overhead_runs import (  # noqa: E402
    MODEL_ID,
    Stream,
    build_tiny_store,
    chat_body,
    machine_info,
    running_server,
    time_http,
    time_inprocess,
)

from airlock.offline import enforce_offline  # noqa: E402
from models.store import ModelStore  # noqa: E402
from serving.transformers_engine import TransformersEngine, load_transformers_engine  # noqa: E402

TARGET_TTFT_MS = 5.0
TARGET_PER_TOKEN_MS = 0.3
# The tiny model built with seed 2 answers this prompt greedily with 64 tokens, one text chunk
# each (other prompts stop early or emit tokens that decode to nothing or half a character).
DEFAULT_PROMPT = "Where is my parcel?"
DEFAULT_SEED = 2


def describe(streams: Sequence[Stream]) -> dict[str, float]:
    """p50/p90 of TTFT and per-token time, in ms."""
    ttft = [s.ttft_ms for s in streams]
    per_token = [s.per_token_ms for s in streams]
    return {
        "ttft_ms_p50": round(percentile(ttft, 50), 3),
        "ttft_ms_p90": round(percentile(ttft, 90), 3),
        "per_token_ms_p50": round(percentile(per_token, 50), 4),
        "per_token_ms_p90": round(percentile(per_token, 90), 4),
    }


def check(stream: Stream, max_tokens: int, where: str) -> Stream:
    """Refuse a run that stopped early: the per-token figure needs the full length."""
    if stream.tokens != max_tokens:
        raise SystemExit(
            f"{where}: {stream.tokens} tokens instead of {max_tokens} (the model stopped early); "
            "choose another --prompt or --seed"
        )
    return stream


def run_mode(
    args: argparse.Namespace, engine: TransformersEngine, store: ModelStore, work: Path, mode: str
) -> dict[str, Any]:
    """Warm up, then alternate in-process and server requests; summarise both paths."""
    body = chat_body(args.prompt, args.max_tokens)
    local: list[Stream] = []
    remote: list[Stream] = []
    print(f"[{mode}] starting the server ...", flush=True)
    with (
        running_server(work, store, mode, args.threads) as url,
        httpx.Client(timeout=120) as client,
        asyncio.Runner() as runner,
    ):

        def one_local() -> Stream:
            return check(runner.run(time_inprocess(engine, body)), args.max_tokens, "in-process")

        def one_remote() -> Stream:
            return check(time_http(client, url, body), args.max_tokens, f"{mode} server")

        for _ in range(args.warmup):
            one_local()
            one_remote()
        for round_no in range(args.rounds):
            for i in range(args.requests):
                if (i + round_no) % 2 == 0:
                    local.append(one_local())
                    remote.append(one_remote())
                else:
                    remote.append(one_remote())
                    local.append(one_local())
            print(f"[{mode}] round {round_no + 1}/{args.rounds}: {summary_line(local, remote)}")
    return summarise(mode, local, remote)


def summary_line(local: Sequence[Stream], remote: Sequence[Stream]) -> str:
    """Running p50s, for progress output."""
    a, b = describe(local), describe(remote)
    return (
        f"TTFT p50 in-process {a['ttft_ms_p50']:.2f} ms, server {b['ttft_ms_p50']:.2f} ms; "
        f"per token p50 in-process {a['per_token_ms_p50']:.3f} ms, "
        f"server {b['per_token_ms_p50']:.3f} ms"
    )


def summarise(mode: str, local: Sequence[Stream], remote: Sequence[Stream]) -> dict[str, Any]:
    """Both paths' percentiles, the added time at p50, and the raw samples."""
    a, b = describe(local), describe(remote)
    pairs = list(zip(local, remote, strict=True))
    added_ttft = b["ttft_ms_p50"] - a["ttft_ms_p50"]
    added_token = b["per_token_ms_p50"] - a["per_token_ms_p50"]
    return {
        "mode": mode,
        "requests": len(pairs),
        "in_process": a,
        "server": b,
        "added_ttft_ms_p50": round(added_ttft, 3),
        "added_per_token_ms_p50": round(added_token, 4),
        "paired_added_ttft_ms_p50": round(
            percentile([r.ttft_ms - x.ttft_ms for x, r in pairs], 50), 3
        ),
        "paired_added_per_token_ms_p50": round(
            percentile([r.per_token_ms - x.per_token_ms for x, r in pairs], 50), 4
        ),
        "ttft_target_met": added_ttft <= TARGET_TTFT_MS,
        "per_token_target_met": added_token <= TARGET_PER_TOKEN_MS,
        "same_text": all(x.text == r.text for x, r in pairs),
        "min_text_chunks": min(s.text_events for s in [*local, *remote]),
        "samples": {
            "in_process": [asdict(s) | {"text": None} for s in local],
            "server": [asdict(s) | {"text": None} for s in remote],
        },
    }


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain aligned table."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for j, row in enumerate(cells):
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
        if j == 0:
            print("  ".join("-" * w for w in widths))


def table_rows(mode: dict[str, Any]) -> list[tuple[Any, ...]]:
    """One mode: a row per path, then the added time (difference of p50s, and paired p50)."""
    rows: list[tuple[Any, ...]] = []
    for path, key in (("in-process", "in_process"), (f"{mode['mode']} server", "server")):
        s = mode[key]
        ttft = (f"{s['ttft_ms_p50']:.2f}", f"{s['ttft_ms_p90']:.2f}")
        token = (f"{s['per_token_ms_p50']:.3f}", f"{s['per_token_ms_p90']:.3f}")
        rows.append((path, mode["requests"], *ttft, *token, ""))
    met = mode["ttft_target_met"] and mode["per_token_target_met"]
    for label, prefix, verdict in (
        ("p50 diff", "added", "met" if met else "NOT met"),
        ("paired p50", "paired_added", ""),
    ):
        ttft_added = f"{mode[f'{prefix}_ttft_ms_p50']:+.2f}"
        token_added = f"{mode[f'{prefix}_per_token_ms_p50']:+.3f}"
        name = f"{mode['mode']} added ({label})"
        rows.append((name, "", ttft_added, "", token_added, "", verdict))
    return rows


def report(results: dict[str, Any]) -> None:
    """Machine, command and the overhead table."""
    print("\nMachine:", json.dumps(results["machine"], indent=1))
    print("Command:", results["command"])
    print("Settings:", json.dumps(results["settings"]))
    rows = [row for mode in results["modes"] for row in table_rows(mode)]
    print(
        f"\nServing overhead, {results['settings']['max_tokens']} tokens per request "
        f"(targets: added TTFT <= {TARGET_TTFT_MS} ms at p50, "
        f"added per token <= {TARGET_PER_TOKEN_MS} ms)"
    )
    print_table(
        ["path", "n", "TTFT p50 ms", "TTFT p90 ms", "tok p50 ms", "tok p90 ms", "target"], rows
    )
    for m in results["modes"]:
        if not m["same_text"] or m["min_text_chunks"] < results["settings"]["max_tokens"]:
            print(
                f"note ({m['mode']}): same text on both paths: {m['same_text']}; fewest text "
                f"chunks in a stream: {m['min_text_chunks']} (tokens: "
                f"{results['settings']['max_tokens']})"
            )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=30, help="timed requests per path/round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (the pair order flips)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per path")
    parser.add_argument("--threads", type=int, default=2, help="torch threads on both paths")
    parser.add_argument("--max-tokens", type=int, default=64, help="tokens per request")
    parser.add_argument("--prompt", default=DEFAULT_PROMPT, help="the user message")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="tiny model weight seed")
    parser.add_argument("--ray", action="store_true", help="also measure `--mode ray`")
    parser.add_argument(
        "--no-uvicorn", dest="uvicorn", action="store_false", help="skip the uvicorn mode"
    )
    parser.add_argument(
        "--out", type=Path, default=BENCHMARKS / "out" / "bench_serving_overhead.json"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder (server logs)")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.rounds < 1 or args.max_tokens < 2:
        parser.error("--requests and --rounds need >= 1, --max-tokens >= 2")
    if not args.uvicorn and not args.ray:
        parser.error("nothing to measure: --no-uvicorn without --ray")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Build the model, measure each server mode against in-process, print and write JSON."""
    args = parse_args(argv)
    enforce_offline()
    work = Path(tempfile.mkdtemp(prefix="airlock-serving-bench-"))
    results: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine_info(),
        "settings": {
            k: getattr(args, k)
            for k in ("requests", "rounds", "warmup", "threads", "max_tokens", "prompt", "seed")
        }
        | {"model": MODEL_ID},
        "modes": [],
    }
    try:
        store = build_tiny_store(work, args.seed)
        engine = load_transformers_engine("transformers", store, MODEL_ID, threads=args.threads)
        for mode in [m for m, on in (("uvicorn", args.uvicorn), ("ray", args.ray)) if on]:
            results["modes"].append(run_mode(args, engine, store, work, mode))
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    report(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nresults written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
