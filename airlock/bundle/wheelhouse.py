"""Filling the wheelhouse with pip (a subprocess) and proving that it installs offline."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from airlock.bundle.errors import BundleToolError

Progress = Callable[[str], None]
MANYLINUX = re.compile(r"^manylinux_2_(?P<minor>\d+)_(?P<arch>\w+)$")
PIP_ENV = {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}


@dataclass(frozen=True)
class WheelSource:
    """Which wheels to take and from where."""

    platform: str | None = None  # e.g. manylinux_2_28_x86_64; None: the build host
    python: str | None = None  # e.g. 3.11; None: the build host's
    extras: tuple[str, ...] = ()  # further requirements, e.g. torch==2.13.0 or vllm==...
    find_links: tuple[Path, ...] = ()
    no_index: bool = False
    no_deps: bool = False  # the project wheel and the extras only: tests and partial updates

    @property
    def targets_other_host(self) -> bool:
        """True when pip must select wheels for a platform other than the running one."""
        return self.platform is not None or self.python is not None

    def get_index_args(self) -> list[str]:
        """pip's index options: --no-index, --find-links, --no-deps."""
        args = ["--no-index"] if self.no_index else []
        for folder in self.find_links:
            args += ["--find-links", str(folder)]
        return args + (["--no-deps"] if self.no_deps else [])

    def get_target_args(self) -> list[str]:
        """pip's options that pick binary wheels for the target platform and Python."""
        if not self.targets_other_host:
            return []
        args = ["--only-binary=:all:", "--implementation", "cp"]
        for platform in expand_platform(self.platform) if self.platform else []:
            args += ["--platform", platform]
        if self.python:
            args += ["--python-version", self.python]
        return args


def expand_platform(platform: str) -> list[str]:
    """A manylinux_2_Y tag and every older glibc tag a host of that glibc also runs.

    pip expands these only for the running host, so a target of manylinux_2_34 would otherwise
    refuse a wheel built for manylinux_2_28.
    """
    match = MANYLINUX.match(platform)
    if match is None:
        return [platform]
    newest, arch = int(match["minor"]), match["arch"]
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(newest, 4, -1)]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    return tags + [f"{name}_{arch}" for minor, name in legacy.items() if minor <= newest]


def run_pip(args: list[str], progress: Progress) -> None:
    """Run pip, forwarding each output line to `progress`; raise naming its last lines."""
    command = [sys.executable, "-m", "pip", *args]
    tail: deque[str] = deque(maxlen=8)
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **PIP_ENV},
    ) as proc:
        assert proc.stdout is not None  # set by stdout=PIPE
        for line in proc.stdout:
            tail.append(line.rstrip())
            progress(f"pip: {line.rstrip()}")
    if proc.returncode != 0:
        remedy = "check the requirements, --find-links, --no-index and --platform (see above)"
        if any("requires a different Python" in line for line in tail):
            # pip reads --python-version 3.11 as 3.11.0, below many Requires-Python floors.
            remedy = "give the target's full Python version, e.g. --python 3.11.9"
        raise BundleToolError(
            f"`pip {args[0]}` failed (exit {proc.returncode}): " + " | ".join(tail), remedy=remedy
        )


def build_project_wheel(spec: WheelSource, source: Path, out: Path, progress: Progress) -> Path:
    """Airlock's own wheel from the source checkout (needs hatchling in this environment)."""
    progress(f"building the Airlock wheel from {source}")
    offline = ["--no-index"] if spec.no_index else []
    args = ["wheel", "--no-deps", "--no-build-isolation", *offline, "--wheel-dir", str(out)]
    run_pip([*args, str(source)], progress)
    built = sorted(out.glob("airlock-*.whl"))
    if len(built) != 1:
        raise BundleToolError(
            f"expected one airlock wheel in {out}, found {len(built)}",
            remedy="check that --source is an Airlock checkout",
        )
    return built[0]


def fetch_wheels(spec: WheelSource, project_wheel: Path, dest: Path, progress: Progress) -> None:
    """Every runtime dependency (and the extras) as wheels into `dest`, with the project wheel."""
    wanted = [str(project_wheel), *spec.extras]
    if spec.targets_other_host:
        target = f"{spec.platform or 'this platform'}, Python {spec.python or 'of this host'}"
        progress(f"downloading wheels for {target}")
        args = ["download", "--dest", str(dest), *spec.get_target_args()]
    else:
        progress("collecting wheels for the build host's platform (sdists are built)")
        args = ["wheel", "--wheel-dir", str(dest)]
    run_pip([*args, *spec.get_index_args(), *wanted], progress)


def prove_installable(spec: WheelSource, wheelhouse: Path, requirements: Path) -> list[str]:
    """Dry-run the offline, hash-checked install; return the names pip did not need."""
    args = [
        "install", "--dry-run", "--ignore-installed", "--quiet", "--report", "-",
        "--no-index", "--find-links", str(wheelhouse), "--require-hashes", "-r", str(requirements),
        *spec.get_target_args(), *(["--no-deps"] if spec.no_deps else []),
    ]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="airlock-dry-run-") as target:
        # pip before 24 takes --platform/--python-version only with --target (nothing is written)
        if spec.get_target_args():
            args += ["--target", target]
        done = subprocess.run(
            [sys.executable, "-m", "pip", *args],
            capture_output=True,
            text=True,
            env={**os.environ, **PIP_ENV},
            check=False,
        )
    if done.returncode != 0:
        raise BundleToolError(
            "the wheelhouse does not install offline with its hashes: "
            + " | ".join(done.stderr.strip().splitlines()[-6:]),
            remedy="add the missing requirement with --extra, or fix --platform/--python",
        )
    report = json.loads(done.stdout)
    used = {canonicalize_name(item["metadata"]["name"]) for item in report["install"]}
    listed = [line.split("==")[0] for line in requirements.read_text("utf-8").splitlines()]
    return [name for name in listed if name not in used]
