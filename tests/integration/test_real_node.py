"""The devnet's real node: containers built offline really run, answer from the host, are confined by
NetworkPolicy and by memory limits, log their real stdout, and leave nothing behind when deleted.

Pods go to the real node only when they ask (toleration + nodeSelector); everything else stays on kwok.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import urllib.request
import uuid
from pathlib import Path

import pytest

from linq.devnet import Devnet, node
from linq.devnet.kubeapi import KubeAPI, KubeError
from linq.devnet.nodeconfig import NODE_NAME, REAL_NODE_LABEL, REAL_NODE_TOLERATION, REGISTRY_HOST
from linq.tools import locate
from tests.waiting import wait_for

pytestmark = pytest.mark.integration
LINQ = str(locate.PROJECT_ROOT / ".venv" / "bin" / "linq")
HTTPD = "localhost/linq-test/httpd:1"
HTTPD_CMD = "/bin/busybox sh -c 'echo serving $(cat /www/index.html); exec /bin/busybox httpd -f -v -p 8080 -h /www'"
# probes the target every second and says whether an HTTP answer came back (busybox nc, 2 s connect timeout)
PROBE_CMD = (
    "while true; do if printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 $TARGET 8080 | grep -q 200; "
    "then echo OPEN; else echo BLOCKED; fi; sleep 1; done"
)


@pytest.fixture(scope="module")
def real(devnet: Devnet, tmp_path_factory: pytest.TempPathFactory) -> KubeAPI:
    """The session devnet's real node, with the test image loaded by `linq image build`."""
    state = node.read_state(devnet.state_dir)
    assert state is not None, "the devnet started without a real node (root is needed; CI runs as root)"
    site = tmp_path_factory.mktemp("site")
    (site / "www").mkdir()
    (site / "www" / "index.html").write_text("hello from the real node\n")
    built = subprocess.run(
        [
            LINQ,
            "image",
            "build",
            str(site),
            "--tag",
            HTTPD,
            "--busybox",
            "--cmd",
            HTTPD_CMD,
            "--state-dir",
            str(devnet.state_dir),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    assert f"loaded {HTTPD}" in built.stdout
    return KubeAPI.from_kubeconfig(devnet.kubeconfig)


def _linq(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LINQ, *args], capture_output=True, text=True, timeout=120, check=False)


def _namespace(api: KubeAPI, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    api.post(
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"tenant": name}}},
    )
    return name


def _pod(
    api: KubeAPI,
    namespace: str,
    name: str,
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    memory: str = "64Mi",
    restart: str = "Always",
    labels: dict[str, str] | None = None,
    image: str = HTTPD,
) -> None:
    container = {
        "name": "main",
        "image": image,
        "imagePullPolicy": "Never" if image == HTTPD else "Always",
        "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
        "resources": {"limits": {"memory": memory, "cpu": "200m"}, "requests": {"memory": memory, "cpu": "50m"}},
    }
    if command:
        container["command"] = command
    api.post(
        f"/api/v1/namespaces/{namespace}/pods",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {"app": name}},
            "spec": {
                "containers": [container],
                "restartPolicy": restart,
                "terminationGracePeriodSeconds": 1,
                "nodeSelector": {REAL_NODE_LABEL: "true"},
                "tolerations": [REAL_NODE_TOLERATION],
            },
        },
    )


def _get(api: KubeAPI, namespace: str, name: str) -> dict:
    return api.get(f"/api/v1/namespaces/{namespace}/pods/{name}")


def _running_ip(api: KubeAPI, namespace: str, name: str) -> str:
    def check() -> str | None:
        pod = _get(api, namespace, name)
        return pod["status"].get("podIP") if pod["status"].get("phase") == "Running" else None

    return wait_for(check, what=f"pod {namespace}/{name} Running on the real node", timeout=180)


def _log(api: KubeAPI, namespace: str, name: str) -> str:
    """pods/log is plain text: the API server proxies it from the real kubelet."""
    context = ssl.create_default_context(cafile=api.ca_file)
    request = urllib.request.Request(  # noqa: S310 - the devnet's API server
        f"{api.server}/api/v1/namespaces/{namespace}/pods/{name}/log", headers={"Authorization": f"Bearer {api.token}"}
    )
    with urllib.request.urlopen(request, context=context, timeout=30) as response:  # noqa: S310
        return str(response.read().decode())


