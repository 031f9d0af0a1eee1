"""The devnet's Kubernetes control plane: etcd, kube-apiserver (token auth + RBAC), controller-manager,
scheduler, and kwok faking the kubelets of configurable nodes so pods really become Running.

What this proves and what it does not: API validation, admission (PodSecurity, LimitRange, ResourceQuota),
RBAC, server-side apply, controllers and scheduling are real. Containers on kwok nodes do not run; the real
node next to them (linq/devnet/node.py: kubelet, containerd, kube-proxy, NetworkPolicy) runs what is placed on it.

Pod logs: kwok plays the kubelet's HTTPS server (at 127.0.0.1, the nodes' InternalIP), so the API's real
`pods/log` path works; what it serves comes from kwok `Logs` / `ClusterLogs` objects (minimal CRDs below)
that point at CRI-format log files on this machine.
"""

from __future__ import annotations

import secrets
import ssl
import sys
import urllib.request
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

from linq.devnet import pki, process, provisioner
from linq.devnet.kubeapi import KubeAPI, KubeError
from linq.tools import versions
from linq.tools.locate import require

SERVICE_CIDR = "10.96.0.0/24"  # virtual: nothing is ever routed there (no kube-proxy)
POD_CIDR = "10.244.0.1/24"  # handed out by kwok to fake pods only
KWOK_ANNOTATION = "kwok.x-k8s.io/node"


class NodeSpec(BaseModel):
    """A fake node; allocatable figures are what the scheduler sees."""

    name: str = "lp-node-0"
    cpu_millis: int = Field(default=16_000, gt=0)
    memory_mib: int = Field(default=65_536, gt=0)
    pods: int = Field(default=110, gt=0)
    gpus: int = Field(default=0, ge=0)
    gpu_model: str = ""
    region: str = "local"


def _admin_token(state_dir: Path) -> str:
    path = state_dir / "secrets" / "admin-token"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    token = secrets.token_hex(24)
    path.write_text(token + "\n")
    return token


def write_kubeconfig(path: Path, server: str, ca_cert: Path, token: str) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "linq-devnet", "cluster": {"server": server, "certificate-authority": str(ca_cert)}}],
        "users": [{"name": "linq-admin", "user": {"token": token}}],
        "contexts": [{"name": "linq-devnet", "context": {"cluster": "linq-devnet", "user": "linq-admin"}}],
        "current-context": "linq-devnet",
    }
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def _https_ok(url: str, ca_cert: Path, token: str) -> bool:
    context = ssl.create_default_context(cafile=str(ca_cert))
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310 - loopback https URL we built
    with urllib.request.urlopen(request, context=context, timeout=3) as response:  # noqa: S310 - loopback
        return bool(response.status == 200)


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - loopback
        return bool(response.status == 200)


