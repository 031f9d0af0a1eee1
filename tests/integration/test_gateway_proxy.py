"""The Kubernetes API through the gateway's /k8s proxy: a gateway started with `--tenant-access gateway` hands out
kubeconfigs that name the gateway (its pinned certificate as their CA), and real kubectl works through it (list,
create, logs, exec), a port-forward tunnel reaches a container on the devnet's real node (WebSocket upgrades),
the API server's RBAC still refuses another tenant's namespace, the proxy refuses malformed or oversized requests,
and `linq status/logs --via-gateway` work with the requestor's key alone."""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import select
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from linq.chain import ChainClient
from linq.cli import main as linq_cli
from linq.devnet import Devnet
from linq.devnet.accounts import deployer
from linq.devnet.kubeapi import KubeAPI
from linq.devnet.nodeconfig import REAL_NODE_LABEL, REAL_NODE_TOLERATION
from linq.devnet.process import free_port
from linq.gateway import proxy
from linq.gateway.meta import GatewayInfo, spki_pin
from tests.integration.test_gateway import Party, _healthy, _secret, eid, fund, party, start_gateway
from tests.integration.test_real_node import HTTPD, real  # noqa: F401 - the real node with the test image
from tests.waiting import wait_for

pytestmark = pytest.mark.integration


@dataclass
class ProxyWorld:
    bank: ChainClient
    admin: KubeAPI
    provider: Party
    info: GatewayInfo
    cert_pem: bytes
    work: Path


@pytest.fixture(scope="module")
def pw(devnet: Devnet, real: KubeAPI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyWorld]:  # noqa: F811
    bank = deployer(devnet.state_dir)
    admin = KubeAPI.from_kubeconfig(devnet.kubeconfig)
    provider = party(bank, provider=True)
    work = tmp_path_factory.mktemp("gwproxy")
    port = free_port()
    proc = start_gateway(devnet, provider, port, work / "gateway.log", "--tenant-access", "gateway")
    try:
        secret = wait_for(lambda: _secret(admin), what="the gateway's TLS secret", timeout=90)
        cert_pem = base64.b64decode(secret["data"]["tls.crt"])
        info = GatewayInfo(url=f"https://127.0.0.1:{port}", tls_spki_sha256=spki_pin(cert_pem))
        wait_for(lambda: _healthy(info), what="gateway healthy", timeout=90)
        published = CliRunner().invoke(  # on chain, so `--via-gateway` finds it from the escrow alone
            linq_cli,
            ["provider", "update", "--devnet-dir", str(devnet.state_dir), "--gateway", info.url, "--json"],
            env={"LINQ_PRIVATE_KEY": provider.key},
            catch_exceptions=False,
        )
        assert published.exit_code == 0, published.output
        yield ProxyWorld(bank, admin, provider, info, cert_pem, work)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        print((work / "gateway.log").read_text()[-4000:])


def tenant(pw: ProxyWorld, name: str, who: Party | None = None) -> tuple[dict[str, Any], Path]:
    """A requestor with a funded escrow at the provider and its lease: (the gateway's answer, kubeconfig file)."""
    from linq.gateway.client import request_lease

    who = who or party(pw.bank, provider=False)
    terms = fund(who, pw.provider)
    answer = request_lease(pw.info, eid(terms), terms.provider, who.key, pw.bank.chain_id, pw.bank.escrow.address)
    path = pw.work / f"{name}.kubeconfig"
    path.write_text(json.dumps(answer["kubeconfig"]))
    path.chmod(0o600)
    return answer, path


def kubectl(
    config: Path, *args: str, stdin: str | None = None, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(config), *args],
        input=stdin,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def real_pod(name: str) -> dict[str, Any]:
    limits = {"cpu": "100m", "memory": "64Mi", "ephemeral-storage": "100Mi"}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "containers": [
                {
                    "name": "main",
                    "image": HTTPD,
                    "imagePullPolicy": "Never",
                    "resources": {"requests": limits, "limits": limits},
                }
            ],
            "terminationGracePeriodSeconds": 1,
            "nodeSelector": {REAL_NODE_LABEL: "true"},
            "tolerations": [REAL_NODE_TOLERATION],
        },
    }


def raw(
    pw: ProxyWorld, method: str, path: str, *, token: str | None, body: bytes | None = None, **headers: str
) -> tuple[int, dict[str, Any]]:
    """One request to the gateway, checking its certificate like kubectl does (CA = the pinned certificate)."""
    context = ssl.create_default_context(cadata=pw.cert_pem.decode())
    host, port = pw.info.host_port
    conn = http.client.HTTPSConnection(host, port, context=context, timeout=60)
    sent = dict(headers)
    if token:
        sent["Authorization"] = f"Bearer {token}"
    if body is not None:
        sent.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, path, body=body, headers=sent, encode_chunked=not isinstance(body, bytes | None))
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(data)
    except ValueError:
        return response.status, {"raw": data[:200].decode(errors="replace")}


