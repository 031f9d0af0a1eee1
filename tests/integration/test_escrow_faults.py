"""Faults through the real engine: RPC down, too little LNQ, a mined revert, a revoked allowance and a nonce
taken by another sender. Each fails with a clear message (or is absorbed) and pays nothing twice; once fixed,
the next `up` converges. Other parties act at exact steps of the provider's create through the
LINQ_FAULT_RUN_AT hook, with `cast` as a separate sender. (The same faults at the transaction level:
test_chain_client.py.)"""

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
from linq.tools import locate
from tests.faultsite.linq_fault_hooks import ENV_RUN_AT, fault_env

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

    stack = inline_stack(
        devnet, project="escrowfault", stack=f"f{uuid.uuid4().hex[:8]}", program=program, work_dir=tmp_path
    )
    stack.set_config("linq:signerKey", auto.ConfigValue(key, secret=True))
    stack.set_config("linq:network", auto.ConfigValue(json.dumps(network)))
    stack.workspace.env_vars["PYTHONPATH"] = fault_env(os.environ)["PYTHONPATH"]  # the test-only fault hook
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
    deposit = _deposit(bank, provider.address)
    with pytest.raises(auto.errors.CommandError) as err:
        stack.up()
    text = str(err.value)
    # refused at check (preview), with both amounts in wei, before any transaction
    assert f"({deposit} wei) is more than the payer {signer.address} holds" in text and "(5 wei)" in text
    assert bank.nonce(signer.address) == 0 and bank.allowance(signer.address) == 0
    bank.send(bank.lnq.functions.transfer(signer.address, deposit), what="fund")
    assert stack.up().summary.resource_changes.get("create") == 1
    assert bank.lnq_balance(signer.address) == 5  # paid exactly the deposit, once
    stack.destroy()
    assert bank.lnq_balance(signer.address) == 5 + deposit  # cancelled before start: full refund
    stack.workspace.remove_stack(stack.name)


def _cast_send(bank: ChainClient, key: str, to: str, *call: str) -> list[str]:
    """argv of a transaction sent by another process (cast) with `key`, waiting for its receipt."""
    return [str(locate.foundry("cast")), "send", "--rpc-url", bank.profile.rpc_url, "--private-key", key, to, *call]


def _deposit(bank: ChainClient, provider: str) -> int:
    rate = int(bank.registry.functions.quote(provider, Resources(1000, 1024, 10).as_tuple()).call())
    return deposit_for(rate, 900)


def test_mined_revert_then_converges(devnet: Devnet, bank: ChainClient, tmp_path: Path) -> None:
    """The provider deactivates between the create's gas estimate and its send: the create is mined and
    reverts. The error names the transaction and the decoded reason; no LNQ moved; after the provider
    reactivates, the next `up` creates exactly one escrow."""
    provider_key, provider_signer = fresh_wallet(bank, lnq=0)
    provider = ChainClient(bank.profile, provider_signer)
    register_provider(provider, cpu=8000)
    key, signer = fresh_wallet(bank, lnq=10**18)
    stack = _stack(devnet, tmp_path, provider.address, key, {"kind": "devnet", "devnetDir": str(devnet.state_dir)})
    deactivate = _cast_send(bank, provider_key, bank.registry.address, "deactivate()")
    stack.workspace.env_vars[ENV_RUN_AT] = json.dumps({"create:before-send": deactivate})
    with pytest.raises(auto.errors.CommandError) as err:
        stack.up()
    text = str(err.value)
    assert "was rejected by the chain (tx 0x" in text
    assert f"provider {provider.address} is deactivated and takes no new escrows" in text
    assert bank.nonce(signer.address) == 3  # approve, the reverted create, the allowance reset; nothing else
    assert bank.allowance(signer.address) == 0  # no allowance left behind
    assert bank.lnq_balance(signer.address) == 10**18  # a reverted create moves no LNQ
    assert ops.created_by(bank, signer.address) == {}
    del stack.workspace.env_vars[ENV_RUN_AT]
    provider.send(provider.registry.functions.reactivate(), what="reactivate")
    assert stack.up().summary.resource_changes.get("create") == 1
    assert len(ops.created_by(bank, signer.address)) == 1
    assert bank.lnq_balance(signer.address) == 10**18 - _deposit(bank, provider.address)
    stack.destroy()
    assert bank.lnq_balance(signer.address) == 10**18
    stack.workspace.remove_stack(stack.name)


def test_allowance_revoked_then_converges(
    devnet: Devnet, bank: ChainClient, provider: ChainClient, tmp_path: Path
) -> None:
    """Another process sets the signer's allowance to zero right after our approve: the create is refused with
    the allowance it needs; the next `up` approves again and creates one escrow, paid once."""
    key, signer = fresh_wallet(bank, lnq=10**18)
    stack = _stack(devnet, tmp_path, provider.address, key, {"kind": "devnet", "devnetDir": str(devnet.state_dir)})
    revoke = _cast_send(bank, key, bank.lnq.address, "approve(address,uint256)", bank.escrow.address, "0")
    stack.workspace.env_vars[ENV_RUN_AT] = json.dumps({"escrow:after-approve": revoke})
    deposit = _deposit(bank, provider.address)
    with pytest.raises(auto.errors.CommandError) as err:
        stack.up()
    assert f"approve the escrow for at least {deposit} wei first" in str(err.value)
    assert bank.allowance(signer.address) == 0 and ops.created_by(bank, signer.address) == {}
    del stack.workspace.env_vars[ENV_RUN_AT]
    assert stack.up().summary.resource_changes.get("create") == 1
    assert len(ops.created_by(bank, signer.address)) == 1
    assert bank.lnq_balance(signer.address) == 10**18 - deposit
    stack.destroy()
    stack.workspace.remove_stack(stack.name)


def test_nonce_taken_by_another_sender_is_resynced(
    devnet: Devnet, bank: ChainClient, provider: ChainClient, tmp_path: Path
) -> None:
    """Another process sends from the same wallet after our create was signed: the node answers "nonce too
    low", the transaction path re-reads the nonce, signs again and the same `up` succeeds, paying once."""
    key, signer = fresh_wallet(bank, lnq=10**18)
    stack = _stack(devnet, tmp_path, provider.address, key, {"kind": "devnet", "devnetDir": str(devnet.state_dir)})
    spend_nonce = _cast_send(bank, key, signer.address, "--value", "0")
    stack.workspace.env_vars[ENV_RUN_AT] = json.dumps({"create:before-send": spend_nonce})
    up = stack.up()
    assert up.summary.resource_changes == {"create": 2}  # the stack and the escrow, in one run
    assert bank.nonce(signer.address) == 3  # approve, the other sender's transfer, create
    assert len(ops.created_by(bank, signer.address)) == 1
    assert bank.lnq_balance(signer.address) == 10**18 - _deposit(bank, provider.address)
    del stack.workspace.env_vars[ENV_RUN_AT]
    assert not {k: v for k, v in (stack.up().summary.resource_changes or {}).items() if k != "same"}
    stack.destroy()
    stack.workspace.remove_stack(stack.name)
