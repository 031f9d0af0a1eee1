"""The real node's configuration files, rendered from its layout (pure: no processes, no I/O).

Every path is under the node's own state directory, every address inside its own network namespace, so two
devnets on one machine do not share state (docs/real-node.md lists the few fixed host paths that remain).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from linq.tools import versions

NODE_NAME = "lp-real-0"
# Pods land on the real node only when they ask to: it is tainted, and labelled for nodeSelector.
REAL_NODE_LABEL = "linq.network/real-node"
REAL_NODE_TAINT = {"key": REAL_NODE_LABEL, "value": "true", "effect": "NoSchedule"}
REAL_NODE_TOLERATION = {"key": REAL_NODE_LABEL, "operator": "Equal", "value": "true", "effect": "NoSchedule"}
PAUSE_IMAGE = f"localhost/linq/pause:{versions.PAUSE}"
CNI_BIN_DIR = "/usr/lib/cni"  # Debian's containernetworking-plugins
CLUSTER_DOMAIN = "cluster.local"
# Images in the devnet's registry are named registry.linq.devnet/<name>:<tag>; containerd finds the registry
# through its hosts.toml (no DNS), the host pushes to it at the node address.
REGISTRY_HOST = "registry.linq.devnet"
REGISTRY_PORT = 5000
CLUSTER_DNS = "10.96.0.10"  # the kube-dns Service; its endpoint is CoreDNS on the node's address


@dataclass(frozen=True)
class NodeLayout:
    """Where one real node keeps everything, and its addresses. `slot` (1..200) keeps devnets apart."""

    state_dir: Path  # <devnet state>/node
    slot: int
    api_port: int  # the apiserver's port; the relay listens on it inside the node's namespace

    # ---- network (inside the node's own network namespace, except host_ip) --------------------------
    @property
    def netns(self) -> str:
        return f"linq-node-{self.slot}"

    @property
    def host_veth(self) -> str:
        return f"lqnode{self.slot}"

    @property
    def host_ip(self) -> str:  # the host end of the veth pair
        return f"10.246.{self.slot}.1"

    @property
    def node_ip(self) -> str:  # the node's InternalIP: kubelet, NodePorts, the apiserver relay
        return f"10.246.{self.slot}.2"

    @property
    def pod_cidr(self) -> str:
        return f"10.245.{self.slot}.0/24"

    @property
    def cgroup_root(self) -> str:
        return f"/linq-node-{self.slot}"

    # ---- files --------------------------------------------------------------------------------------
    def path(self, *parts: str) -> Path:
        return self.state_dir.joinpath(*parts)

    @property
    def containerd_socket(self) -> Path:
        return self.path("run", "containerd.sock")

    @property
    def pod_logs(self) -> Path:
        return self.path("pod-logs")

    @property
    def kubelet_root(self) -> Path:
        return self.path("kubelet")


def containerd_config(node: NodeLayout) -> str:
    """containerd 2.x (config version 3): own root, state and socket; runc through cgroupfs; CNI from Debian."""
    runc_root = node.path("run", "runc")
    return f"""version = 3
