"""Deploying LNQ, ProviderRegistry and Escrow, binding them, and funding dev accounts; `send_tx` for scripts
and tests. Sends through the toolkit's one transaction path (linq.chain.tx)."""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from linq.chain.signers import Signer
from linq.chain.tx import Transactor
from linq.contracts import MAX_LNQ_SUPPLY, AddressBook, contract, load_artifact

Sender = LocalAccount | str


def _address(sender: Sender) -> str:
    return sender if isinstance(sender, str) else sender.address


def send_tx(w3: Web3, sender: Sender, call: Any, *, gas: int | None = None, value: int = 0) -> Any:
    """Send a contract call (or deployment) from `sender` and return the receipt; raise if it reverted.

    `sender` is a LocalAccount (signed locally, for anvil and real chains: contract calls and deployments go
    through the toolkit's one transaction path, linq.chain.tx, with its nonce lock, gas margin, EIP-1559 fees
    and decoded reverts) or an address the node manages (eth-tester's unlocked accounts).
    """
    if not isinstance(sender, str) and hasattr(call, "estimate_gas"):
        transactor = Transactor(w3, Signer(sender, "send_tx"), chain_id=w3.eth.chain_id, receipt_timeout=60)
        name = getattr(call, "fn_name", None) or type(call).__name__
        return transactor.send(call, what=f"{name} from {sender.address}", gas=gas, value=value).receipt
    tx: dict[str, Any] = {"from": _address(sender), "value": value}
    if gas is not None:
        tx["gas"] = gas
    if isinstance(sender, str):
        tx_hash = call.transact(tx)
    else:  # a duck-typed call object (e.g. a plain ether transfer) that only builds its transaction
        tx["nonce"] = w3.eth.get_transaction_count(sender.address, "pending")
        tx["chainId"] = w3.eth.chain_id
        built = call.build_transaction(tx)
        signed = sender.sign_transaction(built)
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
    if receipt["status"] != 1:
        raise RuntimeError(f"transaction {tx_hash.hex()} from {_address(sender)} reverted")
    return receipt


def _deploy(w3: Web3, sender: Sender, name: str, *args: Any) -> tuple[str, int]:
    art = load_artifact(name)
    factory = w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
    receipt = send_tx(w3, sender, factory.constructor(*args))
    return receipt["contractAddress"], receipt["blockNumber"]


def deploy_all(
    w3: Web3,
    deployer_account: Sender,
    *,
    lnq_supply: int,
    fund: dict[str, int],
    min_prepaid_seconds: int,
) -> AddressBook:
    """Deploy LNQ (whole supply to the deployer), ProviderRegistry and Escrow, bind the escrow to the
    registry, and transfer `fund[address]` LNQ wei to each dev account."""
    if not 0 < lnq_supply <= MAX_LNQ_SUPPLY:
        raise ValueError(f"lnq_supply={lnq_supply} is out of range; use 1..2**96-1 wei (escrow amounts are 96-bit)")
    if sum(fund.values()) > lnq_supply:
        raise ValueError(f"fund totals {sum(fund.values())} wei, more than lnq_supply={lnq_supply}; lower the amounts")
    if not 0 <= min_prepaid_seconds < 2**64:
        raise ValueError(f"min_prepaid_seconds={min_prepaid_seconds} must be in 0..2**64-1 seconds")
    owner = _address(deployer_account)
    lnq, first_block = _deploy(w3, deployer_account, "LNQ", owner, lnq_supply)
    registry, _ = _deploy(w3, deployer_account, "ProviderRegistry")
    escrow, _ = _deploy(w3, deployer_account, "Escrow", lnq, registry, min_prepaid_seconds)
    send_tx(w3, deployer_account, contract(w3, "ProviderRegistry", registry).functions.bindEscrow(escrow))
    token = contract(w3, "LNQ", lnq)
    for account, amount in fund.items():
        if amount < 0:
            raise ValueError(f"fund[{account}]={amount} is negative; give a wei amount >= 0")
        if amount:
            send_tx(w3, deployer_account, token.functions.transfer(Web3.to_checksum_address(account), amount))
    return AddressBook(chain_id=w3.eth.chain_id, lnq=lnq, registry=registry, escrow=escrow, deployed_block=first_block)
