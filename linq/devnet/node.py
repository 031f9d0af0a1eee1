"""The devnet's real node: containerd, kubelet, kube-proxy and an enforcing NetworkPolicy controller, next to
the kwok nodes, with workloads that really run.

The node lives in its own network namespace (`linq-node-<slot>`), joined to the host by one veth pair; its
pods sit on a bridge inside it. Its processes and every container run under one cgroup, `/linq-node-<slot>`,
in each hierarchy. So `cleanup` can prove nothing is left: it kills what is in that cgroup, unmounts what is
under the node's state directory, deletes the namespace (taking the bridge, the veths, the routes and every
nft/iptables rule with it) and removes the cgroups, then restores the sysctls the kubelet changes.

Lifecycle: `allocate` (before the control plane: the apiserver advertises the node's relay address) ->
`start` -> ... -> `drain` (pods deleted through the API while the kubelet runs) -> processes stopped ->
`cleanup`. `leftovers` lists anything of the node that still exists (a test asserts it is empty).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from linq.devnet import images, netns, pki, process
from linq.devnet.kubeapi import KubeAPI, KubeError
from linq.devnet.nodeconfig import (
    NODE_NAME,
    REAL_NODE_LABEL,
    REGISTRY_HOST,
    REGISTRY_PORT,
    NodeLayout,
    cni_conflist,
    containerd_config,
    corefile,
    dns_endpoints,
    dns_service,
    kube_proxy_config,
    kubeconfig,
    kubelet_config,
    registry_config,
    registry_hosts,
)
from linq.tools.locate import require

STATE_FILE = "node.json"
MAX_SLOTS = 200
# sysctls the kubelet sets at start (protectKernelDefaults off): restored at cleanup
KUBELET_SYSCTLS = (
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
)
# paths the kubelet and containerd's shims use whatever their configuration (created if missing, removed again
# if we created them and no other node uses them)
FIXED_HOST_DIRS = (Path("/var/lib/kubelet/device-plugins"), Path("/var/log/containers"), Path("/run/containerd/s"))
KUBELET_DEVICE_SOCKET = Path("/var/lib/kubelet/device-plugins/kubelet.sock")
KNP_RBAC_NAME = "linq:kube-network-policies"
COREDNS_RBAC_NAME = "linq:coredns"
READ = ["get", "list", "watch"]
GRANTS = {
    KNP_RBAC_NAME: [
        {"apiGroups": [""], "resources": ["pods", "namespaces", "nodes"], "verbs": READ},
        {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": READ},
    ],
    COREDNS_RBAC_NAME: [
        {"apiGroups": [""], "resources": ["services", "pods", "namespaces"], "verbs": READ},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": READ},
    ],
}


class NodeError(RuntimeError):
    pass


@dataclass
class NodeState:
    """What `cleanup` needs, written before anything is created."""

    slot: int
    api_port: int = 0
    sysctls: dict[str, str] = field(default_factory=dict)
    created_dirs: list[str] = field(default_factory=list)

    def layout(self, devnet_state: Path) -> NodeLayout:
        return NodeLayout(devnet_state / "node", self.slot, self.api_port)


def _state_path(devnet_state: Path) -> Path:
    return devnet_state / "node" / STATE_FILE


def read_state(devnet_state: Path) -> NodeState | None:
    path = _state_path(devnet_state)
    return NodeState(**json.loads(path.read_text())) if path.exists() else None


def _write_state(devnet_state: Path, state: NodeState) -> None:
    path = _state_path(devnet_state)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(state), indent=2) + "\n")


def _run(argv: list[str], *, check: bool = True, netns_name: str | None = None) -> subprocess.CompletedProcess[str]:
    if netns_name:
        argv = ["ip", "netns", "exec", netns_name, *argv]
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    if check and completed.returncode != 0:
        raise NodeError(f"{' '.join(argv)} failed: {completed.stderr.strip() or completed.stdout.strip()}")
    return completed


def available() -> str:
    """Why a real node cannot run here, or '' if it can."""
    if os.geteuid() != 0:
        return "a real node needs root (network namespaces, cgroups, mounts)"
    if not netns.CGROUP_FS.is_dir():
        return "no cgroup filesystem at /sys/fs/cgroup"
    return ""


# A unix socket's path holds at most 107 bytes; the node's deepest ones live under its state directory.
MAX_SOCKET_PATH = 107
DEEPEST_SOCKETS = (("run", "containerd-ttrpc.sock"), ("kubelet", "pod-resources", "kubelet.sock"))


def check_state_dir(devnet_state: Path) -> None:
    """Refuse a devnet directory whose path leaves the node's sockets too long (they would fail to bind)."""
    deepest = max(((Path(devnet_state).resolve() / "node").joinpath(*p).as_posix() for p in DEEPEST_SOCKETS), key=len)
    if len(deepest.encode()) > MAX_SOCKET_PATH:
        raise NodeError(
            f"--state-dir {devnet_state}: its path is too long for the real node's unix sockets ({deepest} is "
            f"{len(deepest.encode())} bytes, at most {MAX_SOCKET_PATH}); use a shorter directory, e.g. "
            ".linq/devnet (the default), or --no-real-node"
        )