def start(
    state_dir: Path, log_dir: Path, nodes: list[NodeSpec], *, advertise_address: str = "127.0.0.1"
) -> tuple[list[process.ProcessRecord], Path]:
    """Start every part in order and wait for each to be healthy; returns the records and the kubeconfig.

    `advertise_address` is the `kubernetes` Service's endpoint: a real node's relay address, so its pods reach
    the API server (which itself listens on 127.0.0.1 only)."""
    kube_dir = state_dir / "kube"
    kube_dir.mkdir(parents=True, exist_ok=True)
    certs = pki.make_pki(kube_dir / "pki")
    # the apiserver's client certificate for kubelets (logs, exec): a real kubelet checks it
    certs["kubelet_client_cert"], certs["kubelet_client_key"] = pki.issue(
        certs,
        kube_dir / "pki",
        "apiserver-kubelet-client",
        common_name="kube-apiserver-kubelet-client",
        organizations=("system:masters",),
    )
    token = _admin_token(state_dir)
    tokens_csv = kube_dir / "pki" / "tokens.csv"
    tokens_csv.touch(mode=0o600)
    tokens_csv.write_text(f'{token},linq-admin,linq-admin,"system:masters"\n')
    records: list[process.ProcessRecord] = []
    try:
        records.append(_start_etcd(kube_dir, log_dir))
        etcd_url = f"http://127.0.0.1:{records[-1].ports['client']}"
        api = _start_apiserver(kube_dir, log_dir, certs, tokens_csv, etcd_url, advertise_address)
        records.append(api)
        server = f"https://127.0.0.1:{api.ports['https']}"
        process.wait_until(
            lambda: _https_ok(f"{server}/readyz", certs["ca_cert"], token),
            what="kube-apiserver /readyz",
            timeout=240,
            record=api,
        )
        kubeconfig = state_dir / "kubeconfig"
        write_kubeconfig(kubeconfig, server, certs["ca_cert"], token)
        records.append(_start_controller_manager(kubeconfig, log_dir, certs))
        records.append(_start_scheduler(kubeconfig, log_dir))
        _install_kwok_crds(kubeconfig)
        records.append(_start_kwok(kubeconfig, log_dir, certs))
        records.append(_start_provisioner(kubeconfig, log_dir))
        _create_nodes(kubeconfig, nodes)
        _install_crds(kubeconfig)
        _wait_ready(kubeconfig, records, [n.name for n in nodes])
    except BaseException:
        for record in reversed(records):
            process.stop(record)
        raise
    return records, kubeconfig


def certificates(state_dir: Path) -> dict[str, Path]:
    """The devnet CA and the control plane's keys (made by `start`)."""
    return pki.make_pki(state_dir / "kube" / "pki")


def _start_etcd(kube_dir: Path, log_dir: Path) -> process.ProcessRecord:
    client, peer = process.free_port(), process.free_port()
    argv = [
        str(require("etcd")),
        "--name",
        "linq-devnet",
        "--data-dir",
        str(kube_dir / "etcd"),
        "--listen-client-urls",
        f"http://127.0.0.1:{client}",
        "--advertise-client-urls",
        f"http://127.0.0.1:{client}",
        "--listen-peer-urls",
        f"http://127.0.0.1:{peer}",
        "--initial-advertise-peer-urls",
        f"http://127.0.0.1:{peer}",
        "--initial-cluster",
        f"linq-devnet=http://127.0.0.1:{peer}",
        "--unsafe-no-fsync",  # throwaway data: trade durability for speed
        "--quota-backend-bytes",
        str(2 * 1024**3),
        "--log-level",
        "warn",
    ]
    record = process.start("etcd", argv, log_dir, ports={"client": client, "peer": peer})
    process.wait_until(
        lambda: _http_ok(f"http://127.0.0.1:{client}/health"), what="etcd /health", timeout=120, record=record
    )
    return record


def _start_apiserver(
    kube_dir: Path, log_dir: Path, certs: dict[str, Path], tokens_csv: Path, etcd_url: str, advertise_address: str
) -> process.ProcessRecord:
    port = process.free_port()
    argv = [
        str(require("kube-apiserver")),
        "--etcd-servers",
        etcd_url,
        "--bind-address",
        "127.0.0.1",
        "--advertise-address",
        advertise_address,
        "--secure-port",
        str(port),
        "--tls-cert-file",
        str(certs["server_cert"]),
        "--tls-private-key-file",
        str(certs["server_key"]),
        "--client-ca-file",
        str(certs["ca_cert"]),
        "--token-auth-file",
        str(tokens_csv),
        "--authorization-mode",
        "Node,RBAC",
        "--enable-admission-plugins",
        # PodNodeSelector and PodTolerationRestriction: a provider places a tenant namespace's pods through
        # annotations on the namespace (linq.gateway.bundle.TenantPlacement), which tenants cannot change
        "NodeRestriction,PodNodeSelector,PodTolerationRestriction",
        "--service-cluster-ip-range",
        SERVICE_CIDR,
        "--service-account-issuer",
        "https://kubernetes.default.svc",
        "--service-account-key-file",
        str(certs["sa_pub"]),
        "--service-account-signing-key-file",
        str(certs["sa_key"]),
        "--allow-privileged=true",
        # pods/log, exec, port-forward go to the node's InternalIP (kwok's server), verified by our CA
        "--kubelet-preferred-address-types",
        "InternalIP",
        "--kubelet-certificate-authority",
        str(certs["ca_cert"]),
        "--kubelet-client-certificate",
        str(certs["kubelet_client_cert"]),
        "--kubelet-client-key",
        str(certs["kubelet_client_key"]),
        "--anonymous-auth=false",
        "--enable-priority-and-fairness=false",
        "--profiling=false",
        "--v",
        "1",
    ]
    return process.start("kube-apiserver", argv, log_dir, ports={"https": port})


