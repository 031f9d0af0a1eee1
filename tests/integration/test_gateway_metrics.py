"""Tenant metrics on the real node, through the provider gateway: the devnet's Prometheus scrapes the kubelet
(cAdvisor and resource metrics over TLS with a client certificate); a container that burns CPU and holds
memory runs on the real node in tenant A's lease namespace; `linq metrics --via-gateway --escrow` with A's key alone (no
kubeconfig) shows its real CPU and memory, the provider's `--prometheus` path shows the same; A cannot read
B's series; unauthenticated, replayed, malformed and oversized requests are refused."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import tempfile
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from linq.agent import devnet as lab
from linq.chain import ChainClient
from linq.chain.signers import from_dev_account, from_key
from linq.contracts.terms import Resources, Terms
from linq.devnet import Devnet, anvil, node
from linq.devnet import prometheus as devnet_prometheus
from linq.devnet.accounts import deployer, fresh_wallet
from linq.devnet.kubeapi import KubeAPI
from linq.devnet.nodeconfig import REAL_NODE_LABEL, REAL_NODE_TOLERATION
from linq.gateway import message
from linq.gateway.client import GatewayError, call, gateway_of, obtain_lease
from linq.gateway.meta import GatewayInfo
from linq.tools import locate
from tests.waiting import wait_for

pytestmark = pytest.mark.integration
LINQ = str(locate.PROJECT_ROOT / ".venv" / "bin" / "linq")
IMAGE = "localhost/linq-test/burner:1"
HOLD_MIB = 48  # written to the container's /dev/shm (tmpfs, charged to its memory cgroup, never reclaimable)
CPU_LIMIT_MILLIS = 300  # the burner spins; CFS holds it at the limit
CPU_FLOOR = 50  # what it gets at worst on a 2-core machine at load 12 was ≈ 130m; idle reads ≈ 0
BURN = (
    f"/bin/busybox dd if=/dev/zero of=/dev/shm/hold bs=1M count={HOLD_MIB} 2>/dev/null; "
    "echo holding; while :; do :; done"
)
WINDOW = "60s"
RES = Resources(cpu_millis=1000, memory_mib=512, storage_gib=2)


@dataclass
class Tenant:
    key: str
    client: ChainClient
    terms: Terms
    namespace: str
    api: KubeAPI

    @property
    def escrow(self) -> str:
        return "0x" + self.terms.escrow_id.hex()


@dataclass
class World:
    devnet: Devnet
    prometheus: str
    gateway: GatewayInfo
    a: Tenant
    b: Tenant


def _tenant(devnet: Devnet, bank: ChainClient, provider: str) -> Tenant:
    key, signer = fresh_wallet(bank)
    client = ChainClient(bank.profile, signer)
    terms = lab.fund_escrow(client, provider, seconds=24 * 3600, resources=RES)
    lease = obtain_lease(client, "0x" + terms.escrow_id.hex(), provider)
    config = json.loads(lease.kubeconfig)
    cluster = config["clusters"][0]["cluster"]
    ca = Path(tempfile.mkstemp(suffix=".crt")[1])
    ca.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
    api = KubeAPI(server=cluster["server"], token=config["users"][0]["user"]["token"], ca_file=str(ca))
    return Tenant(key, client, terms, lease.namespace, api)


def _pod(tenant: Tenant, name: str, command: str, cpu_millis: int, memory: str) -> None:
    limits = {"cpu": f"{cpu_millis}m", "memory": memory, "ephemeral-storage": "100Mi"}
    tenant.api.post(  # with the tenant's own credential, as a requestor deploys
        f"/api/v1/namespaces/{tenant.namespace}/pods",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {
                "containers": [
                    {
                        "name": "main",
                        "image": IMAGE,
                        "imagePullPolicy": "Never",
                        "command": ["/bin/busybox", "sh", "-c", command],
                        "resources": {"requests": limits, "limits": limits},
                    }
                ],
                "terminationGracePeriodSeconds": 1,
                "nodeSelector": {REAL_NODE_LABEL: "true"},
                "tolerations": [REAL_NODE_TOLERATION],
            },
        },
    )


def _running(tenant: Tenant, name: str) -> bool:
    pod = tenant.api.get(f"/api/v1/namespaces/{tenant.namespace}/pods/{name}")
    return pod["status"].get("phase") == "Running"


def _query(url: str, promql: str) -> list[dict[str, Any]]:
    address = f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(address, timeout=5) as response:  # noqa: S310 - the devnet's loopback Prometheus
        return list(json.loads(response.read())["data"]["result"])


@pytest.fixture(scope="module")
def world(devnet: Devnet, tmp_path_factory: pytest.TempPathFactory) -> World:
    assert node.read_state(devnet.state_dir) is not None, "the devnet started without a real node (root is needed)"
    _, endpoints = devnet.read()
    assert endpoints.prometheus, "linq devnet up started no Prometheus next to the real node"
    site = tmp_path_factory.mktemp("burner")
    built = subprocess.run(
        [
            *(LINQ, "image", "build", str(site), "--tag", IMAGE, "--busybox", "--cmd", "/bin/busybox sleep 3600"),
            "--state-dir",
            str(devnet.state_dir),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    bank = deployer(devnet.state_dir)
    provider = from_dev_account(devnet.state_dir, anvil.LOCAL_PROVIDER_INDEX).address
    a, b = _tenant(devnet, bank, provider), _tenant(devnet, bank, provider)
    _pod(a, "burner", BURN, CPU_LIMIT_MILLIS, "128Mi")
    _pod(b, "idler", "echo idle; exec /bin/busybox sleep 3600", 100, "64Mi")
    for tenant, name in ((a, "burner"), (b, "idler")):
        wait_for(lambda t=tenant, n=name: _running(t, n), what=f"{name} running on the real node", timeout=180)
    # rate() over a step counter (cAdvisor stamps its samples and refreshes them every 10-15 s) is honest only
    # once the window holds ~45 s of them: wait until the burner's samples span that (a condition, not a sleep)
    matchers = f'namespace="{a.namespace}",container="main",metrics_path="/metrics/cadvisor"'
    samples = f"container_cpu_usage_seconds_total{{{matchers}}}[{WINDOW}]"

    def spanned() -> bool:
        rows = _query(endpoints.prometheus, samples)
        return bool(rows) and rows[0]["values"][-1][0] - rows[0]["values"][0][0] >= 40

    wait_for(spanned, what="45 s of the burner's CPU samples in Prometheus", timeout=240, interval=2)
    return World(devnet, endpoints.prometheus, gateway_of(bank, provider), a, b)


def _linq(*args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "LINQ_PRIVATE_KEY", "LINQ_DEV_ACCOUNT")}
    if key:
        env["LINQ_PRIVATE_KEY"] = key
    return subprocess.run([LINQ, *args], capture_output=True, text=True, timeout=120, check=False, env=env)


def _signed(tenant: Tenant, escrow: str | None = None, action: str = "metrics", signer_key: str | None = None) -> bytes:
    chain = tenant.client
    request = message.new_request(escrow or tenant.escrow, tenant.terms.provider, action=action)
    return message.body(message.sign(request, signer_key or tenant.key, chain.chain_id, chain.escrow.address))


def _refused(
    w: World, body: bytes, *, path: str = "/v1/metrics", content_type: str = "application/json"
) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        call(w.gateway, "POST", path, body, content_type=content_type)
    return caught.value


def test_devnet_prometheus_scrapes_the_kubelet_over_tls(world: World) -> None:
    assert urllib.parse.urlsplit(world.prometheus).hostname == "127.0.0.1"  # loopback only
    health = {t["labels"]["metrics_path"]: t["health"] for t in devnet_prometheus.targets(world.prometheus)}
    assert health == {"/metrics/cadvisor": "up", "/metrics/resource": "up"}, health
    # the resource endpoint repeats container series under the same names: the templates must not double count
    both = _query(world.prometheus, f'container_memory_working_set_bytes{{namespace="{world.a.namespace}"}}')
    assert {r["metric"]["metrics_path"] for r in both} == {"/metrics/cadvisor", "/metrics/resource"}


def test_linq_metrics_with_the_requestors_key_alone_shows_real_cpu_and_memory(world: World) -> None:
    a = world.a
    out = _linq(
        "metrics",
        "--via-gateway",
        "--escrow",
        a.escrow,
        "--devnet-dir",
        str(world.devnet.state_dir),
        "--window",
        WINDOW,
        "--json",
        key=a.key,
    )
    assert out.returncode == 0, out.stderr + out.stdout
    usage = json.loads(out.stdout)
    assert usage["namespace"] == a.namespace
    assert usage["source"] == "provider gateway (Prometheus)"
    assert [p["name"] for p in usage["pods"]] == ["burner"]
    assert set(usage["per_pod"]) == {"burner"}, usage
    assert CPU_FLOOR <= usage["cpu_millis"] <= CPU_LIMIT_MILLIS + 100, usage  # spinning, held at its limit
    mib = usage["memory_bytes"] / 2**20
    assert HOLD_MIB <= mib <= HOLD_MIB + 32, usage  # the 48 MiB it holds, plus a shell
    # the table form names the source and the pod
    table = _linq(
        "metrics", "--via-gateway", "--escrow", a.escrow, "--devnet-dir", str(world.devnet.state_dir), key=a.key
    )
    assert table.returncode == 0, table.stderr
    assert "provider gateway" in table.stdout and "burner" in table.stdout


def test_provider_prometheus_path_reads_the_same_container(world: World) -> None:
    out = _linq(
        "metrics",
        "-n",
        world.a.namespace,
        "--devnet-dir",
        str(world.devnet.state_dir),
        "--prometheus",
        world.prometheus,
        "--window",
        WINDOW,
        "--json",
    )
    assert out.returncode == 0, out.stderr + out.stdout
    usage = json.loads(out.stdout)
    assert CPU_FLOOR <= usage["cpu_millis"] <= CPU_LIMIT_MILLIS + 100, usage
    assert HOLD_MIB <= usage["memory_bytes"] / 2**20 <= HOLD_MIB + 32, usage


def test_tenant_a_cannot_obtain_tenant_bs_series(world: World) -> None:
    a, b = world.a, world.b
    # A signs for B's escrow: the signer is not B's escrow's requestor
    err = _refused(world, _signed(a, escrow=b.escrow))
    assert (err.status, err.code) == (401, "not_requestor")
    # what each gets is its own namespace only, although both run on one node and one Prometheus
    mine = call(world.gateway, "POST", f"/v1/metrics?window={WINDOW}", _signed(a))
    theirs = call(world.gateway, "POST", f"/v1/metrics?window={WINDOW}", _signed(b))
    assert (mine["namespace"], theirs["namespace"]) == (a.namespace, b.namespace)
    assert set(mine["per_pod"]) == {"burner"} and [p["name"] for p in mine["pods"]] == ["burner"]
    assert set(theirs["per_pod"]) <= {"idler"} and [p["name"] for p in theirs["pods"]] == ["idler"]
    # no PromQL is accepted: a window that tries to close the matcher is refused before any query
    err = _refused(world, _signed(a), path="/v1/metrics?window=1m])%20or%20up%7B%7D%5B1m")
    assert (err.status, err.code) == (400, "malformed")


def test_unauthenticated_request_refused(world: World) -> None:
    unsigned = json.dumps({"request": json.loads(_signed(world.a))["request"]}).encode()
    err = _refused(world, unsigned)
    assert (err.status, err.code) == (400, "malformed") and "signature" in str(err)
    stranger = "0x" + "11" * 32
    err = _refused(world, _signed(world.a, signer_key=stranger))
    assert (err.status, err.code) == (401, "not_requestor")
    assert from_key(stranger, source="test").address in str(err)  # names who signed


def test_replayed_request_refused(world: World) -> None:
    body = _signed(world.a)
    assert call(world.gateway, "POST", "/v1/metrics", body)["namespace"] == world.a.namespace
    err = _refused(world, body)
    assert (err.status, err.code) == (401, "replayed_nonce")


def test_malformed_request_refused(world: World) -> None:
    assert _refused(world, b"{not json").code == "malformed"
    assert _refused(world, _signed(world.a), content_type="text/plain").status == 415
    err = _refused(world, _signed(world.a, action="lease"))  # a lease request is not a metrics request
    assert (err.status, err.code) == (400, "wrong_action")
    err = _refused(world, _signed(world.a), path="/v1/metrics?window=2d")
    assert (err.status, err.code) == (400, "malformed")


def test_oversized_request_refused(world: World) -> None:
    padded = json.dumps({**json.loads(_signed(world.a)), "pad": "x" * 5000}).encode()
    err = _refused(world, padded)
    assert (err.status, err.code) == (413, "too_large")
