"""`linq status --stack` on a stack brought up by the real Pulumi engine: deployments from the stack's
outputs, state computed live from the cluster (not the outputs), escrow read live from the chain."""

from __future__ import annotations

import json
import uuid

import pytest

from linq.chain.client import ChainClient
from linq.chain.network import devnet_profile
from linq.chain.signers import from_dev_account
from linq.contracts.terms import Terms
from linq.devnet import Devnet, anvil
from linq.devnet.accounts import advance, register_provider
from linq.devnet.kubeapi import KubeAPI
from linq.engine import inline_stack
from tests.integration.test_monitor_support import linq, linq_json, wait_for

pytestmark = pytest.mark.integration
PROJECT = "monitorapps"


def _program() -> None:
    from components.stack_program import run

    run()


def test_status_of_a_stack_live_from_cluster_and_chain(devnet: Devnet, tmp_path) -> None:
    provider = ChainClient(
        devnet_profile(devnet.state_dir), from_dev_account(devnet.state_dir, anvil.LOCAL_PROVIDER_INDEX)
    )
    register_provider(provider)
    name = f"web-{uuid.uuid4().hex[:6]}"
    stack_name = f"mon{uuid.uuid4().hex[:6]}"
    deployments = [
        {
            "name": name,
            "image": "ghcr.io/example/web:2.1.0",
            "provider": "local",
            "duration": "3h",
            "ports": [{"name": "http", "containerPort": 8080}],
            "resources": {"cpuMillis": 500, "memoryMiB": 512, "storageGiB": 0},
        }
    ]
    stack = inline_stack(
        devnet,
        project=PROJECT,
        stack=stack_name,
        program=_program,
        work_dir=tmp_path,
        config={
            "linq:devAccount": "2",
            "linq:network": json.dumps({"kind": "devnet", "devnetDir": str(devnet.state_dir)}),
            "linq:providers": json.dumps({"local": {"clusterId": "devnet", "devnet": True}}),
            "linq:deployments": json.dumps(deployments),
        },
    )
    try:
        up = stack.up()
        recorded = up.outputs["deployments"].value[name]
        flags = ("--stack", f"{PROJECT}/{stack_name}", "--devnet-dir", str(devnet.state_dir))

        code, status = linq_json("status", *flags)
        assert code == 0 and status["healthy"] is True
        (row,) = status["deployments"]
        assert (row["name"], row["state"], row["namespace"]) == (name, "Running", recorded["namespace"])
        assert row["endpoint"] == recorded["endpoint"] and row["endpoint"].endswith(":8080")
        assert row["provider"] == recorded["provider"] == provider.address.lower()
        assert row["plan"]["cpu_request_millis"] == 500 and row["plan"]["memory_request_bytes"] == 512 * 2**20
        escrow = row["escrow"]
        assert escrow["id"] == recorded["escrow"]["id"] and escrow["source"].startswith("chain http://127.0.0.1:")
        assert escrow["deposited"] == recorded["escrow"]["deposited"] and escrow["status"] == "Created"

        # the provider starts the escrow and time passes: status reads the chain now, not the outputs
        terms = escrow_terms(provider, escrow["id"])
        provider.send(provider.escrow.functions.start(terms.as_tuple()), what="start")
        now = advance(provider, 3600)
        code, status = linq_json("status", *flags)
        live = status["deployments"][0]["escrow"]
        assert live["status"] == "Active" and live["runway"] == live["end"] - now
        assert int(live["remaining"]) < int(recorded["escrow"]["deposited"])

        code, text, _ = linq("status", *flags)
        assert code == 0 and name in text and "Running" in text and "%" in text and "empty:" in text

        # scaled to zero behind the stack's back: the outputs still say Running, status says Stopped
        api = KubeAPI.from_kubeconfig(devnet.kubeconfig)
        path = f"/apis/apps/v1/namespaces/{recorded['namespace']}/deployments/{row['name']}"
        api.request("PATCH", path, {"spec": {"replicas": 0}}, content_type="application/merge-patch+json")
        wait_for(
            lambda: not [p for p in api.get(f"/api/v1/namespaces/{recorded['namespace']}/pods")["items"]],
            what="pods gone after scaling to 0",
        )
        code, status = linq_json("status", *flags)
        assert code == 0 and status["deployments"][0]["state"] == "Stopped"
        assert status["deployments"][0]["declared_state"] == "Running"

        # the tenant namespace carries the escrow id: `linq issues` finds the escrow without the stack
        code, report = linq_json("issues", name, "--devnet-dir", str(devnet.state_dir), "--runway-threshold", "4h")
        assert code == 1 and [i["kind"] for i in report["issues"]] == ["runway-low"]

        code, _out, err = linq("status", "--stack", f"{PROJECT}/nosuchstack", "--devnet-dir", str(devnet.state_dir))
        assert code == 2 and "nosuchstack" in err and "pulumi stack ls" in err
    finally:
        stack.destroy()
        stack.workspace.remove_stack(stack_name)


def escrow_terms(client: ChainClient, escrow_id: str) -> Terms:
    from linq.chain import escrows as ops

    terms = ops.find_by_id(client, bytes.fromhex(escrow_id[2:]))
    assert terms is not None
    return ops.follow(client, terms)
