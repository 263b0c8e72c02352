"""Evaluate the configured injection guard on labelled files (a command, not a test).

Run: python -m guardrails.injection.evaluate --data FILE... [--config airlock.yaml] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _format(metrics: dict[str, Any]) -> str:
    lines = [
        f"threshold {metrics['threshold']}: {metrics['rows']} rows, "
        f"{metrics['injections']} injections, {metrics['benign']} benign",
        f"recall {metrics['recall']:.3f}  false-positive rate "
        f"{metrics['false_positive_rate']:.3f}  precision {metrics['precision']:.3f}",
        f"NotInject accuracy {metrics['notinject']['accuracy']:.3f} "
        f"({metrics['notinject']['rows']} rows)",
    ]
    for source, counts in metrics["by_source"].items():
        lines.append(f"  {source}: {counts['flagged']}/{counts['rows']} flagged")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Evaluate the configured injection guard on labelled JSON Lines files."""
    from airlock.config import load_settings
    from airlock.errors import AirlockError
    from airlock.offline import enforce_offline
    from guardrails.injection.dataset import load_rows
    from guardrails.injection.guard import build_injection_guard
    from guardrails.injection.metrics import evaluate_injection

    parser = argparse.ArgumentParser(prog="python -m guardrails.injection.evaluate")
    parser.add_argument("--data", type=Path, nargs="+", required=True, help="JSON Lines files")
    parser.add_argument("--config", type=Path, default=None, help="Airlock YAML settings")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    enforce_offline()
    try:
        guard = build_injection_guard(load_settings(args.config))
        metrics = evaluate_injection(guard, load_rows(args.data))
    except AirlockError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    print(json.dumps(metrics, indent=2) if args.json else _format(metrics))


if __name__ == "__main__":
    main()