def _start_controller_manager(kubeconfig: Path, log_dir: Path, certs: dict[str, Path]) -> process.ProcessRecord:
    argv = [
        str(require("kube-controller-manager")),
        "--kubeconfig",
        str(kubeconfig),
        "--authentication-kubeconfig",
        str(kubeconfig),
        "--authorization-kubeconfig",
        str(kubeconfig),
        "--service-account-private-key-file",
        str(certs["sa_key"]),
        "--root-ca-file",
        str(certs["ca_cert"]),
        "--leader-elect=false",
        "--bind-address",
        "127.0.0.1",
        "--secure-port",
        str(process.free_port()),
        "--controllers",
        "*,-nodeipam,-cloud-node-lifecycle",
        "--concurrent-namespace-syncs",
        "5",
        "--v",
        "1",
    ]
    return process.start("kube-controller-manager", argv, log_dir)


def _start_scheduler(kubeconfig: Path, log_dir: Path) -> process.ProcessRecord:
    argv = [
        str(require("kube-scheduler")),
        "--kubeconfig",
        str(kubeconfig),
        "--authentication-kubeconfig",
        str(kubeconfig),
        "--authorization-kubeconfig",
        str(kubeconfig),
        "--leader-elect=false",
        "--bind-address",
        "127.0.0.1",
        "--secure-port",
        str(process.free_port()),
        # A pod tried before the devnet provisioner (1 s polling) bound its claim waits in the unschedulable queue
        # for a wake-up the scheduler can miss; then it sat there the default 5 minutes (seen: a StatefulSet
        # Ready after 306 s instead of 1 s). Retry such pods within seconds.
        "--pod-max-in-unschedulable-pods-duration",
        "3s",
        "--v",
        "1",
    ]
    return process.start("kube-scheduler", argv, log_dir)


# kwok's pod log sources; schemas kept open (kwok validates what it reads).
KWOK_LOG_KINDS = (("Logs", "logs", "Namespaced"), ("ClusterLogs", "clusterlogs", "Cluster"))


def _kwok_crd(kind: str, plural: str, scope: str) -> dict:
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.kwok.x-k8s.io"},
        "spec": {
            "group": "kwok.x-k8s.io",
            "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": plural},
            "scope": scope,
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                    "subresources": {"status": {}},
                }
            ],
        },
    }


def _install_kwok_crds(kubeconfig: Path) -> None:
    api = KubeAPI.from_kubeconfig(kubeconfig)
    for kind, plural, scope in KWOK_LOG_KINDS:
        try:
            api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", _kwok_crd(kind, plural, scope))
        except KubeError as error:
            if error.status != 409:
                raise

    def established() -> bool:
        for _kind, plural, _scope in KWOK_LOG_KINDS:
            crd = api.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{plural}.kwok.x-k8s.io")
            if not any(c["type"] == "Established" and c["status"] == "True" for c in crd["status"]["conditions"]):
                return False
        return True

    process.wait_until(established, what="kwok Logs CRDs established", timeout=120)


