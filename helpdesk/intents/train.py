"""`python -m helpdesk.intents.train`: train an intent model folder from labelled JSONL."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from helpdesk.intents.data import read_labelled
from helpdesk.intents.fit import train_intent_model
from models.embedder import Embedder
from models.store import hash_file


def train_folder(
    data: Path, val: Path | None, out: Path, embedder: Embedder, *, seed: int, command: str
) -> dict[str, Any]:
    """Train from files, write `out`, and return the manifest's calibration record."""
    rows = read_labelled(data)
    val_rows = read_labelled(val) if val else None
    started = time.monotonic()
    model = train_intent_model(rows, val_rows, embedder, seed=seed)
    files = [{"role": "train", "path": str(data), "sha256": hash_file(data), "rows": len(rows)}]
    if val and val_rows is not None:
        files.append(
            {
                "role": "validation",
                "path": str(val),
                "sha256": hash_file(val),
                "rows": len(val_rows),
            }
        )
    model.save(out, provenance={"command": command, "files": files})
    calibration: dict[str, Any] = model.info["calibration"]
    return {**calibration, "seconds": round(time.monotonic() - started, 1)}


def _parser() -> argparse.ArgumentParser:
    """The command line of `python -m helpdesk.intents.train`."""
    parser = argparse.ArgumentParser(prog="python -m helpdesk.intents.train")
    parser.add_argument("--data", type=Path, required=True, help="training JSONL {text, label}")
    parser.add_argument(
        "--val", type=Path, default=None, help="validation JSONL for the OOS cut (else CV)"
    )
    parser.add_argument("--out", type=Path, required=True, help="model folder to write")
    parser.add_argument("--seed", type=int, default=0, help="seed of the calibration folds")
    parser.add_argument("--config", type=Path, default=None, help="Airlock YAML settings")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Command line: train and write DIR/intents.npz and DIR/manifest.json."""
    from airlock.config import load_settings
    from airlock.errors import AirlockError
    from airlock.offline import enforce_offline
    from models.embedder import load_embedder

    args = _parser().parse_args(argv)
    enforce_offline()
    shown = list(argv if argv is not None else sys.argv[1:])
    if "--out" in shown:
        shown[shown.index("--out") + 1] = "DIR"
    command = shlex.join(["python", "-m", "helpdesk.intents.train", *shown])
    try:
        embedder = load_embedder(load_settings(args.config))
        record = train_folder(
            args.data, args.val, args.out, embedder, seed=args.seed, command=command
        )
    except AirlockError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    metrics = {k: v for k, v in record["metrics"].items() if k != "per_label"}
    print(f"wrote {args.out}; calibrated on {record['source']}: {json.dumps(metrics)}")
    print(f"training took {record['seconds']} s")


if __name__ == "__main__":
    main()
