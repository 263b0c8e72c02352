"""Evaluate the grounding guard on labelled JSON Lines files (path arguments, JSON output)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from airlock.config import load_settings
from guardrails.grounding.evaluate import evaluate_grounding, load_rows
from guardrails.grounding.guard import build_grounding_guard


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m guardrails.grounding FILE...`: print metrics per file as JSON."""
    parser = argparse.ArgumentParser(prog="python -m guardrails.grounding", description=__doc__)
    parser.add_argument("files", nargs="+", type=Path, help="JSON Lines files to evaluate")
    parser.add_argument("--threshold", type=float, help="override grounding.threshold")
    args = parser.parse_args(argv)

    settings = load_settings()
    guard = build_grounding_guard(settings)
    if args.threshold is not None:
        guard.threshold = args.threshold
    report = {str(path): evaluate_grounding(guard, load_rows(path)) for path in args.files}
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
