"""A requestor stack with no kubeconfig and no `linq:providers` entry, on the devnet with the real Pulumi engine:
the registry matches a provider that runs a real gateway over TLS (`linq provider gateway`), `pulumi up` creates
the escrow, obtains lease access with the requestor's key alone and applies only the workload objects into the
lease namespace (the gateway owns the namespace and its isolation bundle); the credential is kept in state as a
secret and renewed, updating only the cluster provider, when it is refused or near expiry (an unchanged stack
previews with no change); `pulumi destroy` settles."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from pulumi import automation as auto

from linq.chain import escrows as ops
from linq.cli import main as linq_cli
from linq.devnet import Devnet
from linq.devnet.accounts import deployer, register_provider
from linq.devnet.kubeapi import KubeAPI, KubeError
from linq.devnet.process import free_port
from linq.engine import backend_state_text, inline_stack
from linq.gateway import bundle
from linq.gateway.meta import GatewayInfo
from linq.protocol.status import SETTLED
from tests.integration.test_gateway import Party, _healthy, party, start_gateway
from tests.waiting import wait_for

pytestmark = pytest.mark.integration


@dataclass
class Market:
    devnet: Devnet
    provider: Party
    requestor: Party
    region: str
    gateway: subprocess.Popen[bytes]
    port: int
    log: Path


@pytest.fixture(scope="module")
def market(devnet: Devnet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    bank = deployer(devnet.state_dir)
    provider, requestor = party(bank, provider=True), party(bank, provider=False)
    region = f"gw-{uuid.uuid4().hex[:6]}"  # only this provider serves it, whatever else the devnet holds
    register_provider(provider.client, region=region)
    port = free_port()
    log = tmp_path_factory.mktemp("gateway-stack") / "gateway.log"
    proc = start_gateway(devnet, provider, port, log)
    try:
        url = f"https://127.0.0.1:{port}"
        wait_for(lambda: _served(url), what="the gateway's TLS port", timeout=90)
        result = CliRunner().invoke(
            linq_cli,
            ["provider", "update", "--devnet-dir", str(devnet.state_dir), "--gateway", url, "--json"],
            env={"LINQ_PRIVATE_KEY": provider.key},
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        market = Market(devnet, provider, requestor, region, proc, port, log)
        yield market
        proc = market.gateway  # the test restarts it
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        print(log.read_text()[-3000:])


def _served(url: str) -> bool | None:
    from linq.chain.errors import InputError
    from linq.gateway.meta import served_pin

    try:
        return _healthy(GatewayInfo(url=url, tls_spki_sha256=served_pin(url, timeout=5))) or None
    except InputError:
        return None


def _changes(summary: dict) -> dict[str, int]:
    """The operations of a preview/up summary other than `same`, by name."""
    named = {str(getattr(k, "value", k)): v for k, v in summary.items()}
    return {k: v for k, v in named.items() if k != "same" and v}


def _lease_token(stack: auto.Stack) -> str:
    """The bearer token the stack's lease credential holds (decrypted by the engine's export)."""
    resources = stack.export_stack().deployment["resources"]
    [credential] = [r for r in resources if r["type"].endswith("lease:LeaseCredential")]
    kubeconfig = credential["outputs"]["kubeconfig"]
    if isinstance(kubeconfig, dict):  # a secret, exported decrypted beside its marker, JSON-encoded
        kubeconfig = json.loads(kubeconfig["plaintext"])
    return str(json.loads(kubeconfig)["users"][0]["user"]["token"])


def _program():
    from components.stack_program import run

    run()


def test_stack_without_kubeconfig_deploys_through_the_matched_gateway(market: Market, tmp_path: Path) -> None:
    m = market
    admin = KubeAPI.from_kubeconfig(m.devnet.kubeconfig)
    name = f"kuma-{uuid.uuid4().hex[:6]}"
    stack = inline_stack(m.devnet, project="gwapps", stack=name, program=_program, work_dir=tmp_path)
    deployment = {"name": name, "template": "uptime-kuma", "duration": "2h", "region": m.region}
    stack.set_config(
        "linq:network", auto.ConfigValue(json.dumps({"kind": "devnet", "devnetDir": str(m.devnet.state_dir)}))
    )
    stack.set_config("linq:signerKey", auto.ConfigValue(m.requestor.key, secret=True))
    stack.set_config("linq:deployments", auto.ConfigValue(json.dumps([deployment])))
    assert "linq:providers" not in stack.get_all_config()

    log: list[str] = []
    up = stack.up(on_output=log.append)
    assert up.summary.result == "succeeded"
    out = up.outputs["deployments"].value[name]
    assert out["provider"] == m.provider.address.lower()  # the registry's match
    assert out["state"] == "Running"
    escrow_id = out["escrow"]["id"]
    namespace = bundle.namespace_name(escrow_id)
    assert out["namespace"] == namespace
    assert out["endpoint"].startswith(f"http://{name}.{namespace}.svc.cluster.local:")
    terms = ops.find_by_id(m.requestor.client, bytes.fromhex(escrow_id[2:]))
    assert terms is not None
    # The first credential started it (docs/gateway.md); the stack's escrow output shows it from the next read.
    assert ops.read_state(m.requestor.client, terms).status == "Active"
    assert any(f"matched {m.provider.address}" in line for line in log), log

    # The gateway's bundle, not the requestor's render, shapes isolation; the requestor applied the workload.
    ns = admin.get(f"/api/v1/namespaces/{namespace}")
    assert ns["metadata"]["annotations"]["linq.network/escrow-id"] == escrow_id
    quotas = [q["metadata"]["name"] for q in admin.get(f"/api/v1/namespaces/{namespace}/resourcequotas")["items"]]
    assert quotas == ["lease-quota"]
    sts = admin.get(f"/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}")
    managers = {f["manager"] for f in sts["metadata"]["managedFields"]}
    assert "linq-gateway" not in managers
    with pytest.raises(KubeError):  # the requestor's own render never created its namespace
        admin.get(f"/api/v1/namespaces/{out['namespace'].replace('lq-e-', 'lq-' + name + '-')}")
    uid = sts["metadata"]["uid"]
    state_text = backend_state_text(m.devnet, "gwapps", name)
    assert m.requestor.key[2:] not in state_text
    token = _lease_token(stack)
    assert len(token) > 100 and token not in state_text  # the credential is a secret in state: only ciphertext

    # Unchanged stack: the credential is kept (more than 15 min of its hour left, still accepted), so
    # preview and up show no change at all, and the workload is untouched.
    assert _changes(stack.preview().change_summary) == {}
    log.clear()
    again = stack.up(on_output=log.append)
    assert again.summary.result == "succeeded"
    assert _changes(again.summary.resource_changes or {}) == {}, again.summary.resource_changes
    assert any(f"lease access to {namespace}" in line for line in log), log
    assert _lease_token(stack) == token

    # Revoked (the tenant binding deleted, as the agent does when an escrow ends): the next run detects the
    # refusal and renews; only the credential and the cluster provider update, the workload stays.
    admin.delete(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings/{bundle.TENANT_BINDING}")
    assert _changes(stack.preview().change_summary).get("update", 0) >= 1
    renewed = stack.up(on_output=log.append)
    assert renewed.summary.result == "succeeded"
    changes = _changes(renewed.summary.resource_changes or {})
    assert set(changes) == {"update"} and changes["update"] >= 1, changes
    assert _lease_token(stack) != token
    assert admin.get(f"/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}")["metadata"]["uid"] == uid
    assert _changes(stack.preview().change_summary) == {}

    # The gateway gone when a renewal is due (the binding deleted again): `up` fails with the house-style
    # sentence (field, value, fix), not a Python traceback.
    m.gateway.terminate()
    m.gateway.wait(timeout=30)
    admin.delete(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings/{bundle.TENANT_BINDING}")
    with pytest.raises(auto.errors.CommandError) as failed:
        stack.up()
    text = str(failed.value)
    assert f"lease access for escrow {escrow_id}: gateway: 'https://127.0.0.1:" in text, text[-3000:]
    assert "failed (unreachable)" in text and "check that the provider's gateway is up" in text, text[-3000:]
    assert "Traceback" not in text, text[-3000:]

    # The gateway back: the same `up` renews the credential and succeeds; the workload was never touched.
    m.gateway = start_gateway(m.devnet, m.provider, m.port, m.log)
    wait_for(lambda: _served(f"https://127.0.0.1:{m.port}"), what="the restarted gateway's TLS port", timeout=90)
    recovered = stack.up()
    assert recovered.summary.result == "succeeded"
    assert admin.get(f"/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}")["metadata"]["uid"] == uid

    destroyed = stack.destroy()
    assert destroyed.summary.result == "succeeded"
    with pytest.raises(KubeError):
        admin.get(f"/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}")
    assert ops.read_state(m.requestor.client, terms).status in SETTLED
    stack.workspace.remove_stack(name)
