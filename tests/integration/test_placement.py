"""Matching from the on-chain registry inside the stack program: the cheapest reachable provider wins, and
when nothing fits the preview fails with every provider's reasons."""

from __future__ import annotations

import json
import uuid

import pytest
from eth_account import Account
from pulumi import automation as auto
from web3 import Web3

from linq.chain.deploy import send_tx
from linq.contracts import contract
from linq.devnet import Devnet, anvil
from linq.engine import inline_stack
from linq.market.encoding import region_to_bytes32

pytestmark = pytest.mark.integration


def _register(devnet: Devnet, key_index: int, cpu_price: int) -> str:
    book = json.loads(devnet.addresses_file.read_text())
    w3 = Web3(Web3.HTTPProvider(devnet.read()[1].rpc_url))
    account = Account.from_key(anvil.dev_keys(devnet.state_dir)[key_index])
    registry = contract(w3, "ProviderRegistry", book["registry"])
    capacity = (16_000, 65_536, 500)
    prices = (cpu_price, 1_000_000, 5_000_000)
    if registry.functions.isRegistered(account.address).call():
        send_tx(w3, account, registry.functions.updateBaseRanges(prices))
    else:
        send_tx(w3, account, registry.functions.register(capacity, prices, region_to_bytes32("local"), b"\x00" * 32))
    return account.address


def _program():
    from components.stack_program import run

    run()


def _config(devnet: Devnet, providers: list[str], name: str, **extra) -> dict[str, auto.ConfigValue]:
    access = {p: {"clusterId": f"devnet-{i}", "devnet": True} for i, p in enumerate(providers)}
    deployment = {"name": name, "template": "uptime-kuma", "duration": "2h", "region": "local", **extra}
    return {
        "linq:devAccount": auto.ConfigValue("5"),
        "linq:network": auto.ConfigValue(json.dumps({"kind": "devnet", "devnetDir": str(devnet.state_dir)})),
        "linq:providers": auto.ConfigValue(json.dumps(access)),
        "linq:deployments": auto.ConfigValue(json.dumps([deployment])),
    }


def test_unpinned_deployment_goes_to_the_cheapest_reachable_provider(devnet: Devnet, tmp_path) -> None:
    cheap = _register(devnet, 7, cpu_price=2_000_000)
    dear = _register(devnet, 8, cpu_price=9_000_000)
    cheapest_unreachable = _register(devnet, 9, cpu_price=1_000)  # no access entry: never chosen
    name = f"kuma-{uuid.uuid4().hex[:6]}"
    stack = inline_stack(devnet, project="placement", stack=name, program=_program, work_dir=tmp_path)
    for key, value in _config(devnet, [dear, cheap], name).items():
        stack.set_config(key, value)
    preview_log: list[str] = []
    stack.preview(on_output=preview_log.append)
    assert any(f"matched {cheap}" in line for line in preview_log), preview_log
    up = stack.up()
    assert up.outputs["deployments"].value[name]["provider"] == cheap.lower()
    assert cheapest_unreachable.lower() != up.outputs["deployments"].value[name]["provider"]
    stack.destroy()
    stack.workspace.remove_stack(name)


def test_nothing_fits_fails_at_preview_with_every_reason(devnet: Devnet, tmp_path) -> None:
    a = _register(devnet, 7, cpu_price=2_000_000)
    b = _register(devnet, 8, cpu_price=9_000_000)
    stack = inline_stack(devnet, project="placement", stack="nofit", program=_program, work_dir=tmp_path)
    for key, value in _config(devnet, [a, b], "nofit", maxPricePerHour="1 wei").items():
        stack.set_config(key, value)
    with pytest.raises(auto.CommandError) as failure:
        stack.preview()
    message = str(failure.value)
    assert "no provider fits" in message
    assert a in message and b in message
    assert "price above ceiling" in message or "ceiling" in message