def allocate(devnet_state: Path) -> NodeState:
    """Claim a free slot: creating its network namespace is the lock (`ip netns add` fails if it exists)."""
    check_state_dir(devnet_state)
    for slot in range(1, MAX_SLOTS + 1):
        name = f"linq-node-{slot}"
        if netns.netns_path(name).exists():
            continue
        if _run(["ip", "netns", "add", name], check=False).returncode == 0:
            state = NodeState(slot=slot)
            _write_state(devnet_state, state)
            return state
    raise NodeError(f"no free real-node slot (linq-node-1..{MAX_SLOTS} all exist); `ip netns list` shows them")


# ---- start ----------------------------------------------------------------------------------------------
def start(
    devnet_state: Path, log_dir: Path, state: NodeState, api_port: int, certs: dict[str, Path], admin: Path
) -> list[process.ProcessRecord]:
    """Bring the node up and wait until it is Ready; returns its processes (the caller stops them)."""
    state.api_port = api_port
    state.sysctls = {key: Path("/proc/sys", key).read_text().strip() for key in KUBELET_SYSCTLS}
    for directory in FIXED_HOST_DIRS:
        missing = [p for p in (directory, *directory.parents) if not p.exists()]
        directory.mkdir(parents=True, exist_ok=True)
        state.created_dirs.extend(str(p) for p in reversed(missing) if str(p) not in state.created_dirs)
    _write_state(devnet_state, state)
    node = state.layout(devnet_state)
    for sub in ("run", "cni", "containerd", "pod-logs", "kubelet", "certs.d", "pki", "images", "registry"):
        node.path(sub).mkdir(parents=True, exist_ok=True)
    _network(node)
    netns.make_cgroup(node.cgroup_root)
    files = _write_files(node, certs)
    api = KubeAPI.from_kubeconfig(admin)
    for user, rules in GRANTS.items():
        _grant(api, user, rules)
    _create(api, "/api/v1/namespaces/kube-system/services", dns_service())
    _create(api, "/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices", dns_endpoints(node))
    records: list[process.ProcessRecord] = []
    try:
        records.append(_start_relay(node, log_dir))
        records.append(
            _start_in_node(
                node, "containerd", [str(require("containerd")), "--config", str(files["containerd"])], log_dir
            )
        )
        process.wait_until(node.containerd_socket.exists, what="containerd socket", timeout=60, record=records[-1])
        _import_pause(node)
        records.append(
            _start_in_node(
                node,
                "kubelet",
                [
                    str(require("kubelet")),
                    "--config",
                    str(files["kubelet"]),
                    "--kubeconfig",
                    str(files["kubelet-kubeconfig"]),
                    "--root-dir",
                    str(node.kubelet_root),
                    "--hostname-override",
                    NODE_NAME,
                    "--node-ip",
                    node.node_ip,
                    "--node-labels",
                    f"{REAL_NODE_LABEL}=true,type=real",
                    # cAdvisor's own containerd client (per-container series at /metrics/cadvisor): its default
                    # is the host's /run/containerd socket, which is not this node's containerd
                    "--containerd",
                    str(node.containerd_socket),
                    "--v",
                    "1",
                ],
                log_dir,
            )
        )
        records.append(
            _start_in_node(
                node,
                "kube-proxy",
                [str(require("kube-proxy")), "--config", str(files["kube-proxy"]), "--v", "1"],
                log_dir,
            )
        )
        records.append(
            _start_in_node(
                node,
                "kube-network-policies",
                [
                    str(require("kube-network-policies")),
                    "--hostname-override",
                    NODE_NAME,
                    "--disable-nri",
                    "--metrics-bind-address",
                    "127.0.0.1:9080",
                    "--v",
                    "1",
                ],
                log_dir,
                env={"KUBECONFIG": str(files["knp-kubeconfig"])},
            )
        )
        records.append(
            _start_in_node(node, "coredns", [str(require("coredns")), "-conf", str(files["corefile"])], log_dir)
        )
        records.append(
            _start_in_node(
                node,
                "registry",
                [str(require("registry")), "serve", str(files["registry"])],
                log_dir,
                env={"OTEL_TRACES_EXPORTER": "none"},
            )
        )
        process.wait_until(lambda: _ready(api), what=f"real node {NODE_NAME} Ready", timeout=240, record=records[2])
    except BaseException:
        for record in reversed(records):
            process.stop(record)
        raise
    return records


