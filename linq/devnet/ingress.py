"""The devnet's ingress for tenant endpoints on the real node (docs/real-node.md, "Endpoints").

The LPStack serves an app at `https://<workload>-<namespace>.<public domain>` through its ingress, whose
namespace (`linq-ingress`) is the only one tenant NetworkPolicies admit. The devnet does the same offline:

- a pod in `linq-ingress` on the real node runs our ingress (`linq/tools/go/ingress`: a TLS reverse proxy,
  standard library only) and routes by host name to the tenant Service's endpoint port;
- its certificate, for `*.apps.localhost`, is signed by the devnet CA (curl takes no wildcard directly under a
  top-level name, hence the `apps.` level);
- a NodePort Service (INGRESS_NODE_PORT on the node address) and a host relay (127.0.0.1:PORT -> that NodePort)
  make it reachable from the host: `*.localhost` names resolve to the loopback in curl and browsers, so the
  public domain is `apps.localhost:PORT` and an endpoint reads `https://web-lq-e-….apps.localhost:PORT/`.
"""

from __future__ import annotations

import http.client
import shutil
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from linq.devnet import images, kube, netns, node, pki, process
from linq.devnet.kubeapi import KubeAPI, KubeError
from linq.devnet.nodeconfig import REAL_NODE_LABEL, REAL_NODE_TOLERATION
from linq.tools import locate, versions

NAMESPACE = "linq-ingress"  # RenderOptions.ingress_namespace and lpstack's namespaces.ingress
NAME = "linq-ingress"
IMAGE = f"localhost/linq/ingress:{versions.INGRESS}"
PORT = 8443  # the ingress pod's HTTPS port
INGRESS_NODE_PORT = 30443  # one node per devnet: a fixed NodePort collides with nothing
DOMAIN = "apps.localhost"  # + ":PORT" of the host relay
RELAY = "ingress-relay"  # the host relay's process name in devnet.json
START_TIMEOUT = 180.0


def _apply(api: KubeAPI, path: str, body: dict) -> None:
    try:
        api.post(path, body)
    except KubeError as error:
        if error.status != 409:  # 409: exists already (a provider's LPStack makes the namespace too)
            raise


def objects(tls_cert: str, tls_key: str) -> list[tuple[str, dict]]:
    """(collection path, object) of the ingress, in apply order."""
    meta = {"namespace": NAMESPACE, "labels": {"app": NAME}}
    return [
        ("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}),
        (
            f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts",
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": NAME, **meta}},
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": NAME},
                "rules": [{"apiGroups": [""], "resources": ["services"], "verbs": ["get"]}],
            },
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": NAME},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME},
                "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
            },
        ),
        (
            f"/api/v1/namespaces/{NAMESPACE}/secrets",
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": f"{NAME}-tls", **meta},
                "type": "kubernetes.io/tls",
                "stringData": {"tls.crt": tls_cert, "tls.key": tls_key},
            },
        ),
        (
            f"/api/v1/namespaces/{NAMESPACE}/services",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": NAME, **meta},
                "spec": {
                    "type": "NodePort",
                    "selector": {"app": NAME},
                    "ports": [{"name": "https", "port": 443, "targetPort": PORT, "nodePort": INGRESS_NODE_PORT}],
                },
            },
        ),
        (  # a bare pod, not a Deployment: `devnet down` drains the node and nothing starts it again
            f"/api/v1/namespaces/{NAMESPACE}/pods",
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": NAME, **meta},
                "spec": {
                    "serviceAccountName": NAME,
                    # Pod Security "restricted": the LPStack enforces it on its ingress namespace
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 65532,
                        "runAsGroup": 65532,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [
                        {
                            "name": "ingress",
                            "image": IMAGE,
                            "imagePullPolicy": "Never",
                            "args": ["-listen", f":{PORT}"],
                            "ports": [{"name": "https", "containerPort": PORT}],
                            "volumeMounts": [{"name": "tls", "mountPath": "/tls", "readOnly": True}],
                            "resources": {"limits": {"memory": "64Mi", "cpu": "200m"}},
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "capabilities": {"drop": ["ALL"]},
                            },
                            "readinessProbe": {
                                "httpGet": {"scheme": "HTTPS", "path": "/healthz", "port": PORT},
                                "periodSeconds": 2,
                            },
                        }
                    ],
                    "volumes": [{"name": "tls", "secret": {"secretName": f"{NAME}-tls"}}],
                    "terminationGracePeriodSeconds": 1,
                    "nodeSelector": {REAL_NODE_LABEL: "true"},
                    "tolerations": [REAL_NODE_TOLERATION],
                },
            },
        ),
    ]


