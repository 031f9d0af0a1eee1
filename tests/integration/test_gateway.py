"""The provider gateway on the devnet: real anvil + contracts, the real kube-apiserver, gateways started
with `linq provider gateway` (two replicas of one provider, TLS with the cluster-held key), discovery
from the chain alone, lease access, tenant isolation checked with the issued tokens, a table of bad
requests, shared nonces, revocation by one agent pass, and the Created-state race closed."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from linq.agent import ActionLog, Agent, Cluster, Settings
from linq.agent import devnet as lab
from linq.chain import ChainClient
from linq.chain import escrows as ops
from linq.cli import main as linq_cli
from linq.contracts.terms import Resources, Terms
from linq.devnet import Devnet
from linq.devnet.accounts import advance, deployer, fresh_wallet, register_provider
from linq.devnet.kubeapi import KubeAPI, KubeError
from linq.devnet.process import free_port
from linq.gateway import bundle, message, tls
from linq.gateway.client import GatewayError, PinMismatch, call, lease_status, request_lease
from linq.gateway.meta import GatewayInfo, spki_pin
from linq.market.index import RegistryIndex
from linq.market.match import match
from linq.market.models import ReasonCode, Requirements
from tests.waiting import wait_for

pytestmark = pytest.mark.integration

RES = Resources(cpu_millis=500, memory_mib=512, storage_gib=2)


@dataclass
class Party:
    key: str
    client: ChainClient

    @property
    def address(self) -> str:
        return self.client.address


@dataclass
class World:
    devnet: Devnet
    bank: ChainClient
    admin: KubeAPI
    p1: Party
    p2: Party
    a: Party
    b: Party
    replicas: list[GatewayInfo]
    info: GatewayInfo  # as discovered from the chain


def party(bank: ChainClient, *, provider: bool) -> Party:
    key, signer = fresh_wallet(bank, lnq=0 if provider else 1_000 * 10**18)
    client = ChainClient(bank.profile, signer)
    if provider:
        register_provider(client, cpu=16_000)
    return Party(key, client)


def start_gateway(
    devnet: Devnet, provider: Party, port: int, log: Path, *extra: str, env_extra: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    env = dict(os.environ, LINQ_PRIVATE_KEY=provider.key, **(env_extra or {}))
    env.pop("KUBECONFIG", None)
    cmd = [
        str(Path(sys.executable).parent / "linq"),
        "provider",
        "gateway",
        "--devnet-dir",
        str(devnet.state_dir),
        "--listen",
        f"127.0.0.1:{port}",
        "--tls-host",
        "127.0.0.1",
        *extra,
    ]
    return subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def world(devnet: Devnet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    bank = deployer(devnet.state_dir)
    admin = KubeAPI.from_kubeconfig(devnet.kubeconfig)
    p1, p2 = party(bank, provider=True), party(bank, provider=True)
    a, b = party(bank, provider=False), party(bank, provider=False)
    logs = tmp_path_factory.mktemp("gateway-logs")
    ports = [free_port(), free_port()]
    procs = [start_gateway(devnet, p1, port, logs / f"replica-{i}.log") for i, port in enumerate(ports)]
    try:
        secret = wait_for(lambda: _secret(admin), what="the gateway's TLS secret", timeout=90)
        pin = spki_pin(base64.b64decode(secret["data"]["tls.crt"]))
        replicas = [GatewayInfo(url=f"https://127.0.0.1:{port}", tls_spki_sha256=pin) for port in ports]
        for info in replicas:
            wait_for(lambda info=info: _healthy(info), what=f"gateway {info.url} healthy", timeout=90)
        # Discovery: the provider publishes replica 0's URL; the pin is read from what it serves.
        result = CliRunner().invoke(
            linq_cli,
            ["provider", "update", "--devnet-dir", str(devnet.state_dir), "--gateway", replicas[0].url, "--json"],
            env={"LINQ_PRIVATE_KEY": p1.key},
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["calls"] == ["publishMeta"]
        index = RegistryIndex(
            bank.w3,
            bank.registry.address,
            escrow_address=bank.escrow.address,
            from_block=bank.profile.book.deployed_block,
        )
        index.build()
        record = next(p for p in index.providers if p.address == p1.address)
        assert record.gateway is not None
        yield World(devnet, bank, admin, p1, p2, a, b, replicas, record.gateway)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        for i in range(len(procs)):
            sys.stderr.write(f"--- replica {i}\n" + (logs / f"replica-{i}.log").read_text()[-3000:])


def _secret(admin: KubeAPI) -> dict[str, Any] | None:
    try:
        return admin.get(f"/api/v1/namespaces/{bundle.GATEWAY_NAMESPACE}/secrets/{tls.SECRET}")
    except KubeError:
        return None


def _healthy(info: GatewayInfo) -> bool | None:
    try:
        return call(info, "GET", "/healthz", timeout=5).get("ok") or None
    except GatewayError:
        return None


def fund(requestor: Party, provider: Party, seconds: int = 24 * 3600, res: Resources = RES) -> Terms:
    return lab.fund_escrow(requestor.client, provider.address, seconds=seconds, resources=res)


def eid(terms: Terms) -> str:
    return "0x" + terms.escrow_id.hex()


def lease(w: World, requestor: Party, terms: Terms, info: GatewayInfo | None = None) -> dict[str, Any]:
    return request_lease(
        info or w.info, eid(terms), terms.provider, requestor.key, w.bank.chain_id, w.bank.escrow.address
    )


def tenant_api(answer: dict[str, Any]) -> KubeAPI:
    cfg = answer["kubeconfig"]
    cluster = cfg["clusters"][0]["cluster"]
    ca = Path(tempfile.mkstemp(suffix=".crt")[1])
    ca.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
    return KubeAPI(server=cluster["server"], token=cfg["users"][0]["user"]["token"], ca_file=str(ca))


def status_of(
    api: KubeAPI, method: str, path: str, body: dict[str, Any] | None = None, content_type: str = "application/json"
) -> int:
    try:
        api.request(method, path, body, content_type)
    except KubeError as err:
        return err.status
    return 200


def pod(name: str, cpu: str = "100m", memory: str = "64Mi") -> dict[str, Any]:
    limits = {"cpu": cpu, "memory": memory, "ephemeral-storage": "100Mi"}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "containers": [{"name": "c", "image": "busybox", "resources": {"requests": limits, "limits": limits}}]
        },
    }


def deployment(ns: str, name: str) -> dict[str, Any]:
    d = lab.deployment(ns, name, ready=True)
    for c in d["spec"]["template"]["spec"]["containers"]:
        c["resources"] = {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}}
    return d


# ----- discovery ----------------------------------------------------------------------------------------
def test_discovery_from_the_chain_alone(world: World) -> None:
    w = world
    assert w.info == w.replicas[0]  # URL and pin exactly as the gateway serves them
    result = CliRunner().invoke(
        linq_cli,
        [
            "providers",
            "show",
            w.p1.address,
            "--rpc",
            w.bank.profile.rpc_url,
            "--addresses",
            str(w.devnet.state_dir / "addresses.json"),
            "--json",
        ],
    )
    if result.exit_code == 0:
        assert json.loads(result.output)["provider"]["gateway"]["url"] == w.info.url
    index = RegistryIndex(
        w.bank.w3,
        w.bank.registry.address,
        escrow_address=w.bank.escrow.address,
        from_block=w.bank.profile.book.deployed_block,
    )
    index.build()
    req = Requirements(cpu_millis=500, require_gateway=True, allow=(w.p1.address, w.p2.address))
    result_ = match(index.providers, req)
    assert [c.provider for c in result_.candidates] == [w.p1.address]
    assert ReasonCode.NO_GATEWAY in next(r for r in result_.rejected if r.provider == w.p2.address).codes


# ----- lease access and isolation ------------------------------------------------------------------------
def test_lease_isolation_quota_and_the_created_race(world: World) -> None:
    w = world
    ta, tb = fund(w.a, w.p1), fund(w.b, w.p1)
    assert ops.read_state(w.bank, ta).status == "Created"
    got_a, got_b = lease(w, w.a, ta), lease(w, w.b, tb)
    ns_a, ns_b = got_a["namespace"], got_b["namespace"]
    assert ns_a == bundle.namespace_name(eid(ta)) and ns_a != ns_b

    # The Created-state race is closed: the first credential started the escrow, so no cancel-for-refund.
    assert ops.read_state(w.bank, ta).status == "Active"
    with pytest.raises(Exception, match="is Active, which does not allow cancel"):
        ops.cancel(w.a.client, ta)

    # The token: audience-bound, at most one hour.
    token = got_a["kubeconfig"]["users"][0]["user"]["token"]
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["aud"] == ["https://kubernetes.default.svc"] and 600 <= claims["exp"] - claims["iat"] <= 3600

    # The namespace and its bundle, sized from the chain.
    ns = w.admin.get(f"/api/v1/namespaces/{ns_a}")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    assert ns["metadata"]["annotations"]["linq.network/escrow-id"] == eid(ta)
    hard = w.admin.get(f"/api/v1/namespaces/{ns_a}/resourcequotas/lease-quota")["spec"]["hard"]
    assert (hard["limits.cpu"], hard["limits.memory"], hard["requests.storage"]) == ("500m", "512Mi", "2Gi")

    api_a, api_b = tenant_api(got_a), tenant_api(got_b)
    # Same deployment name for two requestors on one provider: no collision.
    for api, ns_name in ((api_a, ns_a), (api_b, ns_b)):
        path = f"/apis/apps/v1/namespaces/{ns_name}/deployments"
        assert status_of(api, "POST", path, deployment(ns_name, "chat")) == 200
    # A cannot read or write B's namespace.
    assert status_of(api_a, "GET", f"/api/v1/namespaces/{ns_b}/pods") == 403
    assert status_of(api_a, "POST", f"/apis/apps/v1/namespaces/{ns_b}/deployments", deployment(ns_b, "x")) == 403
    # A cannot create namespaces, nor edit its quota, limit range, network policy, labels or RBAC.
    assert status_of(api_a, "POST", "/api/v1/namespaces", {"metadata": {"name": "lq-mine"}}) == 403
    merge = "application/merge-patch+json"
    for path in (
        f"/api/v1/namespaces/{ns_a}/resourcequotas/lease-quota",
        f"/api/v1/namespaces/{ns_a}/limitranges/lease-limits",
        f"/apis/networking.k8s.io/v1/namespaces/{ns_a}/networkpolicies/default-deny",
        f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns_a}/rolebindings/linq-tenant",
    ):
        assert status_of(api_a, "PATCH", path, {"metadata": {"labels": {"x": "y"}}}, merge) == 403, path
        assert status_of(api_a, "DELETE", path) == 403, path
    assert (
        status_of(
            api_a,
            "PATCH",
            f"/api/v1/namespaces/{ns_a}",
            {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "privileged"}}},
            merge,
        )
        == 403
    )
    assert (
        status_of(
            api_a,
            "POST",
            f"/apis/networking.k8s.io/v1/namespaces/{ns_a}/networkpolicies",
            {"metadata": {"name": "allow-all"}, "spec": {"podSelector": {}, "egress": [{}]}},
        )
        == 403
    )
    assert (
        status_of(
            api_a,
            "POST",
            f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns_a}/rolebindings",
            {
                "metadata": {"name": "me"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": [],
            },
        )
        == 403
    )
    assert (
        status_of(
            api_a,
            "POST",
            f"/api/v1/namespaces/{bundle.GATEWAY_NAMESPACE}/serviceaccounts/{bundle.session_account(eid(ta))}/token",
            {"spec": {}},
        )
        == 403
    )
    # Quota from chain: more CPU than the escrow paid for is refused by admission.
    assert status_of(api_a, "POST", f"/api/v1/namespaces/{ns_a}/pods", pod("small")) == 200
    assert status_of(api_a, "POST", f"/api/v1/namespaces/{ns_a}/pods", pod("big", cpu="2")) == 403

    # Asking again is idempotent: same namespace, one bundle, a fresh token.
    again = lease(w, w.a, ta, w.replicas[1])
    assert again["namespace"] == ns_a
    quotas = w.admin.get(f"/api/v1/namespaces/{ns_a}/resourcequotas")["items"]
    assert [q["metadata"]["name"] for q in quotas] == ["lease-quota"]
    assert lease_status(w.info, eid(ta))["credentials"] == "valid"


# ----- bad requests -----------------------------------------------------------------------------------
def _signed(
    w: World,
    requestor: Party,
    terms: Terms,
    *,
    chain_id: int | None = None,
    contract: str | None = None,
    provider: str | None = None,
    now: int | None = None,
    ttl: int = 120,
) -> message.SignedRequest:
    req = message.new_request(eid(terms), provider or terms.provider, now=now, ttl=ttl)
    return message.sign(req, requestor.key, chain_id or w.bank.chain_id, contract or w.bank.escrow.address)


def _body(signed: message.SignedRequest, **changes: Any) -> bytes:
    data = json.loads(message.body(signed))
    for dotted, value in changes.items():
        target = data
        *head, last = dotted.split("__")
        for part in head:
            target = target[part]
        if value is _DROP:
            target.pop(last)
        else:
            target[last] = value
    return json.dumps(data).encode()


_DROP = object()
Case = Callable[[World, dict[str, Terms]], tuple[bytes, str]]  # -> (body, content type)
JSON = "application/json"


def _case_table() -> list[tuple[str, Case, int, str]]:
    def ok(w: World, t: dict[str, Terms]) -> message.SignedRequest:
        return _signed(w, w.a, t["open"])

    now = lambda: int(time.time())  # noqa: E731
    return [
        ("forged signature", lambda w, t: (_body(ok(w, t), signature="0x" + "11" * 65), JSON), 401, "bad_signature"),
        ("zero signature", lambda w, t: (_body(ok(w, t), signature="0x" + "00" * 65), JSON), 401, "bad_signature"),
        (
            "signer not the requestor",
            lambda w, t: (message.body(_signed(w, w.b, t["open"])), JSON),
            401,
            "not_requestor",
        ),
        (
            "tampered escrow id after signing",
            lambda w, t: (_body(ok(w, t), request__escrowId=eid(t["b_open"])), JSON),
            401,
            "not_requestor",
        ),
        (
            "expired",
            lambda w, t: (message.body(_signed(w, w.a, t["open"], now=now() - 400, ttl=200)), JSON),
            401,
            "expired",
        ),
        (
            "window over 5 minutes",
            lambda w, t: (message.body(_signed(w, w.a, t["open"], ttl=3600)), JSON),
            401,
            "window",
        ),
        (
            "issued in the future",
            lambda w, t: (message.body(_signed(w, w.a, t["open"], now=now() + 600)), JSON),
            401,
            "future",
        ),
        (
            "escrow of another provider",
            lambda w, t: (message.body(_signed(w, w.a, t["other"], provider=w.p1.address)), JSON),
            403,
            "other_provider",
        ),
        (
            "request for another provider",
            lambda w, t: (message.body(_signed(w, w.a, t["open"], provider=w.p2.address)), JSON),
            403,
            "wrong_provider",
        ),
        (
            "unknown escrow",
            lambda w, t: (
                message.body(
                    message.sign(
                        message.new_request("0x" + "ab" * 32, w.p1.address),
                        w.a.key,
                        w.bank.chain_id,
                        w.bank.escrow.address,
                    )
                ),
                JSON,
            ),
            404,
            "unknown_escrow",
        ),
        ("stopped escrow", lambda w, t: (message.body(_signed(w, w.a, t["stopped"])), JSON), 409, "escrow_not_open"),
        (
            "cancelled escrow",
            lambda w, t: (message.body(_signed(w, w.a, t["cancelled"])), JSON),
            409,
            "escrow_not_open",
        ),
        ("declined escrow", lambda w, t: (message.body(_signed(w, w.a, t["declined"])), JSON), 409, "escrow_not_open"),
        (
            "moved escrow (no deposit left)",
            lambda w, t: (message.body(_signed(w, w.a, t["moved"])), JSON),
            409,
            "escrow_not_open",
        ),
        ("ended escrow", lambda w, t: (message.body(_signed(w, w.a, t["ended"])), JSON), 409, "escrow_not_open"),
        (
            "wrong chain id",
            lambda w, t: (message.body(_signed(w, w.a, t["open"], chain_id=1)), JSON),
            401,
            "not_requestor",
        ),
        (
            "wrong contract",
            lambda w, t: (message.body(_signed(w, w.a, t["open"], contract=w.bank.registry.address)), JSON),
            401,
            "not_requestor",
        ),
        ("not JSON", lambda w, t: (b"{request: nope", JSON), 400, "malformed"),
        ("empty body", lambda w, t: (b"", JSON), 400, "malformed"),
        ("JSON array", lambda w, t: (b"[]", JSON), 400, "malformed"),
        ("missing nonce", lambda w, t: (_body(ok(w, t), request__nonce=_DROP), JSON), 400, "malformed"),
        ("extra field", lambda w, t: (_body(ok(w, t), request__namespace="kube-system"), JSON), 400, "malformed"),
        (
            "expiresAt as a string",
            lambda w, t: (_body(ok(w, t), request__expiresAt=str(now() + 60)), JSON),
            400,
            "malformed",
        ),
        (
            "escrow id not hex",
            lambda w, t: (_body(ok(w, t), request__escrowId="0x" + "zz" * 32), JSON),
            400,
            "malformed",
        ),
        ("short signature", lambda w, t: (_body(ok(w, t), signature="0x1234"), JSON), 400, "malformed"),
        ("unknown action", lambda w, t: (_body(ok(w, t), request__action="admin"), JSON), 400, "malformed"),
        ("oversized body", lambda w, t: (_body(ok(w, t), pad="x" * 10_000), JSON), 413, "too_large"),
        ("wrong content type", lambda w, t: (message.body(ok(w, t)), "text/plain"), 415, "content_type"),
        (
            "form content type",
            lambda w, t: (message.body(ok(w, t)), "application/x-www-form-urlencoded"),
            415,
            "content_type",
        ),
    ]


CASES = _case_table()


@pytest.fixture(scope="module")
def escrows(world: World) -> dict[str, Terms]:
    w = world
    t = {
        "open": fund(w.a, w.p1),
        "b_open": fund(w.b, w.p1),
        "other": fund(w.a, w.p2),
        "stopped": fund(w.a, w.p1),
        "cancelled": fund(w.a, w.p1),
        "declined": fund(w.a, w.p1),
        "moved": fund(w.a, w.p1),
        "ended": fund(w.a, w.p1, seconds=900),
    }
    lease(w, w.a, t["stopped"])
    ops.stop(w.a.client, t["stopped"])
    ops.cancel(w.a.client, t["cancelled"])
    w.p1.client.send(w.p1.client.escrow.functions.decline(t["declined"].as_tuple()), what="decline")
    rate = int(w.bank.registry.functions.quote(w.p2.address, RES.as_tuple()).call())
    ops.change_provider(w.a.client, t["moved"], w.p2.address, rate)
    lease(w, w.a, t["ended"])  # started now; ends after 900 s of chain time
    advance(w.bank, 1000)
    assert ops.read_state(w.bank, t["ended"]).status == "Ended"
    return t


def _tenant_namespaces(admin: KubeAPI) -> list[str]:
    items = admin.get(f"/api/v1/namespaces?labelSelector={bundle.LABEL_GATEWAY}%3Dtenant")["items"]
    return sorted(i["metadata"]["name"] for i in items)


def _nonces(admin: KubeAPI) -> int:
    path = f"/api/v1/namespaces/{bundle.GATEWAY_NAMESPACE}/configmaps?labelSelector=linq.network%2Fgateway-nonce"
    return len(admin.get(path)["items"])


@pytest.mark.parametrize(("name", "build", "status", "code"), CASES, ids=[c[0] for c in CASES])
def test_bad_request_refused_with_nothing_created(
    world: World, escrows: dict[str, Terms], name: str, build: Case, status: int, code: str
) -> None:
    w = world
    before = (_tenant_namespaces(w.admin), _nonces(w.admin), ops.read_state(w.bank, escrows["open"]).status)
    raw, content_type = build(w, escrows)
    with pytest.raises(GatewayError) as caught:
        call(w.info, "POST", "/v1/leases", raw, content_type=content_type)
    assert (caught.value.status, caught.value.code) == (status, code), str(caught.value)
    assert str(caught.value)  # a sentence, naming the field and the fix
    after = (_tenant_namespaces(w.admin), _nonces(w.admin), ops.read_state(w.bank, escrows["open"]).status)
    assert after == before


def test_replayed_nonce_and_tls_pin(world: World, escrows: dict[str, Terms]) -> None:
    w = world
    signed = _signed(w, w.b, escrows["b_open"])
    first = call(w.replicas[0], "POST", "/v1/leases", message.body(signed))
    before = (_tenant_namespaces(w.admin), _nonces(w.admin))
    # The same request again, at the other replica: the nonce store is the cluster's, so it is a replay.
    with pytest.raises(GatewayError) as caught:
        call(w.replicas[1], "POST", "/v1/leases", message.body(signed))
    assert (caught.value.status, caught.value.code) == (401, "replayed_nonce")
    assert (_tenant_namespaces(w.admin), _nonces(w.admin)) == before and first["namespace"]
    # A pin that does not match: the client refuses before sending anything.
    wrong = GatewayInfo(url=w.info.url, tls_spki_sha256="00" * 32)
    fresh = _signed(w, w.b, escrows["b_open"])
    with pytest.raises(PinMismatch):
        call(wrong, "POST", "/v1/leases", message.body(fresh))
    assert not world_nonce_seen(w, fresh.request.nonce)


def world_nonce_seen(w: World, nonce: str) -> bool:
    try:
        w.admin.get(f"/api/v1/namespaces/{bundle.GATEWAY_NAMESPACE}/configmaps/n-{nonce[2:]}")
    except KubeError:
        return False
    return True


def test_two_replicas_race_on_one_nonce(world: World, escrows: dict[str, Terms]) -> None:
    import concurrent.futures

    w = world
    signed = _signed(w, w.a, escrows["open"])
    raw = message.body(signed)

    def send(info: GatewayInfo) -> str:
        try:
            call(info, "POST", "/v1/leases", raw)
            return "granted"
        except GatewayError as err:
            return err.code

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        outcomes = sorted(pool.map(send, w.replicas * 2))
    assert outcomes == ["granted", "replayed_nonce", "replayed_nonce", "replayed_nonce"]


# ----- revocation ---------------------------------------------------------------------------------------
def test_stopped_escrow_credentials_revoked_in_one_agent_pass(world: World, tmp_path: Path) -> None:
    w = world
    terms = fund(w.a, w.p1)
    got = lease(w, w.a, terms)
    api = tenant_api(got)
    ns = got["namespace"]
    assert status_of(api, "GET", f"/api/v1/namespaces/{ns}/pods") == 200
    ops.stop(w.a.client, terms)
    agent = Agent(
        w.p1.client,
        Cluster.connect(w.devnet.kubeconfig),
        Settings(state_file=tmp_path / "agent.json"),
        ActionLog(open(os.devnull, "w")),  # noqa: SIM115
    )
    agent.reconcile_once()
    assert lease_status(w.info, eid(terms))["credentials"] == "revoked"  # the pass deleted binding and account
    # The authorizer refuses (403) as soon as its informer sees the binding gone (milliseconds, longer on a loaded
    # machine); authentication fails (401) once the API server's token cache expires (10 s).
    wait_for(
        lambda: status_of(api, "GET", f"/api/v1/namespaces/{ns}/pods") in (401, 403) or None,
        what="the tenant's request refused",
        timeout=60,
    )
    wait_for(
        lambda: status_of(api, "GET", f"/api/v1/namespaces/{ns}/pods") == 401 or None,
        what="the token refused at authentication",
        timeout=60,
    )
    assert lease_status(w.info, eid(terms))["credentials"] == "revoked"
    with pytest.raises(GatewayError) as caught:
        lease(w, w.a, terms)
    assert caught.value.code == "escrow_not_open"


def test_partial_bundle_converges(world: World) -> None:
    """A gateway killed mid-creation left the namespace and half the bundle: the next request converges."""
    w = world
    terms = fund(w.a, w.p1)
    objs = bundle.objects(terms, bundle_options())
    ns = objs[0]["metadata"]["name"]
    w.admin.post("/api/v1/namespaces", objs[0])
    w.admin.post(f"/api/v1/namespaces/{ns}/resourcequotas", objs[1])
    got = lease(w, w.a, terms)
    assert got["namespace"] == ns
    assert [q["metadata"]["name"] for q in w.admin.get(f"/api/v1/namespaces/{ns}/resourcequotas")["items"]] == [
        "lease-quota"
    ]
    policies = w.admin.get(f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies")["items"]
    assert len(policies) == len([o for o in objs if o["kind"] == "NetworkPolicy"])
    assert _tenant_namespaces(w.admin).count(ns) == 1


def test_gateway_killed_mid_creation_converges_after_restart(world: World, tmp_path: Path) -> None:
    """A real gateway process SIGKILLed after it applied the namespace and the quota (a test-installed checkpoint
    hook), restarted: the next request yields one namespace with one bundle, and the lost request stays spent."""
    from tests.faultsite.linq_fault_hooks import fault_env

    w = world
    terms = fund(w.b, w.p1)
    ns = bundle.namespace_name(eid(terms))
    port = free_port()
    info = GatewayInfo(url=f"https://127.0.0.1:{port}", tls_spki_sha256=w.info.tls_spki_sha256)
    faulty = start_gateway(
        w.devnet,
        w.p1,
        port,
        tmp_path / "killed.log",
        env_extra=fault_env(os.environ, kill_at="gateway:applied:ResourceQuota"),
    )
    try:
        wait_for(lambda: _healthy(info), what="the faulty gateway healthy", timeout=90)
        signed = _signed(w, w.b, terms)
        with pytest.raises(GatewayError) as caught:
            call(info, "POST", "/v1/leases", message.body(signed))
        assert caught.value.code == "connection_lost"
        assert faulty.wait(timeout=30) == -9  # SIGKILL, as a crash would
    finally:
        if faulty.poll() is None:
            faulty.kill()
    assert ns in _tenant_namespaces(w.admin)  # half made: namespace and quota, nothing after
    assert w.admin.get(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings")["items"] == []
    restarted = start_gateway(w.devnet, w.p1, port, tmp_path / "restarted.log")
    try:
        wait_for(lambda: _healthy(info), what="the restarted gateway healthy", timeout=90)
        with pytest.raises(GatewayError) as replay:
            call(info, "POST", "/v1/leases", message.body(signed))
        assert replay.value.code == "replayed_nonce"  # the killed request's nonce was consumed before the crash
        got = lease(w, w.b, terms, info)
    finally:
        restarted.terminate()
        restarted.wait(timeout=30)
    assert got["namespace"] == ns and got["status"] == "Active"
    assert _tenant_namespaces(w.admin).count(ns) == 1
    objs = bundle.objects(terms, bundle_options())
    kinds = {
        "ResourceQuota": f"/api/v1/namespaces/{ns}/resourcequotas",
        "LimitRange": f"/api/v1/namespaces/{ns}/limitranges",
        "NetworkPolicy": f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies",
        "RoleBinding": f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
    }
    for kind, url in kinds.items():
        want = sorted(o["metadata"]["name"] for o in objs if o["kind"] == kind)
        assert sorted(i["metadata"]["name"] for i in w.admin.get(url)["items"]) == want, kind
    assert status_of(tenant_api(got), "GET", f"/api/v1/namespaces/{ns}/pods") == 200


def bundle_options() -> Any:
    from linq.catalog.spec import RenderOptions

    return RenderOptions()