def _start_kwok(kubeconfig: Path, log_dir: Path, certs: dict[str, Path]) -> process.ProcessRecord:
    port = process.free_port()
    argv = [
        str(require("kwok")),
        "--kubeconfig",
        str(kubeconfig),
        "--manage-all-nodes=false",
        "--manage-nodes-with-annotation-selector",
        f"{KWOK_ANNOTATION}=fake",
        "--manage-nodes-with-label-selector=",
        "--manage-single-node=",
        "--cidr",
        POD_CIDR,
        "--node-ip",
        "127.0.0.1",  # the kubelet address the apiserver dials for pods/log
        "--node-port",
        str(port),
        "--node-lease-duration-seconds",
        "40",
        "--server-address",
        f"127.0.0.1:{port}",
        "--tls-cert-file",
        str(certs["server_cert"]),  # SAN 127.0.0.1, signed by the devnet CA
        "--tls-private-key-file",
        str(certs["server_key"]),
        "--enable-crds",
        ",".join(kind for kind, _plural, _scope in KWOK_LOG_KINDS),
    ]
    return process.start("kwok", argv, log_dir, ports={"server": port})


def _install_crds(kubeconfig: Path) -> None:
    """CRDs of kinds the toolkit renders that a bare API server lacks (KubeVirt's VirtualMachine)."""
    from linq.catalog.vm import virtual_machine_crd

    api = KubeAPI.from_kubeconfig(kubeconfig)
    try:
        api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", virtual_machine_crd())
    except KubeError as error:
        if error.status != 409:
            raise


def _start_provisioner(kubeconfig: Path, log_dir: Path) -> process.ProcessRecord:
    api = KubeAPI.from_kubeconfig(kubeconfig)
    try:
        api.post("/apis/storage.k8s.io/v1/storageclasses", provisioner.storage_class())
    except KubeError as error:
        if error.status != 409:
            raise
    argv = [sys.executable, "-m", "linq.devnet.provisioner", str(kubeconfig)]
    return process.start("provisioner", argv, log_dir)


def node_manifest(node: NodeSpec) -> dict:
    capacity = {
        "cpu": f"{node.cpu_millis}m",
        "memory": f"{node.memory_mib}Mi",
        "pods": str(node.pods),
        "ephemeral-storage": "500Gi",
    }
    labels = {
        "kubernetes.io/hostname": node.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "type": "kwok",
        "topology.kubernetes.io/region": node.region,
    }
    if node.gpus:
        capacity["nvidia.com/gpu"] = str(node.gpus)
        labels["nvidia.com/gpu.product"] = node.gpu_model or "generic"
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": node.name, "annotations": {KWOK_ANNOTATION: "fake"}, "labels": labels},
        "spec": {},
        "status": {
            "capacity": capacity,
            "allocatable": capacity,
            "nodeInfo": {"kubeletVersion": f"v{versions.KUBERNETES}", "kubeProxyVersion": "fake"},
        },
    }


def _create_nodes(kubeconfig: Path, nodes: list[NodeSpec]) -> None:
    api = KubeAPI.from_kubeconfig(kubeconfig)
    for node in nodes:
        try:
            api.post("/api/v1/nodes", node_manifest(node))
        except KubeError as error:
            if error.status != 409:  # already there from a previous `up` with the same state dir
                raise


def _wait_ready(kubeconfig: Path, records: list[process.ProcessRecord], node_names: list[str]) -> None:
    api = KubeAPI.from_kubeconfig(kubeconfig)

    def nodes_ready() -> bool:
        for name in node_names:
            conditions = api.get(f"/api/v1/nodes/{name}")["status"].get("conditions", [])
            if not any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
                return False
        return True

    def default_service_account() -> bool:  # proves the controller-manager is working
        return api.get("/api/v1/namespaces/default/serviceaccounts/default") is not None

    by_name = {r.name: r for r in records}
    process.wait_until(nodes_ready, what="kwok nodes Ready", timeout=180, record=by_name["kwok"])
    process.wait_until(
        default_service_account,
        what="controller-manager (default ServiceAccount)",
        timeout=180,
        record=by_name["kube-controller-manager"],
    )