root = {json.dumps(str(node.path("containerd", "root")))}
state = {json.dumps(str(node.path("run", "containerd")))}
disabled_plugins = ["io.containerd.nri.v1.nri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.blockfile", "io.containerd.snapshotter.v1.erofs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = {json.dumps(str(node.containerd_socket))}

[ttrpc]
  address = {json.dumps(str(node.path("run", "containerd-ttrpc.sock")))}

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = {json.dumps(PAUSE_IMAGE)}
  [plugins."io.containerd.cri.v1.images".registry]
    config_path = {json.dumps(str(node.path("certs.d")))}

[plugins."io.containerd.cri.v1.runtime"]
  enable_selinux = false
  disable_apparmor = true
  # the sandbox has no CAP_SYS_RESOURCE: runc cannot lower oom_score_adj below its own (docs/real-node.md)
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = {json.dumps(str(runc_root))}
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = [{json.dumps(CNI_BIN_DIR)}]
    conf_dir = {json.dumps(str(node.path("cni")))}

[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
"""


def cni_conflist(node: NodeLayout) -> dict:
    """One bridge per node namespace, host-local addresses from the node's /24, hostPort through portmap."""
    return {
        "cniVersion": "1.0.0",
        "name": "linq-pods",
        "plugins": [
            {
                "type": "bridge",
                "bridge": "cni0",
                "isGateway": True,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": node.pod_cidr}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def kubelet_config(node: NodeLayout, ca_cert: Path, serving_cert: Path, serving_key: Path) -> dict:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": node.node_ip,
        "port": 10250,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(ca_cert)},
        },
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": str(serving_cert),
        "tlsPrivateKeyFile": str(serving_key),
        "containerRuntimeEndpoint": f"unix://{node.containerd_socket}",
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": node.cgroup_root,
        "failCgroupV1": False,  # this machine has cgroup v1 hierarchies
        "failSwapOn": False,
        "podLogsDir": str(node.pod_logs),
        "volumePluginDir": str(node.path("volume-plugins")),  # else /usr/libexec/kubernetes/...
        "resolvConf": str(node.path("resolv.conf")),
        "clusterDomain": CLUSTER_DOMAIN,
        "clusterDNS": [CLUSTER_DNS],
        "registerWithTaints": [REAL_NODE_TAINT],
        "maxPods": 30,
        "serializeImagePulls": False,
        # imported test images are never garbage-collected away under the tests' feet; no eviction on a
        # shared developer disk either
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {"memory.available": "50Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
        "kernelMemcgNotification": False,
        "shutdownGracePeriod": "0s",
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        "nodeStatusReportFrequency": "20s",
        "containerLogMaxSize": "10Mi",
        "containerLogMaxFiles": 2,
    }


def kube_proxy_config(node: NodeLayout, kubeconfig: Path) -> dict:
    """iptables mode (iptables-nft; no IPVS in this kernel); conntrack settings 0 so it writes no sysctls."""
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "hostnameOverride": NODE_NAME,
        "bindAddress": node.node_ip,
        "healthzBindAddress": "127.0.0.1:10256",
        "metricsBindAddress": "127.0.0.1:10249",
        "clusterCIDR": node.pod_cidr,
        "oomScoreAdj": 0,
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
            "udpTimeout": "0s",
            "udpStreamTimeout": "0s",
        },
        "nodePortAddresses": [f"{node.node_ip}/32"],
    }


def kubeconfig(server: str, ca_cert: Path, client_cert: Path, client_key: Path, *, user: str) -> dict:
    """A certificate kubeconfig for a node component; the relay address is not in the apiserver's
    certificate, so the name the certificate carries is checked instead."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "linq-devnet",
                "cluster": {
                    "server": server,
                    "certificate-authority": str(ca_cert),
                    "tls-server-name": "kubernetes.default.svc",
                },
            }
        ],
        "users": [{"name": user, "user": {"client-certificate": str(client_cert), "client-key": str(client_key)}}],
        "contexts": [{"name": "node", "context": {"cluster": "linq-devnet", "user": user}}],
        "current-context": "node",
    }


def corefile(node: NodeLayout, kubeconfig_path: Path) -> str:
    """Cluster DNS only: names of Services and pods; no upstream (the devnet is offline)."""
    return f"""{CLUSTER_DOMAIN}:53 in-addr.arpa:53 {{
    errors
    health 127.0.0.1:8080
    ready 127.0.0.1:8181
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa {{
        kubeconfig {kubeconfig_path}
        pods insecure
    }}
    cache 30
    loadbalance
}}
"""


def dns_service() -> dict:
    """kube-dns without a selector: CoreDNS runs on the node itself, its EndpointSlice is written by hand."""
    ports = [{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
        "spec": {"clusterIP": CLUSTER_DNS, "ports": ports},
    }


def dns_endpoints(node: NodeLayout) -> dict:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "kube-dns-node",
            "namespace": "kube-system",
            "labels": {"kubernetes.io/service-name": "kube-dns"},
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": [node.node_ip], "conditions": {"ready": True}, "nodeName": NODE_NAME}],
        "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53, "protocol": "TCP"}],
    }


def registry_config(node: NodeLayout) -> dict:
    """distribution: filesystem storage under the node's state, plain HTTP on the node address."""
    return {
        "version": 0.1,
        "log": {"level": "info", "accesslog": {"disabled": False}},
        "storage": {"filesystem": {"rootdirectory": str(node.path("registry"))}, "delete": {"enabled": True}},
        "http": {"addr": f"{node.node_ip}:{REGISTRY_PORT}"},
    }


def registry_hosts(node: NodeLayout) -> str:
    """containerd's hosts.toml for REGISTRY_HOST: plain HTTP to the node's registry."""
    server = f"http://{node.node_ip}:{REGISTRY_PORT}"
    return f'server = "{server}"\n\n[host."{server}"]\n  capabilities = ["pull", "resolve"]\n'
