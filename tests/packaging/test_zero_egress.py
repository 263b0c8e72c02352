"""Proof of zero egress: `airlock demo --once` in a network namespace with only loopback.

The demo ingests the knowledge base, loads every model, starts the API and the development
issuer, gets a token and decides the 50 example tickets over HTTP. Inside a fresh network
namespace nothing but 127.0.0.1 exists, so any phone-home (a model hub, usage statistics, a
suffix list, an NLTK download) would fail or change the results; the test asserts it does
neither.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

AIRLOCK = Path(sys.executable).with_name("airlock")
ROW = re.compile(r"^\s+(T-\d+\s.*)$")
ACTIONS = re.compile(r"actions (\{.*\})")
# Inside the namespace: bring loopback up, show what links exist, prove an outside address is
# unreachable, then run the demo. Nothing else is configured: no route, no DNS.
PROLOGUE = """
ip link set lo up
echo "links: $(ip -o link show | awk -F': ' '{print $2}' | tr '\\n' ' ')" >&2
"$PYTHON" -c "import socket; s = socket.socket(); s.settimeout(2)
try:
    s.connect(('198.51.100.7', 443)); print('egress: open', flush=True)
except OSError as exc:
    print('egress: refused', exc.errno)" >&2
exec "$@"
"""


def namespace_support() -> str | None:
    """Why a network namespace cannot be made here, or None when it can."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare (util-linux) or ip (iproute2) is not installed"
    probe = subprocess.run(
        ["unshare", "--net", "true"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        return f"unshare --net is not permitted here (needs root): {probe.stderr.strip()}"
    return None


def demo_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("AIRLOCK")}
    env.update({"AIRLOCK__API__PORT": "0", "PYTHON": sys.executable})
    return env


def run_demo(workdir: Path, *, isolated: bool) -> subprocess.CompletedProcess[str]:
    command = [str(AIRLOCK), "demo", "--once"]
    if isolated:
        command = ["unshare", "--net", "--", "sh", "-c", PROLOGUE, "sh", *command]
    workdir.mkdir()
    env = demo_env()
    return subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def results(out: str) -> tuple[list[str], str]:
    """Each ticket's intent, priority, decision and reasons, and the action counts.

    The groundedness and citation columns are left out: between two processes they can differ
    in the last digits of the ranking (seen once in CI on one ticket of 50, with the same
    decision), which says nothing about the network.
    """
    rows = []
    for line in out.splitlines():
        if match := ROW.match(line):
            fields = match.group(1).split()
            rows.append(" ".join([*fields[:4], *fields[6:]]))
    actions = ACTIONS.search(out)
    return rows, actions.group(1) if actions else ""


def test_demo_gives_the_same_results_with_no_network_but_loopback(tmp_path: Path) -> None:
    reason = namespace_support()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI runs as root and must prove zero egress")
        pytest.skip(reason=reason)

    isolated = run_demo(tmp_path / "isolated", isolated=True)
    assert isolated.returncode == 0, isolated.stderr[-3000:]
    assert "links: lo \n" in isolated.stderr, "the namespace must hold loopback only"
    assert "egress: refused" in isolated.stderr

    connected = run_demo(tmp_path / "connected", isolated=False)
    assert connected.returncode == 0, connected.stderr[-3000:]

    rows, actions = results(isolated.stdout)
    assert len(rows) == 50 and actions
    assert (rows, actions) == results(connected.stdout)
