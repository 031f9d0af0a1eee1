"""site.yml / reset.yml over real SSH against two network-namespace test hosts (one server, one agent).

Kernel-wide changes (sysctl apply, modprobe, swapoff) and systemd are gated off, because the test hosts share
the machine's kernel and have no systemd; the nftables ruleset IS loaded, inside each host's own network
namespace, and its drops are checked with real connections. k3s itself is not installed (no binary offline):
the real runs stop before it with lpstack_install_k3s=false, and the whole play including the k3s install and
the LPStack roles is exercised in check mode against an air-gap directory.

The tests run in file order and share one pair of hosts: check mode on fresh hosts, first run, re-run, check
mode after the run, a failing minimum, reset.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from linq.testhosts import HostList, test_hosts
from linq.testhosts.playbook import PlaybookRun, run_playbook
from tests.integration.hosts import require_test_hosts
from tests.waiting import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOKEN = "lpstack-test-token-" + "7" * 32  # what the vault decrypts to; must never show in Ansible's output
VAULT_PASSWORD = "test-vault-password"
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def hosts(request: pytest.FixtureRequest) -> Iterator[HostList]:
    require_test_hosts()
    with test_hosts(2, groups={"servers": [0], "agents": [1]}) as started:
        yield started
    if TIMINGS:
        summary = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in TIMINGS.items())
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"playbook wall times (2 test hosts): {summary}")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, hosts: HostList) -> dict[str, Path]:
    """Controller-side inputs: an encrypted vault next to the inventory, manifests, an air-gap directory."""
    base = tmp_path_factory.mktemp("playbooks")
    password_file = base / "vault-password"
    password_file.write_text(VAULT_PASSWORD + "\n")
    vault_dir = hosts.inventory.parent / "group_vars" / "k3s_cluster"
    vault_dir.mkdir(parents=True)
    vault = vault_dir / "vault.yml"
    vault.write_text(yaml.safe_dump({"vault_k3s_token": TOKEN}))
    encrypt = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-vault"),
            "encrypt",
            "--vault-password-file",
            str(password_file),
            str(vault),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert encrypt.returncode == 0, encrypt.stderr
    assert vault.read_text().startswith("$ANSIBLE_VAULT;")
    manifests = base / "manifests"
    render = subprocess.run(
        [
            str(Path(sys.executable).parent / "linq"),
            "lpstack",
            "render",
            "--cluster-name",
            "lpstack-test",
            "--provider",
            "0x" + "00" * 19 + "01",
            "--region",
            "eu-west",
            "--domain",
            "apps.example.org",
            "--out",
            str(manifests),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert render.returncode == 0, render.stderr
    assert sorted(manifests.glob("*.yaml")) and (manifests / "admission" / "pod-security.yaml").is_file()
    # Check mode copies nothing, so these stand in for the release files only by name.
    airgap = base / "airgap"
    airgap.mkdir()
    (airgap / "k3s").write_text("#!/bin/sh\necho 'k3s version v1.33.4+k3s1 (airgap fixture)'\n")
    (airgap / "install.sh").write_text("#!/bin/sh\nexit 0\n")
    (airgap / "k3s-airgap-images-amd64.tar.zst").write_bytes(b"\x28\xb5\x2f\xfd")
    artifacts = base / "artifacts"
    return {"password": password_file, "manifests": manifests, "airgap": airgap, "artifacts": artifacts}


def _vars(workdir: dict[str, Path], **overrides: Any) -> dict[str, Any]:
    base = {
        "lpstack_apply_kernel_changes": False,
        "lpstack_apply_firewall": True,  # nftables is per network namespace: safe to load in a test host
        "lpstack_manage_services": False,
        "lpstack_install_k3s": False,
        "lpstack_register": False,
        "lpstack_artifacts_dir": str(workdir["artifacts"]),
        "lpstack_manifests_dir": str(workdir["manifests"]),
        "lpstack_api_allowed_cidrs": ["198.18.0.0/15"],  # lets the root namespace (.1) reach 6443 only
        "preflight_min_storage_gib": 1,
    }
    return base | overrides


def _play(hosts: HostList, workdir: dict[str, Path], playbook: str = "site.yml", **kw: Any) -> PlaybookRun:
    extravars = kw.pop("extravars", None) or _vars(workdir)
    return run_playbook(playbook, hosts.inventory, extravars=extravars, vault_password_file=workdir["password"], **kw)


def _read(hosts: HostList, index: int, path: str) -> str:
    return hosts[index].run(f"sudo cat {path}").stdout


def _exists(hosts: HostList, index: int, path: str) -> bool:
    return hosts[index].run(f"sudo test -e {path}", check=False).returncode == 0


def _connects(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1.5):
            return True
    except OSError:
        return False


def test_check_mode_on_fresh_hosts_runs_the_whole_play(hosts: HostList, workdir: dict[str, Path]) -> None:
    """--check --diff through every role, k3s air-gap install and LPStack included; nothing is written."""
    full = _vars(workdir, lpstack_install_k3s=True, k3s_airgap_dir=str(workdir["airgap"]))
    run = _play(hosts, workdir, check=True, diff=True, extravars=full)
    assert run.ok, run.describe()
    assert "Install the k3s binary" in run.stdout and "Copy the manifests into k3s" in run.stdout
    assert TOKEN not in run.stdout, "the k3s token leaked into the --diff output"
    assert all(count > 0 for count in run.changed().values()), run.changed()
    for index in (0, 1):
        assert not _exists(hosts, index, "/etc/rancher/k3s/config.yaml"), "check mode wrote a file"
        assert not _exists(hosts, index, "/etc/sysctl.d/90-lpstack.conf")


def test_first_run_configures_both_hosts(hosts: HostList, workdir: dict[str, Path]) -> None:
    # State the run must fix: a swap line in the agent's fstab, a stale LPStack manifest on the server.
    hosts[1].run("echo '/swapfile none swap sw 0 0' | sudo tee -a /etc/fstab >/dev/null")
    stale = "/var/lib/rancher/k3s/server/manifests/lpstack-retired.yaml"
    hosts[0].run(f"sudo mkdir -p {Path(stale).parent} && echo '{{}}' | sudo tee {stale} >/dev/null")

    run = _play(hosts, workdir)
    TIMINGS["first run"] = run.seconds
    assert run.ok, run.describe()
    assert set(run.changed()) == {h.name for h in hosts} and all(run.changed().values())
    assert TOKEN not in run.stdout

    server = yaml.safe_load(_read(hosts, 0, "/etc/rancher/k3s/config.yaml"))
    agent = yaml.safe_load(_read(hosts, 1, "/etc/rancher/k3s/config.yaml"))
    assert server["token"] == TOKEN and agent["token"] == TOKEN  # decrypted from the vault
    assert server["node-ip"] == hosts[0].address and agent["node-ip"] == hosts[1].address
    assert agent["server"] == f"https://{hosts[0].address}:6443"
    assert "server" not in server and "cluster-init" not in server  # one server: no embedded etcd
    assert server["protect-kernel-defaults"] is True and server["secrets-encryption"] is True
    assert "admission-control-config-file=/etc/rancher/k3s/psa.yaml" in server["kube-apiserver-arg"]
    assert "secrets-encryption" not in agent and "kube-apiserver-arg" not in agent
    assert hosts[0].run("sudo stat -c %a /etc/rancher/k3s/config.yaml").stdout.strip() == "600"
    psa = yaml.safe_load(_read(hosts, 0, "/etc/rancher/k3s/psa.yaml"))
    assert psa["plugins"][0]["configuration"]["defaults"]["enforce"] == "baseline"
    assert psa["plugins"][0]["configuration"]["exemptions"]["namespaces"] == ["kube-system"]
    assert not _exists(hosts, 1, "/etc/rancher/k3s/psa.yaml")

    for index in (0, 1):
        sysctl = dict(
            line.split(" = ")
            for line in _read(hosts, index, "/etc/sysctl.d/90-lpstack.conf").splitlines()
            if " = " in line
        )
        assert sysctl["net.ipv4.ip_forward"] == "1" and sysctl["kernel.panic"] == "10"
        assert sysctl["net.bridge.bridge-nf-call-iptables"] == "1" and sysctl["vm.overcommit_memory"] == "1"
        assert _read(hosts, index, "/etc/modules-load.d/lpstack.conf").split()[-2:] == [
            "overlay",
            "br_netfilter",
        ]
        # sshd's effective configuration, as sshd itself computes it
        effective = hosts[index].run("sudo /usr/sbin/sshd -T -C user=root,host=x,addr=198.18.0.1").stdout
        assert "passwordauthentication no" in effective and "permitrootlogin without-password" in effective
        assert "kbdinteractiveauthentication no" in effective
    assert re.search(r"^# /swapfile none swap sw 0 0", _read(hosts, 1, "/etc/fstab"), re.M)
    unit = _read(hosts, 0, "/etc/systemd/system/lpstack-firewall.service")
    assert "ExecStart=/usr/sbin/nft --file /etc/nftables.d/lpstack.nft" in unit

    rendered = sorted(workdir["manifests"].glob("*.yaml"))
    manifests = hosts[0].run("sudo ls /var/lib/rancher/k3s/server/manifests").stdout.split()
    assert manifests == sorted(f"lpstack-{path.name}" for path in rendered)  # stale one removed
    remote_sums = hosts[0].run("sudo sh -c 'cd /var/lib/rancher/k3s/server/manifests && sha256sum lpstack-*'").stdout
    local_sums = {f"lpstack-{p.name}": hashlib.sha256(p.read_bytes()).hexdigest() for p in rendered}
    assert {name: digest for digest, name in (line.split() for line in remote_sums.splitlines())} == local_sums
    # the API server's admission file is LPStack's own rendered one
    assert (
        _read(hosts, 0, "/etc/rancher/k3s/psa.yaml")
        == (workdir["manifests"] / "admission/pod-security.yaml").read_text()
    )
    assert not _exists(hosts, 1, "/var/lib/rancher/k3s/server/manifests")


def test_capacity_facts_match_the_real_host(hosts: HostList, workdir: dict[str, Path]) -> None:
    meminfo = Path("/proc/meminfo").read_text()
    mem_mib = int(re.search(r"^MemTotal:\s+(\d+) kB", meminfo, re.M).group(1)) // 1024  # type: ignore[union-attr]
    cpus = sum(1 for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("processor"))
    assert cpus == os.cpu_count()
    # GPUs straight from sysfs (display class 0x03xxxx from NVIDIA or AMD), independent of lspci's parsing
    has_gpu = any(
        (dev / "class").read_text().startswith("0x03") and (dev / "vendor").read_text().strip() in ("0x10de", "0x1002")
        for dev in Path("/sys/bus/pci/devices").iterdir()
    )
    per_host = []
    for host in hosts:
        capacity = json.loads((workdir["artifacts"] / host.name / "capacity.json").read_text())
        disk = os.statvfs(host.upper)  # the host's /var/lib lives on the filesystem under its overlay
        assert capacity["measured"]["cpu_millicores"] == cpus * 1000
        assert capacity["measured"]["memory_mib"] == mem_mib
        assert capacity["measured"]["storage_gib"] == disk.f_blocks * disk.f_frsize // 2**30
        assert bool(capacity["measured"]["gpus"]) == has_gpu
        assert capacity["allocatable"]["cpu_millicores"] == cpus * 1000 - 500
        assert capacity["allocatable"]["memory_mib"] == mem_mib - 1024
        assert capacity["node_ip"] == host.address
        per_host.append(capacity["allocatable"])
    cluster = json.loads((workdir["artifacts"] / "cluster-capacity.json").read_text())
    assert cluster["nodes"] == sorted(h.name for h in hosts)
    for key in ("cpu_millicores", "memory_mib", "storage_gib"):
        assert cluster["allocatable"][key] == sum(c[key] for c in per_host)


def test_firewall_is_loaded_and_drops_kubernetes_ports_from_outsiders(hosts: HostList) -> None:
    ruleset = hosts[0].run("sudo nft list table inet lpstack").stdout
    assert "elements = { 198.18.0.0/15 }" in ruleset
    assert f"elements = {{ {hosts[0].address}, {hosts[1].address} }}" in ruleset
    # Listeners on a guarded API port, a guarded kubelet port and an unguarded port.
    ports = (6443, 10250, 2222)
    script = (
        "import socket, time\nheld = []\n"
        f"for port in {ports}:\n"
        "    s = socket.socket()\n    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "    s.bind(('0.0.0.0', port))\n    s.listen()\n    held.append(s)\ntime.sleep(120)\n"
    )
    encoded = base64.b64encode(script.encode()).decode()
    hosts[0].run(
        f"echo {encoded} | base64 -d > /tmp/listen.py && sudo sh -c 'nohup python3 /tmp/listen.py >/dev/null 2>&1 &'"
    )
    # The root namespace (198.18.0.1) is in lpstack_api_allowed_cidrs but is not a cluster node.
    wait_for(lambda: _connects(hosts[0].address, 2222), what="the listener on the unguarded port 2222")
    assert _connects(hosts[0].address, 6443), "the API port must be open to lpstack_api_allowed_cidrs"
    assert not _connects(hosts[0].address, 10250), "the kubelet port must be closed to non-nodes"
    counters = hosts[0].run("sudo nft list chain inet lpstack input").stdout
    assert re.search(r"2379-2380, 6443, 10250 \} counter packets [1-9]", counters), counters


def test_second_run_changes_nothing(hosts: HostList, workdir: dict[str, Path]) -> None:
    run = _play(hosts, workdir)
    TIMINGS["re-run"] = run.seconds
    assert run.ok, run.describe()
    assert run.changed() == {h.name: 0 for h in hosts}, run.describe()


def test_check_mode_after_the_run_is_clean(hosts: HostList, workdir: dict[str, Path]) -> None:
    run = _play(hosts, workdir, check=True, diff=True)
    TIMINGS["check mode (configured)"] = run.seconds
    assert run.ok, run.describe()
    assert run.changed() == {h.name: 0 for h in hosts}, run.describe()


def test_upgrade_playbook_in_check_mode(hosts: HostList, workdir: dict[str, Path]) -> None:
    full = _vars(workdir, lpstack_install_k3s=True, k3s_airgap_dir=str(workdir["airgap"]))
    run = _play(hosts, workdir, "upgrade.yml", check=True, extravars=full)
    assert run.ok, run.describe()
    assert run.stdout.count("PLAY [Upgrade the k3s servers, one at a time]") == 1
    assert "Install the k3s binary" in run.stdout


def test_a_host_below_the_minimum_fails_with_the_field_and_the_fix(hosts: HostList, workdir: dict[str, Path]) -> None:
    run = _play(hosts, workdir, extravars=_vars(workdir, preflight_min_memory_mib=10**9), limit=hosts[1].name)
    assert not run.ok
    assert run.failed_tasks == [f"{hosts[1].name}: Check the node meets the LPStack minimums"]
    assert "needs preflight_min_memory_mib=1000000000" in run.stdout
    assert "Give the node more of what is short" in run.stdout


def test_registration_runs_the_linq_cli_without_leaking_the_key(
    hosts: HostList, workdir: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real `linq` CLI is called on the controller with the key in its environment only. No chain runs
    here (the RPC port is closed), so the call fails, and the failure must say what failed without the key."""
    key = "0x" + "ab" * 32
    monkeypatch.setenv("LINQ_PRIVATE_KEY", key)
    addresses = workdir["artifacts"].parent / "addresses.json"
    addresses.write_text(json.dumps({"chainId": 31337}))
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings = _vars(
        workdir,
        lpstack_register=True,
        lpstack_linq_command=str(Path(sys.executable).parent / "linq"),
        lpstack_rpc_url=f"http://127.0.0.1:{closed_port}",
        lpstack_addresses_file=str(addresses),
        lpstack_region="eu-west",
        lpstack_meta_hash="0x" + "11" * 32,
        lpstack_price_cpu_wei="1000000000",
        lpstack_price_memory_wei="2000000",
        lpstack_price_storage_wei="3000",
    )
    run = _play(hosts, workdir, extravars=settings, tags="preflight,registration")
    assert not run.ok
    assert run.failed_tasks == [f"{hosts[0].name}: Report the registration result"], run.describe()
    assert "registration: `linq provider register` failed" in run.stdout
    assert key not in run.stdout and key[2:] not in run.stdout
    assert run.changed() == {h.name: 0 for h in hosts}  # nothing on the hosts changed on the way


