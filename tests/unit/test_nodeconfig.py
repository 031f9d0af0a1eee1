"""The real node's configuration: everything under its own state directory and inside its own addresses."""

from __future__ import annotations

import tomllib
from pathlib import Path

from linq.devnet.nodeconfig import (
    CLUSTER_DNS,
    PAUSE_IMAGE,
    REAL_NODE_TAINT,
    NodeLayout,
    cni_conflist,
    containerd_config,
    kube_proxy_config,
    kubelet_config,
)


def _node(tmp_path: Path, slot: int = 7) -> NodeLayout:
    return NodeLayout(tmp_path / "node", slot, 6443)


def test_containerd_config_keeps_state_under_the_node_and_restricts_oom_score(tmp_path: Path) -> None:
    node = _node(tmp_path)
    config = tomllib.loads(containerd_config(node))
    assert config["version"] == 3
    for key in ("root", "state"):
        assert config[key].startswith(str(node.state_dir))
    assert config["grpc"]["address"] == str(node.containerd_socket)
    runtime = config["plugins"]["io.containerd.cri.v1.runtime"]
    assert runtime["restrict_oom_score_adj"] is True
    assert runtime["netns_mounts_under_state_dir"] is True
    assert runtime["containerd"]["runtimes"]["runc"]["options"]["Root"].startswith(str(node.state_dir))
    assert config["plugins"]["io.containerd.cri.v1.images"]["pinned_images"]["sandbox"] == PAUSE_IMAGE


def test_two_slots_never_share_addresses_or_cgroups(tmp_path: Path) -> None:
    a, b = _node(tmp_path, 1), _node(tmp_path, 2)
    assert {a.netns, a.node_ip, a.pod_cidr, a.cgroup_root}.isdisjoint({b.netns, b.node_ip, b.pod_cidr, b.cgroup_root})
    assert cni_conflist(a)["plugins"][0]["ipam"]["ranges"] == [[{"subnet": "10.245.1.0/24"}]]


def test_kubelet_is_tainted_cgroupfs_and_authenticated(tmp_path: Path) -> None:
    node = _node(tmp_path)
    config = kubelet_config(node, Path("/ca"), Path("/crt"), Path("/key"))
    assert config["registerWithTaints"] == [REAL_NODE_TAINT]
    assert config["cgroupRoot"] == node.cgroup_root and config["cgroupDriver"] == "cgroupfs"
    assert config["authentication"]["anonymous"]["enabled"] is False
    assert config["authorization"]["mode"] == "Webhook"
    assert config["readOnlyPort"] == 0 and config["failCgroupV1"] is False
    assert config["clusterDNS"] == [CLUSTER_DNS]


def test_kube_proxy_writes_no_conntrack_sysctls(tmp_path: Path) -> None:
    config = kube_proxy_config(_node(tmp_path), Path("/kubeconfig"))
    assert config["conntrack"]["maxPerCore"] == 0 and config["conntrack"]["min"] == 0
    assert config["mode"] == "iptables"


def test_a_state_dir_too_long_for_the_node_sockets_is_refused_before_anything_starts() -> None:
    import pytest

    from linq.devnet import node

    node.check_state_dir(Path("/tmp/lq-demo-x/devnet"))  # short: fine
    deep = Path("/tmp/pytest-of-root/pytest-101/test_demo_runs_from_deployment0/demo-devnet")
    with pytest.raises(node.NodeError) as refused:
        node.check_state_dir(deep)
    assert f"--state-dir {deep}" in str(refused.value) and "at most 107" in str(refused.value)
    assert "use a shorter directory" in str(refused.value)
