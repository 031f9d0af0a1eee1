"""The sanity ceiling when a deployment gives neither `deposit` nor `maxPricePerHour`, through the real Pulumi
engine: `pulumi preview` of the stack program refuses a duration whose registry-priced deposit is above
linq:limits.maxDeposit (one message, no traceback, LNQ and wei), sends nothing, and a raised limit previews."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from pulumi import automation as auto

from linq.chain import ChainClient
from linq.chain import escrows as ops
from linq.chain.network import devnet_profile
from linq.chain.signers import from_dev_account
from linq.devnet import Devnet, anvil
from linq.devnet.accounts import register_provider
from linq.engine import inline_stack
from linq.placement import size_of
from linq.protocol.money import deposit_for
from linq.stackconfig import load_stack_values

pytestmark = pytest.mark.integration
DEPLOYMENT = {
    "name": "web",
    "image": "ghcr.io/example/web:2.1.0",
    "provider": "local",
    "duration": "7d",
    "ports": [{"name": "http", "containerPort": 8080}],
    "resources": {"cpuMillis": 500, "memoryMiB": 512, "storageGiB": 0},
}


def _money(payer: ChainClient) -> tuple[int, int, int, int]:
    address = payer.address
    return (
        payer.lnq_balance(address),
        payer.allowance(address),
        len(ops.created_by(payer, address)),
        payer.nonce(address),
    )


def _program() -> None:
    from components.stack_program import run

    run()


def test_preview_refuses_a_priced_deposit_above_the_limit(devnet: Devnet, tmp_path: Path) -> None:
    provider = ChainClient(
        devnet_profile(devnet.state_dir), from_dev_account(devnet.state_dir, anvil.LOCAL_PROVIDER_INDEX)
    )
    register_provider(provider)
    payer = ChainClient(devnet_profile(devnet.state_dir), from_dev_account(devnet.state_dir, 2))
    config = {
        "linq:devAccount": "2",
        "linq:network": json.dumps({"kind": "devnet", "devnetDir": str(devnet.state_dir)}),
        "linq:providers": json.dumps({"local": {"clusterId": "devnet", "devnet": True}}),
        "linq:deployments": json.dumps([DEPLOYMENT]),
        "linq:limits": json.dumps({"maxDeposit": "0.001 LNQ"}),
    }
    deployment = load_stack_values({**config, "linq:network": {"kind": "devnet"}}).deployments[0]
    size = size_of(deployment)
    rate = int(
        provider.registry.functions.quote(
            provider.address, (size.cpu_millis, size.memory_mib, size.reserved_storage_gib, 0, 0)
        ).call()
    )
    worst = deposit_for(rate, 7 * 86400)
    assert worst > 10**15, "the case needs the priced deposit above the 0.001 LNQ limit"

    name = f"p{uuid.uuid4().hex[:6]}"
    stack = inline_stack(devnet, project="pricedlimit", stack=name, program=_program, work_dir=tmp_path, config=config)
    before = _money(payer)
    try:
        with pytest.raises(auto.CommandError) as err:
            stack.preview()
        text = str(err.value)
        assert "linq:deployments.web.duration: 7d at " in text, text[-3000:]
        assert "registry price" in text and f"({rate} wei/h) can lock" in text and f"({worst} wei)" in text
        assert "above the stack's limit 0.001 LNQ (1000000000000000 wei)" in text
        assert "raise linq:limits.maxDeposit explicitly" in text and "Traceback" not in text
        assert _money(payer) == before

        stack.set_config("linq:limits", auto.ConfigValue(json.dumps({"maxDeposit": "1000 LNQ"})))
        preview = stack.preview()  # raised explicitly: the same deployment previews
        assert (preview.change_summary.get(auto.OpType.CREATE) or 0) > 0
    finally:
        stack.workspace.remove_stack(stack.name)