def test_status_says_which_nodes_are_real(devnet: Devnet, real: KubeAPI) -> None:
    rows = {row["part"]: row for row in devnet.status()}
    assert rows[f"node {NODE_NAME}"]["state"] == "healthy"
    assert rows[f"node {NODE_NAME}"]["where"].startswith("real node")
    assert rows["node lp-node-0"]["where"].startswith("kwok node")
    for part in (
        "node-containerd",
        "node-kubelet",
        "node-kube-proxy",
        "node-kube-network-policies",
        "node-coredns",
        "node-registry",
    ):
        assert rows[part]["state"] == "healthy", rows[part]
    taints = real.get(f"/api/v1/nodes/{NODE_NAME}")["spec"].get("taints", [])
    assert any(t["key"] == REAL_NODE_LABEL for t in taints)


def test_custom_image_answers_from_the_host_and_logs_its_stdout(devnet: Devnet, real: KubeAPI) -> None:
    ns = _namespace(real, "web")
    _pod(real, ns, "web", [])
    ip = _running_ip(real, ns, "web")
    body = wait_for(
        lambda: urllib.request.urlopen(f"http://{ip}:8080/", timeout=5).read().decode(),
        what="the pod answering from the host",
        timeout=60,
    )
    assert body == "hello from the real node\n"
    # through a Service: kube-proxy's NodePort on the node's address
    service = real.post(
        f"/api/v1/namespaces/{ns}/services",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
    )
    node_port = service["spec"]["ports"][0]["nodePort"]
    address = node.read_state(devnet.state_dir).layout(devnet.state_dir).node_ip  # type: ignore[union-attr]
    via_service = wait_for(
        lambda: urllib.request.urlopen(f"http://{address}:{node_port}/", timeout=5).read().decode(),
        what="the NodePort answering",
        timeout=60,
    )
    assert via_service == body
    # the container's real stdout, through the API server and the kubelet (client certificate)
    assert "serving hello from the real node" in wait_for(lambda: _log(real, ns, "web"), what="pod log")
    # `linq logs` reads the same real stream (and the request we made above, which busybox httpd logs with -v)
    logs = _linq("logs", "--namespace", ns, "--devnet-dir", str(devnet.state_dir), "--grep", "serving", "--json")
    assert logs.returncode == 0, logs.stderr
    assert [json.loads(line)["text"] for line in logs.stdout.splitlines()] == ["serving hello from the real node"]
    real.delete(f"/api/v1/namespaces/{ns}")


def test_network_policy_drops_other_tenants_and_passes_allowed_traffic(real: KubeAPI) -> None:
    tenant_a, tenant_b = _namespace(real, "tenant-a"), _namespace(real, "tenant-b")
    _pod(real, tenant_b, "server", [])
    server_ip = _running_ip(real, tenant_b, "server")
    real.post(
        f"/apis/networking.k8s.io/v1/namespaces/{tenant_b}/networkpolicies",
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "same-tenant-only"},
            "spec": {
                "podSelector": {},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"tenant": tenant_b}}}]}],
            },
        },
    )
    for namespace in (tenant_a, tenant_b):
        _pod(real, namespace, "probe", ["/bin/busybox", "sh", "-c", PROBE_CMD], env={"TARGET": server_ip})
        _running_ip(real, namespace, "probe")

    def verdicts(namespace: str) -> list[str]:
        return [line for line in _log(real, namespace, "probe").split() if line in ("OPEN", "BLOCKED")]

    # tenant B's own pod gets through, tenant A's is dropped (several probes in a row, not one lucky one)
    wait_for(lambda: verdicts(tenant_b)[-3:] == ["OPEN"] * 3, what="tenant B reaching its server", timeout=90)
    wait_for(lambda: verdicts(tenant_a)[-3:] == ["BLOCKED"] * 3, what="tenant A blocked", timeout=90)
    # the policy, not the network, blocked it: without the policy tenant A gets through
    real.delete(f"/apis/networking.k8s.io/v1/namespaces/{tenant_b}/networkpolicies/same-tenant-only")
    wait_for(
        lambda: verdicts(tenant_a)[-3:] == ["OPEN"] * 3, what="tenant A through once the policy is gone", timeout=90
    )
    for namespace in (tenant_a, tenant_b):
        real.delete(f"/api/v1/namespaces/{namespace}")


