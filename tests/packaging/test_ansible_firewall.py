"""The egress firewall role: its nftables ruleset loads, default-deny, in a private netns."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from tests.packaging.test_ansible_roles import netns_prefix, run_offline
from tests.packaging.tools import find_ops_tool

_FIREWALL_PLAY = """
- name: Egress firewall
  hosts: localhost
  gather_facts: false
  roles: [egress_firewall]
- name: Show what the kernel loaded
  hosts: localhost
  gather_facts: false
  tasks:
    - name: List the table
      ansible.builtin.command: nft list table inet airlock_egress
      changed_when: false
      register: listed
    - name: Print it
      ansible.builtin.debug:
        var: listed.stdout_lines
"""


def test_egress_firewall_loads_default_deny_ruleset_in_private_netns(tmp_path: Path) -> None:
    ansible_playbook = find_ops_tool("ansible-playbook")
    if shutil.which("nft") is None or not netns_prefix():
        message = "needs nft (Debian's nftables) and `unshare -rn` (a private netns) to load rules"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI installs nftables (make system-packages)")
        pytest.skip(reason=message)
    playbook = tmp_path / "firewall.yml"
    playbook.write_text(_FIREWALL_PLAY)
    variables = tmp_path / "firewall-vars.yml"
    allowed = [{"name": "postgresql", "address": "10.20.3.20", "port": 5432, "proto": "tcp"}]
    variables.write_text(
        yaml.safe_dump(
            {
                "egress_firewall_resolvers": ["10.20.0.2"],
                "egress_firewall_allowed": allowed,
                "egress_firewall_rules_file": str(tmp_path / "nft" / "airlock-egress.nft"),
                "egress_firewall_manage_systemd": False,
            }
        )
    )
    argv = [str(ansible_playbook), "-c", "local", "-i", "localhost,", "-e", f"@{variables}"]
    argv += ["-e", "ansible_python_interpreter={{ ansible_playbook_python }}", str(playbook)]

    result = run_offline(argv, tmp_path)

    assert result.returncode == 0, result.stdout[-4000:]
    assert "policy drop;" in result.stdout
    assert 'ip daddr 10.20.3.20 tcp dport 5432 accept comment \\"postgresql\\"' in result.stdout