def _network(node: NodeLayout) -> None:
    ns, veth = node.netns, node.host_veth
    _run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns])
    _run(["ip", "addr", "add", f"{node.host_ip}/30", "dev", veth])
    _run(["ip", "link", "set", veth, "up"])
    for argv in (
        ["ip", "addr", "add", f"{node.node_ip}/30", "dev", "eth0"],
        ["ip", "link", "set", "lo", "up"],
        ["ip", "link", "set", "eth0", "up"],
        ["sysctl", "-qw", "net.ipv4.ip_forward=1"],
        ["sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1"],
    ):
        _run(argv, netns_name=ns)  # namespaced sysctls: the host's are untouched
    # the host reaches pods through the node (the route goes away with the veth)
    _run(["ip", "route", "add", node.pod_cidr, "via", node.node_ip, "dev", veth])


def _write_files(node: NodeLayout, certs: dict[str, Path]) -> dict[str, Path]:
    pki_dir = node.path("pki")
    server = f"https://{node.node_ip}:{node.api_port}"
    files: dict[str, Path] = {}

    def component(name: str, user: str, orgs: tuple[str, ...] = ()) -> None:
        cert, key = pki.issue(certs, pki_dir, name, common_name=user, organizations=orgs)
        path = node.path(f"{name}.kubeconfig")
        path.touch(mode=0o600)
        path.write_text(yaml.safe_dump(kubeconfig(server, certs["ca_cert"], cert, key, user=user), sort_keys=False))
        files[f"{name}-kubeconfig"] = path

    component("kubelet", f"system:node:{NODE_NAME}", ("system:nodes",))
    component("kube-proxy", "system:kube-proxy")
    component("knp", KNP_RBAC_NAME)
    component("coredns", COREDNS_RBAC_NAME)
    files["corefile"] = node.path("Corefile")
    files["corefile"].write_text(corefile(node, files["coredns-kubeconfig"]))
    files["registry"] = node.path("registry.yaml")
    files["registry"].write_text(yaml.safe_dump(registry_config(node)))
    hosts = node.path("certs.d", REGISTRY_HOST, "hosts.toml")
    hosts.parent.mkdir(parents=True, exist_ok=True)
    hosts.write_text(registry_hosts(node))
    serving_cert, serving_key = pki.issue(
        certs, pki_dir, "kubelet-serving", common_name=NODE_NAME, ips=(node.node_ip,), dns=(NODE_NAME,), server=True
    )
    files["containerd"] = node.path("containerd.toml")
    files["containerd"].write_text(containerd_config(node))
    node.path("cni", "10-linq.conflist").write_text(json.dumps(cni_conflist(node), indent=2))
    node.path("resolv.conf").write_text("# the devnet is offline: no upstream DNS; pods use the cluster DNS\n")
    files["kubelet"] = node.path("kubelet.yaml")
    files["kubelet"].write_text(yaml.safe_dump(kubelet_config(node, certs["ca_cert"], serving_cert, serving_key)))
    files["kube-proxy"] = node.path("kube-proxy.yaml")
    files["kube-proxy"].write_text(yaml.safe_dump(kube_proxy_config(node, files["kube-proxy-kubeconfig"])))
    return files


def _create(api: KubeAPI, path: str, body: dict) -> None:
    try:
        api.post(path, body)
    except KubeError as error:
        if error.status != 409:  # already there from a previous `up` of this state dir
            raise


