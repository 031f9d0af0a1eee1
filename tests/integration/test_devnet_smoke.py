"""The Foundation's smoke tests: each real part of the devnet works, end to end."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3

from linq.devnet import Devnet, anvil
from linq.devnet.kubeapi import KubeAPI
from linq.engine import inline_stack
from linq.tools import locate, versions
from tests.waiting import wait_for

pytestmark = pytest.mark.integration


def test_every_part_is_healthy(devnet: Devnet) -> None:
    rows = {row["part"]: row["state"] for row in devnet.status()}
    expected = {
        "anvil",
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kwok",
        "provisioner",
        "watchdog",
        "contracts",
        "pulumi",
        "gateway",
    }
    assert expected <= set(rows), rows
    assert all(state == "healthy" for state in rows.values()), rows


def test_transaction_on_anvil_lands(devnet: Devnet, rpc_url: str) -> None:
    w3 = Web3(Web3.HTTPProvider(rpc_url))
    sender = Account.from_key(anvil.dev_keys(devnet.state_dir)[1])
    receiver = Account.create().address
    tx = {
        "to": receiver,
        "value": 12345,
        "nonce": w3.eth.get_transaction_count(sender.address),
        "gas": 21_000,
        "maxFeePerGas": w3.to_wei(2, "gwei"),
        "maxPriorityFeePerGas": 1,
        "chainId": w3.eth.chain_id,
        "type": 2,
    }
    tx_hash = w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10)
    assert receipt.status == 1
    assert w3.eth.get_balance(receiver) == 12345


def test_pulumi_cli_is_the_pinned_version() -> None:
    out = subprocess.run([str(locate.require("pulumi")), "version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"v{versions.PULUMI}"


def test_pulumi_engine_deploys_to_kwok_node_and_destroys(devnet: Devnet, tmp_path) -> None:
    """Real engine, real Kubernetes provider plugin (no download), real API server; Deployment Available."""
    import pulumi
    import pulumi_kubernetes as k8s

    name = f"smoke-{uuid.uuid4().hex[:6]}"

    def program() -> None:
        provider = k8s.Provider("devnet", kubeconfig=devnet.kubeconfig.read_text())
        opts = pulumi.ResourceOptions(provider=provider)
        ns = k8s.core.v1.Namespace(name, metadata={"name": name}, opts=opts)
        labels = {"app": name}
        k8s.apps.v1.Deployment(
            name,
            metadata={"namespace": ns.metadata["name"], "name": name},
            spec={
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {
                                "name": "web",
                                "image": "nginx:1.27.3",
                                "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}},
                            }
                        ]
                    },
                },
            },
            opts=opts,
        )
        pulumi.export("namespace", ns.metadata["name"])

    stack = inline_stack(devnet, project="smoke", stack=name, program=program, work_dir=tmp_path)
    events: list[dict] = []
    up = stack.up(on_event=lambda e: events.append(e.__dict__ if hasattr(e, "__dict__") else {}))
    assert up.summary.result == "succeeded"
    assert up.outputs["namespace"].value == name

    api = KubeAPI.from_kubeconfig(devnet.kubeconfig)
    deployment = api.get(f"/apis/apps/v1/namespaces/{name}/deployments/{name}")
    assert deployment["status"]["availableReplicas"] == 2
    pods = api.get(f"/api/v1/namespaces/{name}/pods")["items"]
    assert {p["spec"]["nodeName"] for p in pods} <= {"lp-node-0", "lp-gpu-0"}
    assert all(p["status"]["phase"] == "Running" for p in pods)

    # The kubernetes plugin is the pinned local build, loaded without any download.
    deployment_state = stack.export_stack().deployment
    providers = [r for r in deployment_state["resources"] if r["type"] == "pulumi:providers:kubernetes"]
    assert [p["inputs"].get("version") for p in providers] == [versions.PULUMI_KUBERNETES]
    plugin_cache = Path(devnet.environment()["PULUMI_HOME"]) / "plugins"
    installed = [p.name for p in plugin_cache.glob("resource-kubernetes-*") if p.is_dir()]
    assert installed == [f"resource-kubernetes-v{versions.PULUMI_KUBERNETES}"]
    cached_binary = plugin_cache / installed[0] / "pulumi-resource-kubernetes"
    assert cached_binary.read_bytes() == locate.require("pulumi-resource-kubernetes").read_bytes()

    assert stack.preview().change_summary.get("same") == 4  # stack, provider, namespace, deployment

    stack.destroy()
    wait_for(
        lambda: name not in {n["metadata"]["name"] for n in api.get("/api/v1/namespaces")["items"]},
        what=f"namespace {name} deleted",
    )
    stack.workspace.remove_stack(name)


def test_pulumi_cli_runs_a_python_project_through_our_language_host(devnet: Devnet, tmp_path) -> None:
    """`pulumi up` on a Pulumi.yaml project: the CLI starts `pulumi-language-python` (ours) and the program."""
    from linq.engine import project_stack

    (tmp_path / "Pulumi.yaml").write_text(
        f"name: langhost\nruntime:\n  name: python\n  options:\n    virtualenv: {locate.PROJECT_ROOT / '.venv'}\n"
    )
    (tmp_path / "__main__.py").write_text(
        "import pulumi\n"
        "config = pulumi.Config()\n"
        "pulumi.export('greeting', 'hello ' + config.require('who'))\n"
        "pulumi.export('secret_len', config.require_secret('token').apply(len))\n"
    )
    stack = project_stack(devnet, stack="dev", work_dir=tmp_path)
    from pulumi import automation as auto

    stack.set_config("who", auto.ConfigValue("devnet"))
    stack.set_config("token", auto.ConfigValue("s3cr3t-value", secret=True))
    result = stack.up()
    assert result.outputs["greeting"].value == "hello devnet"
    assert result.outputs["secret_len"].value == len("s3cr3t-value")
    assert result.outputs["secret_len"].secret
    state_text = json.dumps(stack.export_stack().deployment)
    assert "s3cr3t-value" not in state_text
    # A program error is reported as a failed update, not a hang.
    (tmp_path / "__main__.py").write_text("raise SystemExit('boom from the program')\n")
    with pytest.raises(auto.CommandError, match="boom from the program"):
        stack.up()
    stack.destroy()
