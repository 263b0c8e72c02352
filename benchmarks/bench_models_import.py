"""`airlock models import` throughput against `cp` + fsync of the same file on the same disk."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.store import ModelStore

CHUNK = 16 * 1024 * 1024


def make_weights(folder: Path, size: int) -> Path:
    """A file of random bytes (incompressible), written once."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.safetensors"
    with path.open("wb") as handle:
        for _ in range(size // CHUNK):
            handle.write(os.urandom(CHUNK))
    return path


def time_cp(src: Path, dst: Path) -> float:
    """Seconds for coreutils cp plus fsync of the copy (what the import guarantees)."""
    start = time.perf_counter()
    subprocess.run(["cp", str(src), str(dst)], check=True)
    subprocess.run(["sync", str(dst)], check=True)
    elapsed = time.perf_counter() - start
    dst.unlink()
    return elapsed


def time_import(src_dir: Path, store_root: Path, run: int) -> float:
    """Seconds for ModelStore.import_model (copy, SHA-256, fsync, atomic rename)."""
    store = ModelStore(store_root)
    start = time.perf_counter()
    store.import_model(src_dir, f"bench-{run}")
    elapsed = time.perf_counter() - start
    store.remove(f"bench-{run}")
    return elapsed


def main() -> int:
    """Alternate cp and import runs; print MB/s and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=2048)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="Work folder (default: a temp dir)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="airlock-import-bench-", dir=args.dir))
    try:
        size = args.size_mib * 1024 * 1024
        print(f"writing {args.size_mib} MiB of random weights in {work}", flush=True)
        src = make_weights(work / "src", size)
        cp_times, import_times = [], []
        for run in range(args.runs):
            cp_times.append(time_cp(src, work / "copy.bin"))
            import_times.append(time_import(src.parent, work / "store", run))
            print(
                f"run {run + 1}: cp+sync {size / cp_times[-1] / 1e6:.0f} MB/s, "
                f"import {size / import_times[-1] / 1e6:.0f} MB/s",
                flush=True,
            )
        cp_mid, import_mid = statistics.median(cp_times), statistics.median(import_times)
        ratios = [c / i for c, i in zip(cp_times, import_times, strict=True)]
        print(
            f"median: cp+sync {size / cp_mid / 1e6:.0f} MB/s, import {size / import_mid / 1e6:.0f}"
            f" MB/s; import/cp speed ratio: median {statistics.median(ratios):.2f}, "
            f"best-vs-best {min(cp_times) / min(import_times):.2f} (target >= 0.8)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