def test_image_pushed_to_the_registry_is_pulled_by_name(devnet: Devnet, real: KubeAPI, tmp_path: Path) -> None:
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "index.html").write_text("pulled from the devnet registry\n")
    ref = f"{REGISTRY_HOST}/linq-test/site:{uuid.uuid4().hex[:6]}"
    pushed = subprocess.run(
        [
            LINQ,
            "image",
            "build",
            str(tmp_path),
            "--tag",
            ref,
            "--busybox",
            "--push",
            "--cmd",
            HTTPD_CMD,
            "--state-dir",
            str(devnet.state_dir),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert pushed.returncode == 0, pushed.stderr
    ns = _namespace(real, "pull")
    _pod(real, ns, "site", [], image=ref)  # imagePullPolicy Always: containerd pulls it from the registry
    ip = _running_ip(real, ns, "site")
    body = wait_for(
        lambda: urllib.request.urlopen(f"http://{ip}:8080/", timeout=5).read().decode(),
        what="the pulled image answering",
        timeout=60,
    )
    assert body == "pulled from the devnet registry\n"
    events = real.get(f"/api/v1/namespaces/{ns}/events")["items"]
    assert any(e["reason"] == "Pulled" and ref in e["message"] for e in events), [e["message"] for e in events]
    real.delete(f"/api/v1/namespaces/{ns}")


def test_cluster_dns_answers_service_names(real: KubeAPI) -> None:
    ns = _namespace(real, "dns")
    lookup = "until nslookup kubernetes.default.svc.cluster.local; do sleep 1; done; sleep 3600"
    _pod(real, ns, "lookup", ["/bin/busybox", "sh", "-c", lookup])
    _running_ip(real, ns, "lookup")
    answer = wait_for(lambda: "Address: 10.96.0.1" in _log(real, ns, "lookup"), what="CoreDNS answering", timeout=90)
    assert answer
    real.delete(f"/api/v1/namespaces/{ns}")


def test_memory_hog_is_oom_killed_and_a_crasher_is_reported(devnet: Devnet, real: KubeAPI) -> None:
    ns = _namespace(real, "limits")
    _pod(
        real,
        ns,
        "hog",
        ["/bin/busybox", "sh", "-c", "echo eating; /bin/busybox tail /dev/zero"],
        memory="32Mi",
        restart="Never",
    )
    _pod(real, ns, "crasher", ["/bin/busybox", "sh", "-c", "echo boom; exit 3"])

    def terminated(name: str, field: str) -> dict | None:
        statuses = _get(real, ns, name)["status"].get("containerStatuses") or [{}]
        state = statuses[0].get(field, {})
        return state.get("terminated")

    hog = wait_for(lambda: terminated("hog", "state"), what="the memory hog terminated", timeout=180)
    assert hog["reason"] == "OOMKilled", hog
    assert hog["exitCode"] == 137
    crash = wait_for(lambda: terminated("crasher", "lastState"), what="the crasher's last exit", timeout=180)
    assert crash["exitCode"] == 3

    def issues() -> dict[str, dict] | None:  # `linq issues` from the real container statuses
        out = _linq("issues", "--namespace", ns, "--devnet-dir", str(devnet.state_dir), "--json")
        found = {issue["kind"]: issue for issue in json.loads(out.stdout)["issues"]}
        return found if {"oom-killed", "crash-loop"} <= set(found) else None

    found = wait_for(issues, what="linq issues reporting the OOM kill and the crash loop", timeout=180)
    assert "pod/hog" in found["oom-killed"]["subject"] and "32Mi" in found["oom-killed"]["summary"]
    assert "exit code 3" in found["crash-loop"]["summary"]
    real.delete(f"/api/v1/namespaces/{ns}")


def test_namespace_deletion_leaves_nothing_on_the_node(devnet: Devnet, real: KubeAPI) -> None:
    layout = node.read_state(devnet.state_dir).layout(devnet.state_dir)  # type: ignore[union-attr]
    ns = _namespace(real, "gone")
    _pod(real, ns, "web", [])
    _running_ip(real, ns, "web")
    uid = _get(real, ns, "web")["metadata"]["uid"]

    def pod_traces() -> list[str]:
        found = [str(p) for p in Path("/sys/fs/cgroup/memory", layout.cgroup_root.lstrip("/")).rglob(f"pod{uid}")]
        found += [str(p) for p in layout.pod_logs.glob(f"{ns}_*")]
        found += [str(p) for p in Path("/var/log/containers").glob(f"*_{ns}_*")]
        found += [m for m in Path("/proc/self/mountinfo").read_text().split() if uid in m]
        return found

    assert pod_traces(), "the running pod should have a cgroup, logs and mounts"
    real.delete(f"/api/v1/namespaces/{ns}")

    def gone() -> bool:
        try:
            real.get(f"/api/v1/namespaces/{ns}")
        except KubeError as error:
            return error.status == 404
        return False

    wait_for(gone, what="the namespace deleted", timeout=180)
    wait_for(lambda: not pod_traces(), what="no trace of the pod on the node", timeout=120)
