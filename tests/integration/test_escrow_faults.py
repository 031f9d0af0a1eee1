"""Faults through the real engine: RPC down and too little LNQ each fail with a clear message and send
nothing twice; once fixed, the next `up` converges. (Reverts, nonces and allowances at the transaction
level: test_chain_client.py.)"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from pulumi import automation as auto

from linq.chain import ChainClient
from linq.chain.devaccounts import deployer, fresh_wallet, register_provider
from linq.contracts.terms import Resources
from linq.devnet import Devnet
from linq.engine import inline_stack
from linq.market.pricing import deposit_for

pytestmark = pytest.mark.integration
RES = {"cpu": "1", "memory": "1Gi", "storage": "10Gi"}


@pytest.fixture(scope="module")
def bank(devnet: Devnet) -> ChainClient:
    return deployer(devnet.state_dir)


@pytest.fixture(scope="module")
def provider(bank: ChainClient) -> ChainClient:
    _key, signer = fresh_wallet(bank, lnq=0)
    client = ChainClient(bank.profile, signer)
    register_provider(client, cpu=8000)
    return client


def _stack(devnet: Devnet, tmp_path: Path, provider: str, key: str, network: dict[str, str]) -> auto.Stack:
    def program() -> None:
        from components.escrow import Escrow

        Escrow("db", provider=provider, resources=RES, duration="15m")

    stack = inline_stack(devnet, project="escrowfault", stack=f"f{uuid.uuid4().hex[:8]}", program=program,
                         work_dir=tmp_path)  # fmt: skip
    stack.set_config("linq:signerKey", auto.ConfigValue(key, secret=True))
    stack.set_config("linq:network", auto.ConfigValue(json.dumps(network)))
    return stack


def test_rpc_down_then_back(devnet: Devnet, bank: ChainClient, provider: ChainClient, tmp_path: Path) -> None:
    key, signer = fresh_wallet(bank, lnq=10**18)
    down = {"kind": "rpc", "rpcUrl": "http://127.0.0.1:9", "addresses": str(devnet.addresses_file)}
    stack = _stack(devnet, tmp_path, provider.address, key, down)
    stack.workspace.env_vars["LINQ_RPC_RETRIES"] = "1"
    with pytest.raises(auto.errors.CommandError) as err:
        stack.up()
    text = str(err.value)
    assert "http://127.0.0.1:9 did not answer" in text and "start the node or fix the URL" in text
    assert bank.nonce(signer.address) == 0  # nothing was sent
    stack.set_config(
        "linq:network", auto.ConfigValue(json.dumps({"kind": "devnet", "devnetDir": str(devnet.state_dir)}))
    )
    assert stack.up().summary.resource_changes.get("create") == 1
    stack.destroy()
    stack.workspace.remove_stack(stack.name)


def test_too_little_lnq_then_funded(devnet: Devnet, bank: ChainClient, provider: ChainClient, tmp_path: Path) -> None:
    key, signer = fresh_wallet(bank, lnq=5)
    network = {"kind": "devnet", "devnetDir": str(devnet.state_dir)}
    stack = _stack(devnet, tmp_path, provider.address, key, network)
    rate = int(bank.registry.functions.quote(provider.address, Resources(1000, 1024, 10).as_tuple()).call())
    deposit = deposit_for(rate, 900)
    with pytest.raises(auto.errors.CommandError) as err:
        stack.up()
    text = str(err.value)
    assert f"at least {deposit - 5} more wei of LNQ" in text  # the sentence decoded from ERC20InsufficientBalance
    bank.send(bank.lnq.functions.transfer(signer.address, deposit), what="fund")
    assert stack.up().summary.resource_changes.get("create") == 1
    assert bank.lnq_balance(signer.address) == 5  # paid exactly the deposit, once
    stack.destroy()
    assert bank.lnq_balance(signer.address) == 5 + deposit  # cancelled before start: full refund
    stack.workspace.remove_stack(stack.name)
