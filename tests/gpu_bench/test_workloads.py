"""Workloads: synthetic distributions, ShareGPT, prompt JSON Lines, tickets; clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gpu_bench.workloads import (
    TOKENS_PER_WORD,
    VOCABULARY,
    Prompt,
    WorkloadError,
    load_jsonl,
    load_sharegpt,
    load_tickets,
    parse_distribution,
    synthetic,
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_synthetic_fixed_lengths_are_exact_word_counts() -> None:
    prompts = synthetic(5, input_dist="fixed:40", output_dist="fixed:7", seed=1)
    assert [p.prompt_id for p in prompts] == [f"synthetic-{i}" for i in range(5)]
    for prompt in prompts:
        words = prompt.as_text().split()
        assert len(words) == 40 == prompt.expected_input_tokens
        assert set(words) <= set(VOCABULARY)
        assert prompt.max_tokens == 7


def test_synthetic_same_seed_same_prompts_other_seed_differs() -> None:
    args = {"input_dist": "uniform:10:50", "output_dist": "normal:64:16"}
    assert synthetic(20, **args, seed=7) == synthetic(20, **args, seed=7)
    assert synthetic(20, **args, seed=7) != synthetic(20, **args, seed=8)


def test_synthetic_uniform_stays_within_bounds() -> None:
    prompts = synthetic(200, input_dist="uniform:3:6", output_dist="uniform:1:2", seed=0)
    assert {p.expected_input_tokens for p in prompts} == {3, 4, 5, 6}
    assert {p.max_tokens for p in prompts} == {1, 2}


def test_synthetic_normal_is_clamped_to_at_least_one() -> None:
    prompts = synthetic(300, input_dist="normal:2:10", output_dist="normal:1:50", seed=3)
    assert min(p.max_tokens for p in prompts) == 1
    assert all(p.expected_input_tokens and p.expected_input_tokens >= 1 for p in prompts)


@pytest.mark.parametrize(
    "spec", ["fixed", "fixed:0", "uniform:9:3", "uniform:5", "normal:10:-1", "poisson:3", "fixed:x"]
)
def test_parse_distribution_rejects_bad_spec_naming_it(spec: str) -> None:
    with pytest.raises(WorkloadError, match=rf"distribution '{spec}'"):
        parse_distribution(spec)


def test_prompt_converts_between_chat_and_completion_forms() -> None:
    chat = Prompt(
        "a", messages=[{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}]
    )
    assert chat.as_text() == "S\n\nQ"
    text = Prompt("b", text="hello")
    assert text.as_messages() == [{"role": "user", "content": "hello"}]
    with pytest.raises(ValueError, match="either messages or text"):
        Prompt("c")


def test_load_jsonl_reads_prompts_and_messages(tmp_path: Path) -> None:
    lines = [
        {"id": "p1", "prompt": "Say hi", "max_tokens": 5},
        {"id": 2, "messages": [{"role": "user", "content": "Hello"}]},
    ]
    path = write(tmp_path / "p.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n\n")
    prompts = load_jsonl(path, default_max_tokens=33)
    assert prompts == [
        Prompt("p1", text="Say hi", max_tokens=5),
        Prompt("2", messages=[{"role": "user", "content": "Hello"}], max_tokens=33),
    ]


@pytest.mark.parametrize(
    ("second_line", "problem"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"id": "x", "prompt": "a", "max_tokens": 0}', "max_tokens must be a positive integer"),
        ('{"id": "x"}', "either 'prompt' or 'messages'"),
        ('{"id": "x", "messages": [{"role": "robot", "content": "a"}]}', r"messages\[0\]"),
        ('{"id": "p1", "prompt": "again"}', "'p1' already used on line 1"),
    ],
)
def test_load_jsonl_error_names_file_and_line(
    tmp_path: Path, second_line: str, problem: str
) -> None:
    path = write(tmp_path / "bad.jsonl", '{"id": "p1", "prompt": "ok"}\n' + second_line + "\n")
    with pytest.raises(WorkloadError, match=rf"bad\.jsonl:2: .*{problem}"):
        load_jsonl(path)


def test_load_jsonl_empty_file_names_it(tmp_path: Path) -> None:
    path = write(tmp_path / "empty.jsonl", "\n  \n")
    with pytest.raises(WorkloadError, match=r"empty\.jsonl: empty"):
        load_jsonl(path)


def test_load_jsonl_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(WorkloadError, match=r"nowhere\.jsonl: cannot read"):
        load_jsonl(tmp_path / "nowhere.jsonl")


def sharegpt_entry(entry_id: str, *turns: tuple[str, str]) -> dict[str, object]:
    return {"id": entry_id, "conversations": [{"from": f, "value": v} for f, v in turns]}


def test_load_sharegpt_takes_first_human_turn_and_sizes_answer(tmp_path: Path) -> None:
    data = [
        sharegpt_entry("a", ("human", "What is a GPU?"), ("gpt", " ".join(["word"] * 30))),
        sharegpt_entry("skipped-no-answer", ("human", "Hello?")),
        sharegpt_entry("skipped-empty"),
        sharegpt_entry("b", ("system", "sys"), ("human", "Next"), ("gpt", "one two three")),
    ]
    path = write(tmp_path / "sg.json", json.dumps(data))
    prompts = load_sharegpt(path)
    assert [p.prompt_id for p in prompts] == ["a", "b"]
    assert prompts[0].messages == [{"role": "user", "content": "What is a GPU?"}]
    assert prompts[0].max_tokens == round(30 * TOKENS_PER_WORD)
    assert prompts[1].max_tokens == round(3 * TOKENS_PER_WORD)


def test_load_sharegpt_max_tokens_override_keeps_unanswered(tmp_path: Path) -> None:
    data = [
        sharegpt_entry("a", ("human", "Q1"), ("gpt", "A")),
        sharegpt_entry("b", ("human", "Q2")),
    ]
    prompts = load_sharegpt(write(tmp_path / "sg.json", json.dumps(data)), max_tokens=64)
    assert [(p.prompt_id, p.max_tokens) for p in prompts] == [("a", 64), ("b", 64)]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{", r"sg\.json: not JSON"),
        ('{"id": 1}', r"sg\.json: expected a JSON list"),
        ("[]", r"sg\.json: empty"),
        ('[{"conversations": []}, {"id": "x"}]', r"sg\.json\[1\]: expected an object"),
        ('[{"conversations": [{"from": "human"}]}]', r"sg\.json\[0\]\.conversations\[0\]"),
        ('[{"conversations": [{"from": "gpt", "value": "a"}]}]', r"sg\.json: no conversation"),
    ],
)
def test_load_sharegpt_error_names_file_and_index(
    tmp_path: Path, content: str, problem: str
) -> None:
    with pytest.raises(WorkloadError, match=problem):
        load_sharegpt(write(tmp_path / "sg.json", content))


def test_load_tickets_keeps_raw_objects(tmp_path: Path) -> None:
    ticket = {
        "id": "T-1",
        "subject": "Password",
        "body": "Reset link expired.",
        "customer": {"id": "C-1"},
        "channel": "email",
    }
    path = write(tmp_path / "t.jsonl", json.dumps(ticket) + "\n")
    assert load_tickets(path) == [ticket]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"subject": "s", "customer": {"id": "C"}}', "needs an 'id'"),
        ('{"id": "T", "subject": "s"}', "needs a 'customer' object"),
        ('{"id": "T", "customer": {"id": "C"}, "body": 5}', "body must be a string"),
        ('{"id": "T", "customer": {"id": "C"}}', "needs a subject or a body"),
    ],
)
def test_load_tickets_error_names_file_and_line(tmp_path: Path, line: str, problem: str) -> None:
    path = write(tmp_path / "t.jsonl", "\n" + line + "\n")
    with pytest.raises(WorkloadError, match=rf"t\.jsonl:2: .*{problem}"):
        load_tickets(path)
