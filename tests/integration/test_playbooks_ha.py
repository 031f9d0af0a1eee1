"""HA k3s configuration over real SSH: three servers with embedded etcd and an agent (k3s role only)."""

from __future__ import annotations

import pytest
import yaml

from linq.testhosts import test_hosts
from linq.testhosts.playbook import run_playbook
from tests.integration.hosts import require_test_hosts

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_first_server_inits_the_cluster_and_every_other_node_joins_it() -> None:
    require_test_hosts()
    token = "ha-test-token-" + "5" * 40
    with test_hosts(4, groups={"servers": [0, 1, 2], "agents": [3]}) as hosts:
        extravars = {
            "lpstack_apply_kernel_changes": False,
            "lpstack_manage_services": False,
            "lpstack_install_k3s": False,
            "k3s_token": token,
        }
        run = run_playbook("site.yml", hosts.inventory, extravars=extravars, tags="k3s")
        assert run.ok, run.describe()
        assert token not in run.stdout
        configs = [yaml.safe_load(h.run("sudo cat /etc/rancher/k3s/config.yaml").stdout) for h in hosts]
        first = hosts[0]
        assert configs[0]["cluster-init"] is True and "server" not in configs[0]
        for joiner in configs[1:]:
            assert joiner["server"] == f"https://{first.address}:6443"
            assert "cluster-init" not in joiner
            assert joiner["token"] == token
        for server in configs[:3]:
            assert server["tls-san"] == [first.address] and server["secrets-encryption"] is True
        assert "secrets-encryption" not in configs[3]
        assert [c["node-ip"] for c in configs] == [h.address for h in hosts]
        # Only the k3s role ran: no hardening files.
        assert hosts[1].run("test -e /etc/sysctl.d/90-lpstack.conf", check=False).returncode != 0
