"""`linq devnet down` with a real node that runs containers leaves nothing behind: no process, container,
mount, network namespace, veth, route, netfilter rule, cgroup or changed sysctl."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from linq.devnet import Devnet, ingress, node
from linq.devnet.kube import NodeSpec
from linq.devnet.kubeapi import KubeAPI
from linq.devnet.nodeconfig import PAUSE_IMAGE, REAL_NODE_LABEL, REAL_NODE_TOLERATION
from tests.waiting import wait_for

pytestmark = pytest.mark.integration
# host paths a kubelet or containerd would use by default: the node must not leave them behind
HOST_PATHS = [
    Path(p)
    for p in (
        "/run/containerd",
        "/etc/cdi",
        "/var/run/cdi",
        "/var/lib/kubelet",
        "/var/log/containers",
        "/var/log/pods",
        "/etc/cni",
        "/opt/cni",
        "/var/lib/containerd",
        "/run/nri",
    )
]


def _host_rules() -> str:
    nft = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True, check=False).stdout
    ipt = subprocess.run(["iptables-save"], capture_output=True, text=True, check=False).stdout
    return nft + "\n".join(line for line in ipt.splitlines() if not line.startswith(("#", ":")))


def test_down_leaves_nothing(tmp_path: Path) -> None:
    sysctls = {key: Path("/proc/sys", key).read_text() for key in node.KUBELET_SYSCTLS}
    rules = _host_rules()
    paths = {path: path.exists() for path in HOST_PATHS}
    net = Devnet(tmp_path / "net")
    net.up(nodes=[NodeSpec(name="lp-node-0")], with_contracts=False, real_node=True, ttl_seconds=900)
    try:
        state = node.read_state(net.state_dir)
        assert state is not None
        api = KubeAPI.from_kubeconfig(net.kubeconfig)
        api.post(
            "/api/v1/namespaces/default/pods",
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "sleeper"},
                "spec": {
                    "containers": [{"name": "main", "image": PAUSE_IMAGE, "imagePullPolicy": "Never"}],
                    "terminationGracePeriodSeconds": 1,
                    "nodeSelector": {REAL_NODE_LABEL: "true"},
                    "tolerations": [REAL_NODE_TOLERATION],
                },
            },
        )
        wait_for(
            lambda: api.get("/api/v1/namespaces/default/pods/sleeper")["status"].get("phase") == "Running",
            what="a container running on the real node",
            timeout=180,
        )
        # the ingress too: a pod in linq-ingress and the host relay (started beside the devnet, recorded in it)
        ingress.start(net)
        relay = next(r for r in net.read()[0] if r.name == ingress.RELAY)
        assert relay.alive()
        assert node.leftovers(net.state_dir, state.slot), "a running node should be visible to the leftover check"
        records, _ = net.read()
        assert "prometheus" in [r.name for r in records]  # the real node's scraper is a devnet part too
    finally:
        net.down()
    assert not [r.name for r in records if r.alive()]
    assert node.leftovers(net.state_dir, state.slot) == []
    assert not relay.alive()
    assert not Path(f"/run/netns/linq-node-{state.slot}").exists()
    assert {key: Path("/proc/sys", key).read_text() for key in node.KUBELET_SYSCTLS} == sysctls
    assert _host_rules() == rules
    assert {path: path.exists() for path in HOST_PATHS} == paths
    assert not node.read_state(net.state_dir)
