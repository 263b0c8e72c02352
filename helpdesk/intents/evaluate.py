"""`python -m helpdesk.intents.evaluate`: metrics of an intent model on a labelled file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from helpdesk.intents.data import read_labelled
from helpdesk.intents.manifest import load_intent_model
from helpdesk.intents.metrics import evaluate_intents
from helpdesk.intents.model import DEFAULT_MODEL_DIR


def _parser() -> argparse.ArgumentParser:
    """The command line of `python -m helpdesk.intents.evaluate`."""
    parser = argparse.ArgumentParser(prog="python -m helpdesk.intents.evaluate")
    parser.add_argument(
        "--model", type=Path, default=DEFAULT_MODEL_DIR, help="model folder (default: shipped)"
    )
    parser.add_argument("--data", type=Path, required=True, help="labelled JSONL {text, label}")
    parser.add_argument("--per-label", action="store_true", help="include per-label counts")
    parser.add_argument("--config", type=Path, default=None, help="Airlock YAML settings")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Command line: print the metrics as JSON."""
    from airlock.config import load_settings
    from airlock.errors import AirlockError
    from airlock.offline import enforce_offline
    from models.embedder import load_embedder

    args = _parser().parse_args(argv)
    enforce_offline()
    try:
        model = load_intent_model(args.model, load_embedder(load_settings(args.config)))
        metrics = evaluate_intents(model, read_labelled(args.data))
    except AirlockError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    if not args.per_label:
        metrics.pop("per_label")
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