def _grant(api: KubeAPI, user: str, rules: list[dict]) -> None:
    """A ClusterRole with `rules` bound to the certificate user `user`."""
    group = "rbac.authorization.k8s.io"
    _create(
        api,
        f"/apis/{group}/v1/clusterroles",
        {"apiVersion": f"{group}/v1", "kind": "ClusterRole", "metadata": {"name": user}, "rules": rules},
    )
    _create(
        api,
        f"/apis/{group}/v1/clusterrolebindings",
        {
            "apiVersion": f"{group}/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": user},
            "roleRef": {"apiGroup": group, "kind": "ClusterRole", "name": user},
            "subjects": [{"apiGroup": group, "kind": "User", "name": user}],
        },
    )


def _start_relay(node: NodeLayout, log_dir: Path) -> process.ProcessRecord:
    argv = netns.command("relay", node.netns, node.node_ip, str(node.api_port), str(node.api_port))
    return process.start("node-apiserver-relay", argv, log_dir)


def _start_in_node(
    node: NodeLayout, name: str, argv: list[str], log_dir: Path, env: dict[str, str] | None = None
) -> process.ProcessRecord:
    launcher = netns.command("exec", node.netns, node.cgroup_root, "--", *argv)
    environment = dict(os.environ, **(env or {}))
    environment["PATH"] = os.pathsep.join(
        [str(require("containerd").parent), environment.get("PATH", ""), "/usr/sbin:/sbin"]
    )
    return process.start(f"node-{name}", launcher, log_dir, env=environment)


def _import_pause(node: NodeLayout) -> None:
    archive = node.path("images", "pause.tar")
    rootfs = images.pause_rootfs(node.path("images", "pause-rootfs"))
    from linq.devnet.nodeconfig import PAUSE_IMAGE

    images.build_archive(rootfs, images.ImageSpec(ref=PAUSE_IMAGE, cmd=[], entrypoint=["/pause"]), archive)
    images.import_archive(archive, node.containerd_socket)


def _ready(api: KubeAPI) -> bool:
    conditions = api.get(f"/api/v1/nodes/{NODE_NAME}")["status"].get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


# ---- stop -----------------------------------------------------------------------------------------------
def drain(devnet_state: Path, admin: Path, *, timeout: float = 60) -> None:
    """Delete every pod on the node through the API while the kubelet still runs, and wait until containerd
    runs no task: the kubelet stops containers and sandboxes the normal way (CNI teardown included)."""
    state = read_state(devnet_state)
    if state is None or not state.api_port:
        return
    node = state.layout(devnet_state)
    if not node.containerd_socket.exists():
        return
    api = KubeAPI.from_kubeconfig(admin)
    with contextlib.suppress(Exception):
        pods = api.get(f"/api/v1/pods?fieldSelector=spec.nodeName%3D{NODE_NAME}")["items"]
        for pod in pods:
            meta = pod["metadata"]
            with contextlib.suppress(KubeError):
                api.request(
                    "DELETE",
                    f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}",
                    {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0},
                )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _running_tasks(node):
        time.sleep(0.5)


