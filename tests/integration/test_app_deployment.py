"""AppDeployment through the declarative stack program, on the devnet, with the real Pulumi engine."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from pulumi import automation as auto

from linq.catalog import namespace_for
from linq.devnet import Devnet, anvil
from linq.devnet.kubeapi import KubeAPI, KubeError
from linq.engine import backend_state_text, inline_stack

pytestmark = pytest.mark.integration

USER_SECRET = "sk-test-" + uuid.uuid4().hex  # must never appear in state or output in plaintext


PROVIDER_INDEX, REQUESTOR_INDEX = 3, 4  # dev accounts of this module (others use their own)


def registered_provider(devnet: Devnet) -> str:
    from linq.chain.client import ChainClient
    from linq.chain.devaccounts import register_provider
    from linq.chain.network import devnet_profile
    from linq.chain.signers import from_dev_account

    client = ChainClient(devnet_profile(devnet.state_dir), from_dev_account(devnet.state_dir, PROVIDER_INDEX))
    register_provider(client)
    return client.signer.address


def lnq_balance(devnet: Devnet, address: str) -> int:
    from web3 import Web3

    from linq.contracts.deploy import contract

    w3 = Web3(Web3.HTTPProvider(devnet.read()[1].rpc_url))
    return int(contract(w3, "LNQ", json.loads(devnet.addresses_file.read_text())["lnq"]).functions.balanceOf(
        Web3.to_checksum_address(address)).call())  # fmt: skip


def stack_config(devnet: Devnet, provider: str, name: str, **deployment) -> dict[str, auto.ConfigValue]:
    deployments = [{"name": name, "template": "open-webui", "plan": "basic", "duration": "24h",
                    "provider": provider, "secrets": {"OPENAI_API_KEY": "openaiKey"}, **deployment}]  # fmt: skip
    return {
        "linq:devAccount": auto.ConfigValue(str(REQUESTOR_INDEX)),
        "linq:network": auto.ConfigValue(json.dumps({"kind": "devnet", "devnetDir": str(devnet.state_dir)})),
        "linq:providers": auto.ConfigValue(json.dumps({provider: {"clusterId": "devnet", "devnet": True}})),
        "linq:deployments": auto.ConfigValue(json.dumps(deployments)),
        "linq:openaiKey": auto.ConfigValue(USER_SECRET, secret=True),
    }


def _program():
    from components.stack_program import run

    run()


def test_open_webui_deploys_isolated_and_converges(devnet: Devnet, tmp_path) -> None:
    provider = registered_provider(devnet)
    requestor = anvil.dev_addresses(devnet.state_dir)[REQUESTOR_INDEX]
    requestor_before, provider_before = lnq_balance(devnet, requestor), lnq_balance(devnet, provider)
    name = f"chat-{uuid.uuid4().hex[:6]}"
    stack = inline_stack(devnet, project="apps", stack=name, program=_program, work_dir=tmp_path)
    for key, value in stack_config(devnet, provider, name).items():
        stack.set_config(key, value)
    output: list[str] = []
    up = stack.up(on_output=output.append)
    assert up.summary.result == "succeeded"
    deployed = up.outputs["deployments"].value[name]
    namespace = namespace_for(name)
    assert deployed["namespace"] == namespace
    assert deployed["state"] == "Running"
    assert deployed["endpoint"].startswith(f"http://{name}.{namespace}.svc.cluster.local:")
    escrow = deployed["escrow"]
    assert escrow["status"] == "Created"
    deposit = int(escrow["deposited"])
    # funded for 24h at the provider's registry price, exactly: ceilDiv(rate * seconds, 3600)
    assert deposit == -(-int(escrow["ratePerHour"]) * 24 * 3600 // 3600)
    assert lnq_balance(devnet, requestor) == requestor_before - deposit

    api = KubeAPI.from_kubeconfig(devnet.kubeconfig)
    ns = api.get(f"/api/v1/namespaces/{namespace}")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    assert ns["metadata"]["annotations"]["linq.network/escrow-id"] == escrow["id"]
    assert ns["metadata"]["annotations"]["linq.network/provider"] == provider.lower()
    workload = api.get(f"/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}")
    assert workload["status"].get("readyReplicas") == 1
    netpols = api.get(f"/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies")["items"]
    policies = {p["metadata"]["name"] for p in netpols}
    assert "default-deny" in policies
    secret = api.get(f"/api/v1/namespaces/{namespace}/secrets/{name}-secrets")
    assert set(secret["data"]) == {"OPENAI_API_KEY", "WEBUI_SECRET_KEY"}

    # secrets: user and generated values never in plaintext in state or engine output
    state = backend_state_text(devnet, "apps", name)
    assert USER_SECRET not in state and USER_SECRET not in "\n".join(output)
    import base64

    generated = base64.b64decode(secret["data"]["WEBUI_SECRET_KEY"]).decode()
    assert len(generated) == 48 and generated not in state

    # a second `up` changes nothing; the generated secret is kept
    again = stack.up()
    assert again.summary.resource_changes.get("update", 0) == 0
    assert again.summary.resource_changes.get("create", 0) == 0
    secret_after = api.get(f"/api/v1/namespaces/{namespace}/secrets/{name}-secrets")
    assert secret_after["data"]["WEBUI_SECRET_KEY"] == secret["data"]["WEBUI_SECRET_KEY"]

    # stop is expressible in the stack: zero replicas, state Stopped, and the escrow (never started) refunded in full
    stack.set_config("linq:deployments", stack_config(devnet, provider, name, state="stopped")["linq:deployments"])
    stopped = stack.up()
    assert stopped.outputs["deployments"].value[name]["state"] == "Stopped"
    assert api.get(f"/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}")["spec"]["replicas"] == 0
    assert lnq_balance(devnet, requestor) == requestor_before
    assert lnq_balance(devnet, provider) == provider_before

    stack.destroy()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            api.get(f"/api/v1/namespaces/{namespace}")
        except KubeError as error:
            assert error.status == 404
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"namespace {namespace} still exists after destroy")
    stack.workspace.remove_stack(name)


def test_bad_stack_config_fails_at_preview_naming_the_field(devnet: Devnet, tmp_path) -> None:
    provider = anvil.dev_addresses(devnet.state_dir)[PROVIDER_INDEX]
    stack = inline_stack(devnet, project="apps", stack="bad-config", program=_program, work_dir=tmp_path)
    for key, value in stack_config(devnet, provider, "bad", duration="forever").items():
        stack.set_config(key, value)
    with pytest.raises(auto.CommandError) as failure:
        stack.preview()
    assert "linq:deployments.0.duration" in str(failure.value)
    assert "'forever'" in str(failure.value)
