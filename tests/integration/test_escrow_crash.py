"""Crash safety: the dynamic provider process is SIGKILLed at each step of create, then `up` runs again.
Exactly one escrow must exist for the resource and the requestor must have paid exactly once."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
from pulumi import automation as auto

from linq.chain import ChainClient
from linq.chain import escrows as ops
from linq.contracts.terms import Resources
from linq.devnet import Devnet
from linq.devnet.accounts import deployer, fresh_wallet, register_provider
from linq.engine import inline_stack
from linq.protocol.money import deposit_for
from tests.faultsite.linq_fault_hooks import ENV_KILL_AT, fault_env

pytestmark = pytest.mark.integration

KILL_POINTS = [
    "escrow:before-approve",  # nothing sent yet
    "escrow:after-approve",  # approve mined, create not built
    "create:before-send",  # create signed, not sent
    "create:after-send",  # create sent, receipt not read
    "escrow:before-state-write",  # create mined, Pulumi state not written
]


def test_killed_at_every_create_step_funds_exactly_once(devnet: Devnet, tmp_path: Path) -> None:
    bank = deployer(devnet.state_dir)
    _pkey, psigner = fresh_wallet(bank, lnq=0)
    provider = ChainClient(bank.profile, psigner)
    register_provider(provider, cpu=16_000)
    key, signer = fresh_wallet(bank, lnq=10**18)
    requestor = ChainClient(bank.profile, signer)
    names: list[str] = []

    def program() -> None:
        from components.escrow import Escrow

        for name in names:
            Escrow(
                name,
                provider=provider.address,
                resources={"cpu": "1", "memory": "1Gi", "storage": "10Gi"},
                duration="15m",
            )

    stack = inline_stack(
        devnet, project="escrowcrash", stack=f"c{uuid.uuid4().hex[:8]}", program=program, work_dir=tmp_path
    )
    stack.set_config("linq:signerKey", auto.ConfigValue(key, secret=True))
    stack.workspace.env_vars["PYTHONPATH"] = fault_env(os.environ)["PYTHONPATH"]  # the test-only fault hook
    stack.set_config(
        "linq:network", auto.ConfigValue(json.dumps({"kind": "devnet", "devnetDir": str(devnet.state_dir)}))
    )
    rate = int(bank.registry.functions.quote(provider.address, Resources(1000, 1024, 10).as_tuple()).call())
    deposit = deposit_for(rate, 900)

    for point in KILL_POINTS:
        name = "e-" + point.replace(":", "-")
        names.append(name)
        before = requestor.lnq_balance(requestor.address)
        stack.workspace.env_vars[ENV_KILL_AT] = point
        with pytest.raises(auto.errors.CommandError):
            stack.up()
        del stack.workspace.env_vars[ENV_KILL_AT]
        result = stack.up()
        assert result.summary.resource_changes.get("create") == 1, (point, result.summary.resource_changes)

        seed = f"escrowcrash/{stack.name}/linq:escrow:Escrow/{name}"
        created = ops.created_by(requestor, requestor.address)
        mine = [created[s] for s in (ops.salt_for(seed, g) for g in range(3)) if s in created]
        assert len(mine) == 1, (point, mine)
        assert requestor.lnq_balance(requestor.address) == before - deposit, point
        assert requestor.allowance(requestor.address) == 0, point  # the approve was consumed, not repeated
        outs = next(r for r in stack.export_stack().deployment["resources"] if r["urn"].endswith(f"::{name}"))
        assert outs["outputs"]["escrow_id"] == "0x" + mine[0].escrow_id.hex()
    stack.destroy()
    stack.workspace.remove_stack(stack.name)