def _running_tasks(node: NodeLayout) -> list[str]:
    out = subprocess.run(
        [str(require("ctr")), "--address", str(node.containerd_socket), "-n", "k8s.io", "tasks", "ls", "-q"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return out.stdout.split() if out.returncode == 0 else []


def cleanup(devnet_state: Path) -> list[str]:
    """Remove everything the node created (after its processes were stopped); returns what it had to remove."""
    state = read_state(devnet_state)
    if state is None:
        return []
    node = state.layout(devnet_state)
    removed: list[str] = []
    killed = _kill_cgroup(node.cgroup_root)
    if killed:
        removed.append(f"{killed} processes in {node.cgroup_root}")
    for mount in sorted(_mounts_under(node.state_dir), key=len, reverse=True):
        if _run(["umount", "-l", mount], check=False).returncode == 0:
            removed.append(f"mount {mount}")
    if netns.netns_path(node.netns).exists():
        _run(["ip", "netns", "del", node.netns], check=False)
        removed.append(f"netns {node.netns}")
    if Path(f"/sys/class/net/{node.host_veth}").exists():
        _run(["ip", "link", "del", node.host_veth], check=False)
        removed.append(f"veth {node.host_veth}")
    removed += _remove_cgroups(node.cgroup_root)
    for key, value in state.sysctls.items():
        current = Path("/proc/sys", key)
        if current.read_text().strip() != value:
            current.write_text(value)
            removed.append(f"sysctl {key} restored to {value}")
    logs = Path("/var/log/containers")
    if logs.is_dir():
        for link in logs.iterdir():
            if link.is_symlink() and str(os.readlink(link)).startswith(str(node.pod_logs)):
                link.unlink()
    _remove_stale_socket(KUBELET_DEVICE_SOCKET)
    for directory in reversed(state.created_dirs):
        with contextlib.suppress(OSError):  # not empty, or a mount point of another devnet's node
            Path(directory).rmdir()
    _path = _state_path(devnet_state)
    _path.unlink()
    return removed


def _remove_stale_socket(path: Path) -> None:
    """The kubelet's device-plugin socket outlives it; remove it unless another node's kubelet listens there."""
    if not path.is_socket():
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink(missing_ok=True)


def _cgroup_dirs(root: str) -> list[Path]:
    dirs: list[Path] = []
    for hierarchy in [*netns.cgroup_hierarchies(), netns.CGROUP_FS / "unified"]:
        top = hierarchy / root.lstrip("/")
        if top.is_dir():
            dirs += [top, *(p for p in top.rglob("*") if p.is_dir())]
    return dirs


def _cgroup_pids(root: str) -> set[int]:
    pids: set[int] = set()
    for directory in _cgroup_dirs(root):
        with contextlib.suppress(OSError):
            pids |= {int(p) for p in (directory / "cgroup.procs").read_text().split()}
    return pids


def _kill_cgroup(root: str) -> int:
    killed: set[int] = set()
    for _ in range(50):
        pids = _cgroup_pids(root)
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        killed |= pids
        time.sleep(0.1)
    return len(killed)


def _remove_cgroups(root: str) -> list[str]:
    dirs = _cgroup_dirs(root)
    for directory in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            directory.rmdir()
    return [f"cgroup {d}" for d in dirs if d.exists()]


def _mounts_under(directory: Path) -> list[str]:
    prefix = str(directory.resolve())
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            mounts.append(point)
    return mounts


def leftovers(devnet_state: Path, slot: int) -> list[str]:
    """Anything of node `slot` that still exists on this machine (empty after a clean `down`)."""
    node = NodeLayout(devnet_state / "node", slot, 0)
    found = [f"process {pid}" for pid in _cgroup_pids(node.cgroup_root)]
    found += [f"cgroup {d}" for d in _cgroup_dirs(node.cgroup_root)]
    found += [f"mount {m}" for m in _mounts_under(node.state_dir)]
    if netns.netns_path(node.netns).exists():
        found.append(f"netns {node.netns}")
    if Path(f"/sys/class/net/{node.host_veth}").exists():
        found.append(f"veth {node.host_veth}")
    routes = _run(["ip", "route", "show", node.pod_cidr], check=False).stdout.strip()
    if routes:
        found.append(f"route {routes}")
    return found


# ---- status ---------------------------------------------------------------------------------------------
def node_rows(admin: Path) -> list[dict[str, str]]:
    """One status row per Kubernetes node: real or kwok, Ready or not."""
    api = KubeAPI.from_kubeconfig(admin)
    rows = []
    for item in api.get("/api/v1/nodes")["items"]:
        labels = item["metadata"].get("labels", {})
        kind = "real" if labels.get(REAL_NODE_LABEL) == "true" else "kwok"
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in item["status"].get("conditions", []))
        info = item["status"].get("nodeInfo", {})
        address = next((a["address"] for a in item["status"].get("addresses", []) if a["type"] == "InternalIP"), "-")
        where = f"{kind} node, {address}"
        if kind == "real":
            where += f", kubelet {info.get('kubeletVersion')}, {info.get('containerRuntimeVersion')}"
        rows.append(
            {
                "part": f"node {item['metadata']['name']}",
                "state": "healthy" if ready else "down",
                "pid": "-",
                "where": where,
                "log": "-",
            }
        )
    return rows


def containerd_socket(devnet_state: Path) -> Path:
    """The running real node's containerd socket (for `linq image build --load`)."""
    state = read_state(devnet_state)
    if state is None:
        raise NodeError(f"no real node in the devnet at {devnet_state}; `linq devnet up` starts one")
    return state.layout(devnet_state).containerd_socket


def registry_address(devnet_state: Path) -> str:
    """host:port of the running real node's image registry (reachable from the host through the veth)."""
    state = read_state(devnet_state)
    if state is None:
        raise NodeError(f"no real node in the devnet at {devnet_state}; `linq devnet up` starts one")
    return f"{state.layout(devnet_state).node_ip}:{REGISTRY_PORT}"
