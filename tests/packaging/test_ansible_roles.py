"""The Ansible tree: ansible-lint, syntax checks, and offline_repo + airlock on localhost."""

from __future__ import annotations

import functools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.packaging.bundles import make_test_bundle
from tests.packaging.tools import REPO, find_ops_tool

ANSIBLE_DIR = REPO / "ansible"
PLAYBOOK = ANSIBLE_DIR / "playbooks" / "airlock-local.yml"
_RECAP = re.compile(r"^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)", re.MULTILINE)


@functools.cache
def netns_prefix() -> tuple[str, ...]:
    """`unshare -rn` (a private, empty network namespace) where the kernel allows it."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return ()
    probe = subprocess.run([unshare, "-rn", "true"], capture_output=True, check=False)
    return (unshare, "-rn") if probe.returncode == 0 else ()


def ops_environment(home: Path) -> dict[str, str]:
    """Environment of an ops tool: our ansible.cfg, caches under `home`, no index, no colour."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("AIRLOCK", "PIP_"))}
    env.update(
        ANSIBLE_CONFIG=str(ANSIBLE_DIR / "ansible.cfg"),
        ANSIBLE_HOME=str(home / "ansible-home"),
        ANSIBLE_LOCAL_TEMP=str(home / "ansible-local-tmp"),
        ANSIBLE_REMOTE_TMP=str(home / "ansible-remote-tmp"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        NO_COLOR="1",
        XDG_CACHE_HOME=str(home / "cache"),
        PIP_NO_INDEX="1",
        PIP_CONFIG_FILE=os.devnull,
    )
    return env


def run_offline(argv: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    """Run an ops tool in ansible/, in an empty network namespace when one can be made."""
    return subprocess.run(
        [*netns_prefix(), *argv],
        cwd=ANSIBLE_DIR,
        env=ops_environment(home),
        capture_output=True,
        text=True,
        check=False,
    )


def recap_changed(output: str, host: str = "localhost") -> int:
    """The `changed=` count of `host` in ansible-playbook's PLAY RECAP."""
    counts = [int(m["changed"]) for m in _RECAP.finditer(output) if m["host"] == host]
    assert counts, f"no PLAY RECAP line for {host}:\n{output[-3000:]}"
    return counts[-1]


@pytest.mark.slow
def test_ansible_lint_passes_with_production_profile(tmp_path: Path) -> None:
    lint = find_ops_tool("ansible-lint")
    # --offline on top of the config's `offline: true`: no Galaxy, no schema or version fetches
    result = run_offline([str(lint), "--offline", "--nocolor"], tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "Profile 'production' was required, and it passed" in output


@pytest.mark.parametrize("playbook", ["site.yml", "playbooks/airlock-local.yml"])
def test_playbook_passes_syntax_check_with_example_inventory(tmp_path: Path, playbook: str) -> None:
    ansible_playbook = find_ops_tool("ansible-playbook")
    inventory = ANSIBLE_DIR / "inventory" / "example" / "hosts.yml"
    argv = [str(ansible_playbook), "--syntax-check", "-i", str(inventory), playbook]
    result = run_offline(argv, tmp_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


@dataclass(frozen=True)
class LocalSite:
    """A localhost 'site' under one temporary folder: inventory, variables, target paths."""

    root: Path
    inventory: Path
    variables: Path
    first_run: subprocess.CompletedProcess[str]

    @property
    def venv(self) -> Path:
        return self.root / "target" / "opt" / "venv"

    @property
    def config_file(self) -> Path:
        return self.root / "target" / "etc" / "airlock.yaml"


def _write_site(root: Path, bundle: Path, trusted_key: Path) -> tuple[Path, Path]:
    """Inventory (localhost, local connection) and role variables with every path under root."""
    target = root / "target"
    (target / "logrotate").mkdir(parents=True)  # a system folder the role expects to exist
    inventory = root / "inventory.yml"
    # the ops tools' own Python runs the modules (no interpreter discovery)
    host = {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
    }
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": host}}}))
    variables = {
        "offline_repo_bundle_src": str(bundle),
        "offline_repo_trusted_key": str(trusted_key),
        "offline_repo_root": str(target / "offline"),
        "offline_repo_trust_dir": str(target / "trust"),
        "offline_repo_control_cache_dir": str(root / "control-cache"),
        "offline_repo_manage_systemd": False,
        "airlock_manage_systemd": False,
        "airlock_manage_user": False,
        "airlock_python": sys.executable,  # the Python 3.11 the wheels are built for
        "airlock_install_dir": str(target / "opt"),
        "airlock_config_dir": str(target / "etc"),
        "airlock_data_dir": str(target / "data"),
        "airlock_log_dir": str(target / "log"),
        "airlock_logrotate_dir": str(target / "logrotate"),
        "airlock_profile": "dev",
        "airlock_api_host": "127.0.0.1",
    }
    variables_file = root / "site-vars.yml"
    variables_file.write_text(yaml.safe_dump(variables))
    return inventory, variables_file


def _apply(root: Path, inventory: Path, variables: Path) -> subprocess.CompletedProcess[str]:
    playbook = find_ops_tool("ansible-playbook")
    argv = [str(playbook), "-i", str(inventory), "-e", f"@{variables}", str(PLAYBOOK)]
    return run_offline(argv, root)


@pytest.fixture(scope="module")
def local_site(tmp_path_factory: pytest.TempPathFactory) -> LocalSite:
    """The playbook applied once (the ~80 s virtualenv install happens once per test run)."""
    find_ops_tool("ansible-playbook")
    root = tmp_path_factory.mktemp("ansible-local")
    bundle, trusted_key = make_test_bundle(root)
    inventory, variables = _write_site(root, bundle, trusted_key)
    first = _apply(root, inventory, variables)
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-3000:]
    return LocalSite(root, inventory, variables, first)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def installed_api(local_site: LocalSite) -> Iterator[str]:
    """The installed `airlock serve` with the written configuration, stopped with SIGTERM."""
    port = _free_port()
    env = ops_environment(local_site.root)
    env.update(
        AIRLOCK_CONFIG=str(local_site.config_file),
        AIRLOCK__AUTH__DEV_ISSUER__PORT=str(_free_port()),
    )
    airlock = local_site.venv / "bin" / "airlock"
    process = subprocess.Popen(
        [str(airlock), "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE
    )
    try:
        yield _wait_healthy(f"http://127.0.0.1:{port}", process)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
        assert process.returncode in (0, -signal.SIGTERM), stderr.decode()[-2000:]


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert process.poll() is None, "the installed airlock serve exited early"
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return url
        except httpx.HTTPError:
            time.sleep(0.5)
    raise AssertionError("the installed airlock serve did not answer /healthz")


@pytest.mark.slow
def test_installed_api_answers_healthz_after_local_install(
    local_site: LocalSite, installed_api: str
) -> None:
    assert httpx.get(f"{installed_api}/healthz", timeout=10).status_code == 200
    written = yaml.safe_load(local_site.config_file.read_text())
    assert written["profile"] == "dev"
    assert written["data_dir"] == str(local_site.root / "target" / "data")
    assert (local_site.venv / "pyvenv.cfg").is_file()


@pytest.mark.slow
def test_second_run_changes_nothing_after_local_install(local_site: LocalSite) -> None:
    assert recap_changed(local_site.first_run.stdout) > 0
    second = _apply(local_site.root, local_site.inventory, local_site.variables)
    assert second.returncode == 0, second.stdout[-6000:]
    assert recap_changed(second.stdout) == 0, second.stdout[-6000:]


def _replace_file(path: Path, content: bytes) -> None:
    """Write a new file in the place of `path` (never through a hard link to the wheelhouse)."""
    path.unlink()
    path.write_bytes(content)


def test_offline_repo_names_tampered_file_when_bundle_was_modified(tmp_path: Path) -> None:
    find_ops_tool("ansible-playbook")
    bundle, trusted_key = make_test_bundle(tmp_path, full=False)
    victim = min((bundle / "wheelhouse").glob("*.whl"), key=lambda p: p.stat().st_size)
    _replace_file(victim, victim.read_bytes() + b"\0")
    inventory, variables = _write_site(tmp_path, bundle, trusted_key)

    result = _apply(tmp_path, inventory, variables)

    assert result.returncode != 0
    assert "files do not match SHA256SUMS" in result.stdout, result.stdout[-4000:]
    assert f"wheelhouse/{victim.name}: FAILED" in result.stdout
    assert not (tmp_path / "target" / "opt" / "venv").exists()


def test_offline_repo_refuses_bundle_when_signed_by_untrusted_key(tmp_path: Path) -> None:
    find_ops_tool("ansible-playbook")
    bundle, trusted_key = make_test_bundle(tmp_path, full=False)
    stranger = Ed25519PrivateKey.generate()
    (bundle / "SHA256SUMS.sig").write_bytes(stranger.sign((bundle / "SHA256SUMS").read_bytes()))
    inventory, variables = _write_site(tmp_path, bundle, trusted_key)

    result = _apply(tmp_path, inventory, variables)

    assert result.returncode != 0
    assert "is not a valid signature of" in result.stdout, result.stdout[-4000:]
    assert not (tmp_path / "target" / "offline").exists()


def test_offline_repo_ignores_bundled_key_when_it_differs_from_trusted(tmp_path: Path) -> None:
    """An attacker re-signing the bundle and shipping their own public key is still refused."""
    find_ops_tool("ansible-playbook")
    bundle, trusted_key = make_test_bundle(tmp_path, full=False)
    attacker = Ed25519PrivateKey.generate()
    (bundle / "signing-key.pub.pem").write_bytes(
        attacker.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    (bundle / "SHA256SUMS.sig").write_bytes(attacker.sign((bundle / "SHA256SUMS").read_bytes()))
    inventory, variables = _write_site(tmp_path, bundle, trusted_key)

    result = _apply(tmp_path, inventory, variables)

    assert result.returncode != 0
    assert "is not a valid signature of" in result.stdout, result.stdout[-4000:]
    assert os.fspath(trusted_key) in result.stdout
