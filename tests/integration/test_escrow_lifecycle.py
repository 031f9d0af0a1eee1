"""The Escrow resource through the real Pulumi engine on the devnet: up funds, a second up changes nothing,
a longer duration tops up in place, refresh sees a withdrawal and a finalize made outside Pulumi, destroy
settles — and every LNQ balance moves by exactly the expected wei."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto

from linq.chain import ChainClient
from linq.chain import escrows as ops
from linq.contracts.terms import Resources
from linq.devnet import Devnet
from linq.devnet.accounts import advance, deployer, fresh_wallet, register_provider
from linq.engine import inline_stack
from linq.protocol.money import deposit_for, earned

pytestmark = pytest.mark.integration
RES = {"cpu": "1", "memory": "1Gi", "storage": "10Gi"}


def escrow_stack(devnet: Devnet, work_dir: Path, program: Callable[[], None], key: str) -> auto.Stack:
    stack = inline_stack(
        devnet, project="escrowlife", stack=f"t{uuid.uuid4().hex[:8]}", program=program, work_dir=work_dir
    )
    stack.set_config("linq:signerKey", auto.ConfigValue(key, secret=True))
    stack.set_config(
        "linq:network", auto.ConfigValue(json.dumps({"kind": "devnet", "devnetDir": str(devnet.state_dir)}))
    )
    return stack


def escrow_state(stack: auto.Stack) -> dict[str, Any]:
    """The Escrow's outputs as recorded in the state (refresh updates these, not the stack exports)."""
    resources = stack.export_stack().deployment["resources"]
    return next(r for r in resources if r["type"].endswith(":Escrow"))["outputs"]


@pytest.fixture(scope="module")
def bank(devnet: Devnet) -> ChainClient:
    return deployer(devnet.state_dir)


def _provider(bank: ChainClient) -> ChainClient:
    _key, signer = fresh_wallet(bank, lnq=0)
    client = ChainClient(bank.profile, signer)
    register_provider(client, cpu=8000)
    return client


def test_up_noop_topup_refresh_destroy(devnet: Devnet, bank: ChainClient, tmp_path: Path) -> None:
    provider = _provider(bank)
    key, signer = fresh_wallet(bank, lnq=10**18)
    requestor = ChainClient(bank.profile, signer)
    wanted = {"duration": "20m"}

    def program() -> None:
        from components.escrow import Escrow

        Escrow("web", provider=provider.address, resources=RES, duration=wanted["duration"])

    stack = escrow_stack(devnet, tmp_path, program, key)
    start_balance = requestor.lnq_balance(requestor.address)
    rate = int(bank.registry.functions.quote(provider.address, Resources(1000, 1024, 10).as_tuple()).call())

    first = stack.up()
    assert first.summary.resource_changes == {"create": 2}
    outs = escrow_state(stack)
    assert outs["status"] == "Created" and outs["deposited"] == str(deposit_for(rate, 1200))
    assert requestor.lnq_balance(requestor.address) == start_balance - deposit_for(rate, 1200)

    assert stack.up().summary.resource_changes == {"same": 2}

    wanted["duration"] = "30m"
    grown = stack.up()
    assert grown.summary.resource_changes == {"same": 1, "update": 1}
    after = escrow_state(stack)
    assert after["escrow_id"] == outs["escrow_id"] and after["deposited"] == str(deposit_for(rate, 1800))
    assert requestor.lnq_balance(requestor.address) == start_balance - deposit_for(rate, 1800)
    assert "top_up" in after["tx_hashes"]

    # Outside Pulumi: the provider starts and withdraws; refresh must see it.
    terms = ops.find_by_salt(requestor, requestor.address, bytes.fromhex(after["terms"]["salt"][2:]))
    assert terms is not None
    provider.send(provider.escrow.functions.start(terms.as_tuple()), what="start")
    advance(bank, 600)
    ops.withdraw(provider, terms)
    paid = provider.lnq_balance(provider.address)
    stack.refresh()
    refreshed = escrow_state(stack)
    assert refreshed["status"] == "Active" and refreshed["withdrawn"] == str(paid) and paid > 0

    # Past the end, a third party finalizes; refresh reports who settled it.
    advance(bank, 1800)
    ops.finalize(bank, terms)
    stack.refresh()
    settled = escrow_state(stack)
    assert settled["status"] == "Completed"
    assert settled["settlement"]["event"] == "Finalized" and settled["settlement"]["by"] == bank.address
    assert settled["settlement"]["outside_pulumi"] is True

    stack.destroy()  # already settled: success, nothing sent
    total = deposit_for(rate, 1800)
    assert provider.lnq_balance(provider.address) == total
    assert requestor.lnq_balance(requestor.address) == start_balance - total
    stack.workspace.remove_stack(stack.name)


def test_provider_change_before_start_then_destroy_stops_exactly(
    devnet: Devnet, bank: ChainClient, tmp_path: Path
) -> None:
    first, second = _provider(bank), _provider(bank)
    key, signer = fresh_wallet(bank, lnq=10**18)
    requestor = ChainClient(bank.profile, signer)
    chosen = {"provider": first.address}

    def program() -> None:
        from components.escrow import Escrow

        Escrow("api", provider=chosen["provider"], resources=RES, duration="1h")

    stack = escrow_stack(devnet, tmp_path, program, key)
    start_balance = requestor.lnq_balance(requestor.address)
    stack.up()
    pulumi_id = next(r for r in stack.export_stack().deployment["resources"] if r["type"].endswith(":Escrow"))["id"]
    chosen["provider"] = second.address
    moved = stack.up()
    assert moved.summary.resource_changes == {"same": 1, "update": 1}  # changeProvider, not a replacement
    outs = escrow_state(stack)
    assert outs["terms"]["provider"] == second.address and outs["status"] == "Created"
    assert (
        next(r for r in stack.export_stack().deployment["resources"] if r["type"].endswith(":Escrow"))["id"]
        == pulumi_id
    )
    deposit = int(outs["deposited"])

    terms = ops.find_by_salt(requestor, requestor.address, bytes.fromhex(outs["terms"]["salt"][2:]))
    assert terms is not None and terms.provider == second.address
    start = second.send(second.escrow.functions.start(terms.as_tuple()), what="start")
    started_at = int(bank.w3.eth.get_block(start.block_number)["timestamp"])
    advance(bank, 900)
    stack.destroy()  # Active: the requestor stops; the provider keeps what it earned, the rest comes back

    stopped = ops.settlement(bank, terms.escrow_id)
    assert stopped is not None and stopped["event"] == "Stopped"
    stop_time = int(bank.w3.eth.get_block(stopped["block"])["timestamp"])
    provider_total = earned(deposit, terms.rate_per_hour, started_at, stop_time)
    assert second.lnq_balance(second.address) == provider_total
    assert first.lnq_balance(first.address) == 0
    assert requestor.lnq_balance(requestor.address) == start_balance - provider_total
    assert int(stopped["to_provider"]) + int(stopped["refund"]) == deposit
    stack.workspace.remove_stack(stack.name)
