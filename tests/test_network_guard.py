"""The suite blocks every connection but loopback, so a phone-home fails a test."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]

INNER_TESTS = """
import socket

def test_outbound_connection_attempt():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Belt and braces: even if the guard were broken, this socket can only use loopback, so
    # nothing would leave the machine (192.0.2.1 is TEST-NET-1, never routed).
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
    sock.settimeout(2)
    sock.connect(("192.0.2.1", 443))

def test_loopback_connection(tmp_path):
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname(), timeout=2)
    client.close()
    server.close()
"""


def test_outbound_connection_attempt_fails_the_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner=INNER_TESTS)
    # Run with the project's own pytest configuration, the one CI uses.
    result = pytester.runpytest_subprocess(
        "-c",
        str(PROJECT / "pyproject.toml"),
        "--rootdir",
        str(pytester.path),
        "-p",
        "no:cacheprovider",
        str(pytester.path / "test_inner.py"),
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*SocketConnectBlockedError*192.0.2.1*",
            "FAILED test_inner.py::test_outbound_connection_attempt*",
        ]
    )


def test_loopback_is_allowed_in_this_process() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        socket.create_connection(server.getsockname(), timeout=2).close()