def test_registration_settings_are_checked_before_the_cli_runs(hosts: HostList, workdir: dict[str, Path]) -> None:
    bad = _vars(workdir, lpstack_register=True, lpstack_rpc_url="localhost:8545", lpstack_price_cpu_wei="1.5")
    run = _play(hosts, workdir, extravars=bad, tags="preflight,registration")
    assert run.failed_tasks == [f"{hosts[0].name}: Check the registration settings"], run.describe()
    assert "lpstack_rpc_url http(s):// or ws(s):// (got 'localhost:8545')" in run.stdout
    assert "'1.5'" in run.stdout


def test_reset_removes_k3s_and_lpstack_files_and_is_idempotent(hosts: HostList, workdir: dict[str, Path]) -> None:
    run = _play(hosts, workdir, "reset.yml")
    assert run.ok, run.describe()
    for index in (0, 1):
        assert not _exists(hosts, index, "/etc/rancher/k3s")
        assert not _exists(hosts, index, "/var/lib/rancher/k3s")
        assert not _exists(hosts, index, "/etc/nftables.d/lpstack.nft")
        assert not _exists(hosts, index, "/etc/systemd/system/lpstack-firewall.service")
        assert hosts[index].run("sudo nft list table inet lpstack", check=False).returncode != 0
        assert _exists(hosts, index, "/etc/ssh/sshd_config.d/00-lpstack.conf")  # never reopen password login
    again = _play(hosts, workdir, "reset.yml")
    assert again.ok and again.changed() == {h.name: 0 for h in hosts}, again.describe()
