"""Guardrails benchmark: input-guard latency, groundedness latency, `airlock guard pii` throughput.

Targets (issue 5): PII + injection input guards on a 1,000-character ticket, one core, p50 <= 15 ms
and p95 <= 40 ms; groundedness of a 5-sentence answer over five 1,000-character passages,
p50 <= 30 ms; `airlock guard pii` >= 100 texts/s on 2 cores for 500-character texts.

Run from the repository root (on an otherwise idle machine):

    .venv/bin/python benchmarks/bench_guards.py [--data ../shared/data]

Tickets: 1,000-character windows of the PII development texts (benign, PII-dense), and every
prompt-injection development text padded to 1,000 characters with PII text (injections, benign
look-alikes and NotInject trigger words, so the injection classifier's embedding stage runs as
often as it would on such traffic). Each ticket goes through the PII guard (analyze and redact)
and the injection guard, timed together and apart, after pinning the process to one core with
one torch thread. Grounding: faithful 5-sentence drafts built from five 1,000-character passages
of the retrieval corpus; "cold" brings new passages every call (every sentence embedded), "warm"
repeats one passage set (its sentence vectors cached), as when several drafts answer one ticket.
Throughput: the real `airlock guard pii` command on --pii-texts 500-character texts, wall clock
including start-up and model load, with both cores available.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent
for _folder in (REPO, BENCHMARKS):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from measure import load_average, machine_info, percentile, print_table  # noqa: E402

from airlock.config import load_settings  # noqa: E402
from airlock.offline import enforce_offline  # noqa: E402
from airlock.settings import AirlockSettings  # noqa: E402
from guardrails.grounding import GroundingGuard, build_grounding_guard  # noqa: E402
from guardrails.grounding.claims import split_sentences  # noqa: E402
from guardrails.injection import InjectionGuard, build_injection_guard  # noqa: E402
from guardrails.pii import PiiGuard, build_pii_guard  # noqa: E402
from guardrails.pii.speed import sample_texts  # noqa: E402
from guardrails.types import GuardContext  # noqa: E402
from models.embedder import load_embedder  # noqa: E402

PACKAGES = ("torch", "sentence-transformers", "presidio-analyzer", "scikit-learn", "numpy")
TARGETS = {"input_p50_ms": 15.0, "input_p95_ms": 40.0, "grounding_p50_ms": 30.0, "pii_tps": 100.0}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The rows of a development file."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def injection_tickets(rows: list[dict[str, Any]], filler: list[str], chars: int) -> list[str]:
    """Each injection-dev text padded to `chars` with PII-dev text (the ticket's other content)."""
    rng = random.Random(5)
    tickets = []
    for row in rows:
        ticket = row["text"][:chars]
        while len(ticket) < chars:
            ticket += " " + rng.choice(filler)
        tickets.append(ticket[:chars])
    return tickets


def timed(action: Callable[[], object]) -> float:
    """Milliseconds one call takes."""
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def stats(times: Sequence[float]) -> dict[str, float]:
    """p50, p95 and max in milliseconds."""
    return {
        "n": len(times),
        "p50_ms": round(percentile(times, 50), 2),
        "p95_ms": round(percentile(times, 95), 2),
        "max_ms": round(max(times), 2),
    }


def input_guards(pii: PiiGuard, injection: InjectionGuard, tickets: list[str]) -> dict[str, Any]:
    """PII (analyze + redact) and injection per ticket: each alone and both together."""
    context = GuardContext(tenant="bench")
    for ticket in tickets[:20]:  # warm-up: lazy initialisation and caches
        pii.check_sync(ticket, context=context)
        injection.verdict(ticket, context)
    pii_ms, injection_ms, embedded = [], [], 0
    for ticket in tickets:
        pii_ms.append(timed(lambda t=ticket: pii.check_sync(t, context=context)))  # type: ignore[misc]
        started = time.perf_counter()
        embedded += injection.assess_many([ticket])[0].embedded
        injection_ms.append((time.perf_counter() - started) * 1000)
    both = [a + b for a, b in zip(pii_ms, injection_ms, strict=True)]
    return {
        "pii": stats(pii_ms),
        "injection": stats(injection_ms),
        "both": stats(both),
        "injection_embedded_share": round(embedded / len(tickets), 3),
    }


def grounding_cases(
    answers: list[str], count: int, seed: int
) -> tuple[list[tuple[str, list[str]]], list[str]]:
    """`count` (draft, five passages) pairs; the draft is five sentences of its passages."""
    rng = random.Random(seed)
    pool = []
    for text in answers:
        passage = text
        while len(passage) < 1000:
            passage += " " + rng.choice(answers)
        pool.append(passage[:1000])

    def case() -> tuple[str, list[str]]:
        passages = rng.sample(pool, 5)
        sentences = [s for p in passages for s in split_sentences(p) if 40 < len(s) < 200]
        picked = rng.sample(sentences, 5)
        return " ".join(f"{s} [{1 + i}]" for i, s in enumerate(picked)), passages

    cases = [case() for _ in range(count)]
    fixed = case()[1]
    return cases, fixed


def grounding(guard: GroundingGuard, answers: list[str], count: int) -> dict[str, Any]:
    """Cold (new passages each call) and warm (one passage set, new drafts) latency."""
    cases, fixed = grounding_cases(answers, count + 3, seed=3)
    for draft, passages in cases[:3]:
        guard.assess(draft, passages, "question?")
    cold = [timed(lambda c=c: guard.assess(c[0], c[1], "question?")) for c in cases[3:]]  # type: ignore[misc]
    guard.assess("warm-up.", fixed)
    rng = random.Random(11)
    sentences = [s for p in fixed for s in split_sentences(p) if 40 < len(s) < 200]
    warm = []
    for i in range(count):  # drafts paraphrase: new word order, so no draft text is cached
        draft = " ".join(
            f"{' '.join(reversed(s.rstrip('.').split()))} {i}. [1]"
            for s in rng.sample(sentences, 5)
        )
        warm.append(timed(lambda d=draft: guard.assess(d, fixed, "question?")))  # type: ignore[misc]
    return {"cold": stats(cold), "warm": stats(warm)}


def pii_throughput(texts: list[str], scratch: Path) -> dict[str, Any]:
    """`airlock guard pii` over the texts: wall clock including start-up and model load."""
    source, out = scratch / "pii-in.jsonl", scratch / "pii-out.jsonl"
    rows = (json.dumps({"id": str(i), "text": text}) for i, text in enumerate(texts))
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    env = {**os.environ, "AIRLOCK__DATA_DIR": str(scratch / "cli-data")}
    command = [str(Path(sys.executable).parent / "airlock"), "guard", "pii"]
    started = time.perf_counter()
    subprocess.run(
        [*command, "--input", str(source), "--output", str(out)],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    written = sum(1 for line in out.open(encoding="utf-8") if '"redacted"' in line)
    return {
        "texts": len(texts),
        "rows_written": written,
        "chars": round(sum(map(len, texts)) / len(texts)),
        "wall_s": round(elapsed, 2),
        "texts_per_s": round(len(texts) / elapsed, 1),
    }


def build_guards(scratch: Path) -> tuple[AirlockSettings, PiiGuard, InjectionGuard, GroundingGuard]:
    """The three guards as shipped, on one torch thread, sharing one embedder."""
    settings = load_settings(
        overrides={"data_dir": str(scratch / "data"), "models": {"cpu_threads": 1}}, environ={}
    )
    embedder = load_embedder(settings)
    return (
        settings,
        build_pii_guard(settings),
        build_injection_guard(settings, embedder),
        build_grounding_guard(settings, embedder),
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    default_data = os.environ.get("AIRLOCK_SHARED_DATA") or str(REPO.parent / "shared" / "data")
    parser.add_argument("--data", type=Path, default=Path(default_data), help="shared datasets")
    parser.add_argument("--tickets", type=int, default=300, help="PII-dev ticket windows")
    parser.add_argument("--drafts", type=int, default=60, help="grounding calls per mode")
    parser.add_argument("--pii-texts", type=int, default=3000, help="texts for the CLI run")
    parser.add_argument("--out", type=Path, default=BENCHMARKS / "out" / "bench_guards.json")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print a table and write the JSON record."""
    args = parse_args(argv)
    enforce_offline()
    pii_rows = read_jsonl(args.data / "pii" / "presidio_synth_dev.jsonl")
    injection_rows = read_jsonl(args.data / "prompt_injection" / "dev.jsonl")
    answers = [row["answer"] for row in read_jsonl(args.data / "retrieval/covid_faq_corpus.jsonl")]
    results: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": shlex.join([os.path.relpath(sys.executable), *sys.argv]),
        "machine": machine_info(PACKAGES),
    }
    with tempfile.TemporaryDirectory(prefix="airlock-guard-bench-") as folder:
        scratch = Path(folder)
        print("throughput: airlock guard pii ...", file=sys.stderr)
        texts = sample_texts(pii_rows, 500, count=args.pii_texts)
        results["pii_cli_throughput"] = pii_throughput(texts, scratch)
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core from here on
        _, pii, injection, grounding_guard = build_guards(scratch)
        print("input guards ...", file=sys.stderr)
        filler = [row["text"] for row in pii_rows]
        results["input_guards"] = {
            "pii_dev_tickets": input_guards(
                pii, injection, sample_texts(pii_rows, 1000, args.tickets)
            ),
            "injection_dev_tickets": input_guards(
                pii, injection, injection_tickets(injection_rows, filler, 1000)
            ),
        }
        print("grounding ...", file=sys.stderr)
        results["grounding"] = grounding(grounding_guard, answers, args.drafts)
    results["load_average_at_end"] = load_average()
    report(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"written to {args.out}", file=sys.stderr)
    return 0


def report(results: dict[str, Any]) -> None:
    """The measurements against their targets."""
    rows = []
    for name, block in results["input_guards"].items():
        for part in ("pii", "injection", "both"):
            rows.append([f"input {name} {part}", block[part]["p50_ms"], block[part]["p95_ms"]])
    for mode in ("cold", "warm"):
        block = results["grounding"][mode]
        rows.append([f"grounding {mode}", block["p50_ms"], block["p95_ms"]])
    print_table(["measure (one core)", "p50 ms", "p95 ms"], rows)
    throughput = results["pii_cli_throughput"]
    print(f"\nairlock guard pii: {throughput['texts_per_s']} texts/s ({throughput['texts']} texts")
    print(f"of {throughput['chars']} chars in {throughput['wall_s']} s, start-up included)")
    print(f"targets: {TARGETS}")


if __name__ == "__main__":
    raise SystemExit(main())