def port_forward_get(pw: ProxyWorld, lease: dict[str, Any], pod: str, port: int) -> bytes:
    """GET / through a port-forward WebSocket to the gateway's proxy, as the tenant; the raw HTTP answer."""
    from websockets.sync.client import connect

    token = lease["kubeconfig"]["users"][0]["user"]["token"]
    url = pw.info.url.replace("https://", "wss://") + (
        f"/k8s/api/v1/namespaces/{lease['namespace']}/pods/{pod}/portforward?ports={port}"
    )
    context = ssl.create_default_context(cadata=pw.cert_pem.decode())
    answer = b""
    with connect(
        url,
        ssl=context,
        subprotocols=["v4.channel.k8s.io"],  # type: ignore[list-item]
        additional_headers={"Authorization": f"Bearer {token}"},
        open_timeout=30,
    ) as ws:
        opened = {bytes(ws.recv(timeout=30))[0] for _ in range(2)}  # each channel's first frame names the port
        assert opened == {0, 1}
        ws.send(b"\x00GET / HTTP/1.0\r\n\r\n")
        while b"hello from the real node" not in answer:
            frame = bytes(ws.recv(timeout=30))
            assert frame[0] == 0, frame  # channel 1 would carry an error
            answer += frame[1:]
    return answer


def test_kubectl_through_the_gateway_lists_creates_logs_execs_and_port_forwards(pw: ProxyWorld) -> None:
    got_a, conf_a = tenant(pw, "a")
    _, conf_b = tenant(pw, "b")
    server = got_a["kubeconfig"]["clusters"][0]["cluster"]["server"]
    assert server == proxy.kubeconfig_server(pw.info.url)  # the kubeconfig names the gateway, not the API server
    ns_a = got_a["namespace"]

    listed = kubectl(conf_a, "get", "pods", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["items"] == []

    created = kubectl(conf_a, "apply", "-f", "-", stdin=json.dumps(real_pod("web")))
    assert created.returncode == 0, created.stderr
    wait_for(
        lambda: pw.admin.get(f"/api/v1/namespaces/{ns_a}/pods/web")["status"].get("phase") == "Running" or None,
        what="the tenant's pod Running on the real node",
        timeout=180,
    )
    logs = wait_for(
        lambda: (lambda r: r.stdout if "serving" in r.stdout else None)(kubectl(conf_a, "logs", "web")),
        what="the pod's log through the gateway",
        timeout=60,
    )
    assert "hello from the real node" in logs

    # exec: a WebSocket upgrade relayed both ways (stdin in, stdout out, exit code back)
    echoed = kubectl(conf_a, "exec", "-i", "web", "--", "/bin/busybox", "sh", "-c", "cat; exit 3", stdin="ping\n")
    assert echoed.stdout == "ping\n", echoed.stderr
    assert echoed.returncode == 3, echoed.stderr

    # port-forward: a WebSocket upgrade (channel protocol v4: data and error channel per port, each opened by
    # a frame carrying the port) relayed to the kubelet; an HTTP request goes through the tunnel and back.
    assert port_forward_get(pw, got_a, "web", 8080).endswith(b"hello from the real node\n")
    # kubectl's own port-forward (SPDY, kubectl's default up to 1.32): the gateway's byte tunnel
    forward = subprocess.Popen(
        ["kubectl", "--kubeconfig", str(conf_a), "port-forward", "pod/web", ":8080"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert forward.stdout is not None and forward.stderr is not None
        line = forward.stdout.readline()
        match = re.search(r"127\.0\.0\.1:(\d+)", line)
        if match is None:
            forward.wait(timeout=30)
            pytest.fail(f"port-forward did not start: {line!r} {forward.stderr.read()}")
        page = urllib.request.urlopen(f"http://127.0.0.1:{match.group(1)}/", timeout=30).read()
        assert page == b"hello from the real node\n"
    finally:
        forward.terminate()
        forward.wait(timeout=30)
    # kubectl exec over SPDY too (clients before WebSockets; kubectl's fallback)
    spdy = kubectl(
        conf_a,
        "exec",
        "web",
        "--",
        "/bin/busybox",
        "echo",
        "over-spdy",
        env={"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false"},
    )
    assert spdy.stdout == "over-spdy\n", spdy.stderr

    # the API server's RBAC still decides: B's token reaches nothing in A's namespace, through the same proxy
    peek = kubectl(conf_b, "-n", ns_a, "get", "pods")
    assert peek.returncode != 0 and "forbidden" in peek.stderr.lower(), peek.stderr
    intrude = kubectl(conf_b, "-n", ns_a, "exec", "web", "--", "/bin/busybox", "echo", "x")
    assert intrude.returncode != 0 and "forbidden" in intrude.stderr.lower(), intrude.stderr
    assert kubectl(conf_a, "get", "namespaces").returncode != 0  # cluster-scoped: refused


def test_proxy_refuses_malformed_oversized_and_unauthenticated_requests(pw: ProxyWorld) -> None:
    got, _ = tenant(pw, "c")
    token = got["kubeconfig"]["users"][0]["user"]["token"]
    ns = got["namespace"]
    pods = f"/k8s/api/v1/namespaces/{ns}/pods"
    assert raw(pw, "GET", pods, token=token)[0] == 200
    cases: list[tuple[str, str, str, str | None, bytes | None, dict[str, str], int, str]] = [
        ("no token", "GET", pods, None, None, {}, 401, "Unauthorized"),
        ("garbage token", "GET", pods, "not-a-token", None, {}, 401, "Unauthorized"),
        ("impersonation", "GET", pods, token, None, {"Impersonate-User": "system:admin"}, 403, "Forbidden"),
        ("not an API path", "GET", "/k8s/metrics", token, None, {}, 404, "NotFound"),
        ("dot segments", "GET", f"/k8s/api/v1/namespaces/{ns}/../kube-system/pods", token, None, {}, 400, "BadRequest"),
        ("encoded slash", "GET", f"/k8s/api/v1/namespaces/{ns}%2Fpods", token, None, {}, 400, "BadRequest"),
        ("oversized (declared)", "POST", pods, token, b"{}", {"Content-Length": str(proxy.MAX_BODY + 1)}, 413, ""),
        ("malformed body", "POST", pods, token, b"{not json", {}, 400, "BadRequest"),
        ("other namespace", "GET", "/k8s/api/v1/namespaces/kube-system/secrets", token, None, {}, 403, "Forbidden"),
    ]
    before = len(pw.admin.get(f"/api/v1/namespaces/{ns}/pods")["items"])
    for name, method, path, tok, body, headers, code, reason in cases:
        status, answer = raw(pw, method, path, token=tok, body=body, **headers)
        assert status == code, (name, status, answer)
        assert answer.get("kind") == "Status", (name, answer)
        if reason:
            assert answer.get("reason") == reason, (name, answer)
    # oversized and streamed (chunked, no length declared): cut off at the limit
    chunks = (b" " * (64 * 1024) for _ in range(proxy.MAX_BODY // (64 * 1024) + 1))
    status, answer = raw(pw, "POST", pods, token=token, body=chunks)  # type: ignore[arg-type]
    assert (status, answer.get("reason")) == (413, "RequestEntityTooLarge"), answer
    assert len(pw.admin.get(f"/api/v1/namespaces/{ns}/pods")["items"]) == before  # nothing created


def test_status_and_logs_with_the_requestors_key_alone(devnet: Devnet, pw: ProxyWorld) -> None:
    """`linq status/logs --via-gateway`: no kubeconfig anywhere; the escrow names the provider, the chain its
    gateway, the requestor's key signs a fresh lease request, and the reads go through the gateway's proxy."""
    who = party(pw.bank, provider=False)
    got, conf = tenant(pw, "d", who)
    ns, escrow = got["namespace"], got["escrowId"]
    web = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": real_pod("web")["spec"]},
        },
    }
    applied = kubectl(conf, "apply", "-f", "-", stdin=json.dumps(web))
    assert applied.returncode == 0, applied.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "LINQ_DEV_ACCOUNT", "LINQ_KEYSTORE")}
    env["LINQ_PRIVATE_KEY"] = who.key
    linq = [str(Path(sys.executable).parent / "linq")]
    where = ["--escrow", escrow, "--via-gateway", "--devnet-dir", str(devnet.state_dir)]

    def status() -> dict[str, Any] | None:
        done = subprocess.run(
            [*linq, "status", "web", *where, "--json"], env=env, capture_output=True, text=True, timeout=120
        )
        row = json.loads(done.stdout)["deployments"][0] if done.stdout.startswith("{") else None
        return row if row and row["state"] == "Running" and done.returncode == 0 else None

    row = wait_for(status, what="`linq status --via-gateway` says Running", timeout=180)
    assert row["namespace"] == ns
    logs = wait_for(
        lambda: (lambda d: d.stdout if "serving" in d.stdout else None)(
            subprocess.run([*linq, "logs", "web", *where], env=env, capture_output=True, text=True, timeout=120)
        ),
        what="`linq logs --via-gateway` prints the container's output",
        timeout=60,
    )
    assert "hello from the real node" in logs
    # --follow: the stream stays open through the gateway and delivers the line
    follow = subprocess.Popen(
        [*linq, "logs", "web", *where, "--follow"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert follow.stdout is not None
        assert select.select([follow.stdout], [], [], 60)[0], "no line from `linq logs --follow` within 60 s"
        assert "hello from the real node" in follow.stdout.readline()
        assert follow.poll() is None  # still streaming
    finally:
        follow.terminate()
        follow.wait(timeout=30)
    # another requestor's key gets no lease for this escrow: a one-line refusal, exit 1 by the table
    other = dict(env, LINQ_PRIVATE_KEY=party(pw.bank, provider=False).key)
    refused = subprocess.run([*linq, "logs", "web", *where], env=other, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1, refused.stderr
    assert "not_requestor" in refused.stderr and "Traceback" not in refused.stderr, refused.stderr
