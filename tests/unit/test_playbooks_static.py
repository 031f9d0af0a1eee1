"""Static checks of the provider playbooks: ansible-lint (production profile), yamllint, syntax, inventory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from linq.testhosts.inventory import inventory_data
from linq.testhosts.playbook import PLAYBOOKS_DIR

BIN = Path(sys.executable).parent
PLAYBOOKS = ("site.yml", "upgrade.yml", "reset.yml")


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", NO_COLOR="1")
    return subprocess.run(argv, cwd=PLAYBOOKS_DIR, env=env, text=True, capture_output=True, timeout=300, check=False)


def test_ansible_lint_production_profile_passes() -> None:
    done = _run(str(BIN / "ansible-lint"), "--profile", "production", "--offline")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "production' was required, and it passed" in done.stdout + done.stderr


def test_yamllint_passes() -> None:
    done = _run(str(BIN / "yamllint"), "--strict", ".")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_syntax_check(playbook: str) -> None:
    done = _run(str(BIN / "ansible-playbook"), "--syntax-check", playbook)
    assert done.returncode == 0, done.stdout + done.stderr


def test_example_inventory_has_servers_and_agents_and_provider_settings() -> None:
    done = _run(str(BIN / "ansible-inventory"), "-i", "inventories/example/hosts.yml", "--list")
    assert done.returncode == 0, done.stderr
    inventory = json.loads(done.stdout)
    assert set(inventory["k3s_cluster"]["children"]) == {"servers", "agents"}
    assert len(inventory["servers"]["hosts"]) == 3  # HA: odd number of embedded etcd members
    server_vars = inventory["_meta"]["hostvars"]["cp-1"]
    assert server_vars["lpstack_register"] is True
    for price in ("lpstack_price_cpu_wei", "lpstack_price_memory_wei", "lpstack_price_storage_wei"):
        assert str(server_vars[price]).isdigit(), price  # wei are integers, never floats
    assert "vault_k3s_token" not in server_vars  # the token lives only in the (git-ignored) vault file


def test_no_secret_reaches_a_log_or_diff() -> None:
    """Tasks that carry the token or the key are no_log, and the files holding them are never diffed."""
    k3s_install = (PLAYBOOKS_DIR / "roles/k3s/tasks/install.yml").read_text()
    installer = k3s_install[k3s_install.index("- name: Run the k3s installer") :]
    assert "no_log: true" in installer.split("\n- name:")[0]
    config = (PLAYBOOKS_DIR / "roles/k3s/tasks/config.yml").read_text()
    block = config[config.index("- name: Write the k3s configuration") :].split("\n- name:")[0]
    assert "diff: false" in block
    registration = (PLAYBOOKS_DIR / "roles/registration/tasks/main.yml").read_text()
    command = registration[registration.index("- name: Run linq provider") :].split("\n    - name:")[0]
    assert "LINQ_PRIVATE_KEY" in command and "no_log: true" in command


def test_testhost_inventory_uses_real_ssh_and_rejects_bad_groups(tmp_path: Path) -> None:
    from linq.testhosts.hosts import Host

    hosts = [
        Host(
            f"h{i}",
            f"198.18.0.{4 * i + 2}",
            22,
            "provider",
            tmp_path / "k",
            tmp_path / "kh",
            f"n{i}",
            tmp_path,
            1,
        )
        for i in range(3)
    ]
    data = inventory_data(hosts, {"servers": [0], "agents": [1, 2]}, tmp_path / "cp")
    assert data["all"]["vars"]["ansible_connection"] == "ssh"
    assert "StrictHostKeyChecking=yes" in data["all"]["vars"]["ansible_ssh_common_args"]
    assert data["all"]["children"]["k3s_cluster"]["children"]["agents"]["hosts"] == {"h1": None, "h2": None}
    assert data["all"]["hosts"]["h2"]["ansible_host"] == "198.18.0.10"
    with pytest.raises(ValueError, match=r"groups\['servers'\]: host indexes \[3\]"):
        inventory_data(hosts, {"servers": [3]}, tmp_path / "cp")