def _answers(url: str, ca_file: Path) -> bool:
    """The ingress answers over TLS with the devnet CA's certificate (a 404 for an unknown host is an answer)."""
    context = ssl.create_default_context(cafile=str(ca_file))
    request = urllib.request.Request(url, headers={"Host": f"probe-lq-none.{DOMAIN}"})  # noqa: S310
    try:
        urllib.request.urlopen(request, context=context, timeout=5)  # noqa: S310 - 127.0.0.1, our relay
    except urllib.error.HTTPError as error:
        return error.code == 404
    except (OSError, ssl.SSLError):
        return False
    return True


def start(devnet) -> str:  # devnet: linq.devnet.Devnet
    """Run the ingress on the devnet's real node (idempotent); returns the public domain, `apps.localhost:PORT`."""
    records, _ = devnet.read()
    running = next((r for r in records if r.name == RELAY and r.alive()), None)
    if running is not None:
        return f"{DOMAIN}:{running.ports['https']}"
    state = node.read_state(devnet.state_dir)
    if state is None:
        raise RuntimeError(f"the devnet in {devnet.state_dir} has no real node")
    layout = state.layout(devnet.state_dir)
    rootfs = layout.path("images", "ingress-rootfs")
    rootfs.mkdir(parents=True, exist_ok=True)
    shutil.copy2(locate.require("ingress"), rootfs / "ingress")
    archive = layout.path("images", "ingress.tar")
    images.build_archive(rootfs, images.ImageSpec(ref=IMAGE, cmd=[], entrypoint=["/ingress"]), archive)
    images.import_archive(archive, layout.containerd_socket)
    certs = kube.certificates(devnet.state_dir)
    cert, key = pki.issue(
        certs,
        layout.path("pki"),
        "ingress",
        common_name=NAME,
        dns=(DOMAIN, f"*.{DOMAIN}"),
        ips=("127.0.0.1",),
        server=True,
    )
    api = KubeAPI.from_kubeconfig(devnet.kubeconfig)
    for path, body in objects(cert.read_text(), key.read_text()):
        _apply(api, path, body)
    port = process.free_port()
    argv = netns.command("forward", "127.0.0.1", str(port), layout.node_ip, str(INGRESS_NODE_PORT))
    record = process.start(RELAY, argv, devnet.log_dir, ports={"https": port})
    devnet.add_process(record)
    deadline = time.monotonic() + START_TIMEOUT
    while not _answers(f"https://127.0.0.1:{port}/", certs["ca_cert"]):
        if time.monotonic() > deadline:
            pod = api.get(f"/api/v1/namespaces/{NAMESPACE}/pods/{NAME}")
            raise RuntimeError(f"the devnet ingress did not answer in {START_TIMEOUT:.0f}s: {pod.get('status')}")
        time.sleep(0.5)
    return f"{DOMAIN}:{port}"


def fetch(url: str, ca_file: Path, timeout: float = 10.0) -> tuple[str, bytes]:
    """GET an endpoint of the devnet ingress as curl and browsers do from the host (`*.localhost` is the
    loopback; Python's resolver does not know that): (status line, body)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "https" or not (host == "localhost" or host.endswith(".localhost")):
        raise ValueError(f"{url!r} is not an endpoint of the devnet ingress (https://….localhost:PORT/)")
    context = ssl.create_default_context(cafile=str(ca_file))
    connection = http.client.HTTPSConnection("127.0.0.1", parts.port or 443, context=context, timeout=timeout)
    try:
        connection.request("GET", parts.path or "/", headers={"Host": parts.netloc})
        response = connection.getresponse()
        return f"HTTP/1.{response.version % 10} {response.status} {response.reason}", response.read()
    finally:
        connection.close()
