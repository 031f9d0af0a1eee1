"""The one transaction path: every chain write of the toolkit goes through `Transactor.send`.

    estimate gas (a revert here is decoded and raised before anything is signed)
    -> EIP-1559 fees -> [per-signer lock: local nonce, sign, send] -> receipt + confirmations

Nonces: one lock and one local counter per (chain, signer) in this process, so the Pulumi engine's
concurrent provider calls never reuse a nonce; the counter resyncs from the chain's pending count when
unknown, after any failed send, and on "nonce too low" (another process used the wallet). Sends are
retried on transient RPC errors by the provider (linq.chain.rpc); a resend of the same signed bytes is
recognised ("already known") rather than counted as a failure.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eth_utils import keccak
from web3 import Web3
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError

from linq import checkpoints
from linq.chain.decode import decode_revert, revert_data
from linq.chain.errors import ChainError, NonceConflict, TxReverted, TxTimeout
from linq.chain.signers import Signer

GAS_MARGIN_PERCENT = 20
DEFAULT_PRIORITY_FEE = 10**9  # 1 gwei when the node has no suggestion
NONCE_RESYNCS = 3
POLL_SECONDS = 0.2


@dataclass
class _SignerNonce:
    lock: threading.Lock = field(default_factory=threading.Lock)
    next: int | None = None  # None: read the pending count from the chain before the next send


# Keyed by node too: two local chains may share a chain id (31337) and a dev address.
_NONCES: dict[tuple[str, int, str], _SignerNonce] = {}
_NONCES_LOCK = threading.Lock()


def _node(w3: Web3) -> str:
    return str(getattr(w3.provider, "endpoint_uri", None) or id(w3.provider))


def _nonce_state(w3: Web3, chain_id: int, address: str) -> _SignerNonce:
    with _NONCES_LOCK:
        return _NONCES.setdefault((_node(w3), chain_id, address.lower()), _SignerNonce())


def forget_nonce(w3: Web3, chain_id: int, address: str) -> None:
    """Drop the cached nonce (e.g. after an outside send) so the next send reads it from the chain."""
    _nonce_state(w3, chain_id, address).next = None


@dataclass(frozen=True)
class TxResult:
    what: str
    tx_hash: str
    block_number: int
    gas_used: int
    receipt: Any


class TaggedCall:
    """A contract call with `tag` appended to its calldata. Solidity ignores bytes after the ABI-encoded
    arguments, so the call does the same; the tag stays in the transaction's input on chain and tells which
    tool sent it (the runway guard counts its own top-ups this way)."""

    def __init__(self, call: Any, tag: bytes) -> None:
        self.inner, self.tag = call, tag

    def estimate_gas(self, params: dict[str, Any]) -> int:
        return int(self.inner.estimate_gas(params)) + 16 * len(self.tag)  # 16 gas per non-zero calldata byte

    def build_transaction(self, params: dict[str, Any]) -> dict[str, Any]:
        tx = dict(self.inner.build_transaction(params))
        tx["data"] = "0x" + bytes(Web3.to_bytes(hexstr=tx["data"])).hex() + self.tag.hex()
        return tx

    def call(self, params: dict[str, Any], block_identifier: Any = "latest") -> Any:
        return self.inner.call(params, block_identifier=block_identifier)


def _is_nonce_too_low(message: str) -> bool:
    text = message.lower()
    return any(
        m in text for m in ("nonce too low", "nonce has already been used", "old nonce", "invalid transaction nonce")
    )


def _is_already_known(message: str) -> bool:
    text = message.lower()
    return "already known" in text or "already imported" in text or "known transaction" in text


class Transactor:
    """Sends contract calls from one signer; thread-safe, one per (web3, signer) is enough."""

    def __init__(
        self,
        w3: Web3,
        signer: Signer,
        *,
        chain_id: int,
        confirmations: int = 1,
        receipt_timeout: float = 120.0,
        gas_margin_percent: int = GAS_MARGIN_PERCENT,
    ) -> None:
        if confirmations < 1:
            raise ValueError(f"confirmations={confirmations}; use 1 or more")
        self.w3 = w3
        self.signer = signer
        self.chain_id = chain_id
        self.confirmations = confirmations
        self.receipt_timeout = receipt_timeout
        self.gas_margin_percent = gas_margin_percent

    # ---- reads used around writes -------------------------------------------------------------------
    def wait_for_pending(self, timeout: float | None = None) -> None:
        """Wait until none of the signer's sent transactions is still pending (a crashed run's send, say)."""
        deadline = time.monotonic() + (self.receipt_timeout if timeout is None else timeout)
        address = self.signer.address
        while True:
            pending = self.w3.eth.get_transaction_count(address, "pending")
            mined = self.w3.eth.get_transaction_count(address, "latest")
            if pending <= mined:
                return
            if time.monotonic() > deadline:
                raise TxTimeout(
                    f"{pending - mined} transaction(s) of {address} are still pending after "
                    f"{self.receipt_timeout:.0f} s; wait for them to be mined (or replace them) and run again"
                )
            time.sleep(POLL_SECONDS)

    # ---- the send path --------------------------------------------------------------------------------
    def send(
        self,
        call: Any,
        *,
        what: str,
        context: Mapping[str, Any] | None = None,
        step: str = "",
        gas: int | None = None,
        value: int = 0,
        extra_gas: int = 0,
    ) -> TxResult:
        """Estimate, sign, send and wait for `call` (a web3 ContractFunction or constructor). `what` names the
        action in messages ("approve 5 LNQ for the escrow"); `step` names the fault-injection checkpoints.
        A given `gas` skips the estimate (the transaction is then mined even if it reverts); `extra_gas` is added
        to the estimate for work the estimate may not see (state that changes with the next block's time)."""
        context = dict(context or {})
        step = step or what.split()[0]
        if gas is None:
            gas = self.estimate(call, what, context, value) + extra_gas
        fees = {"value": value, **self.fees()}
        tx_hash, _nonce = self._sign_and_send(call, gas, fees, what, step)
        checkpoints.checkpoint(f"{step}:after-send")
        receipt = self._wait(tx_hash, what)
        if receipt["status"] != 1:
            self._raise_mined_revert(call, receipt, what, context, tx_hash)
        checkpoints.checkpoint(f"{step}:after-receipt")
        return TxResult(what, tx_hash, int(receipt["blockNumber"]), int(receipt["gasUsed"]), receipt)

    def estimate(self, call: Any, what: str, context: dict[str, Any], value: int = 0) -> int:
        """The gas `call` needs (with the margin); a revert is decoded and raised as TxReverted."""
        try:
            estimate = int(call.estimate_gas({"from": self.signer.address, "value": value}))
        except ContractLogicError as err:
            decoded = decode_revert(revert_data(err.data) or revert_data(err.args), context)
            raise TxReverted(what, decoded.sentence, error_name=decoded.name, args=decoded.args) from None
        except Web3RPCError as err:
            message = _rpc_message(err)
            if "insufficient funds" in message.lower():
                raise ChainError(
                    f"{what}: {self.signer.address} has too little ETH for gas ({message}); fund it with ETH"
                ) from None
            raise ChainError(f"{what}: the node refused the gas estimate ({message})") from None
        return estimate * (100 + self.gas_margin_percent) // 100

    def fees(self) -> dict[str, int]:
        """EIP-1559 fee fields for a transaction sent now: the node's tip, and twice the base fee plus the tip."""
        base = int(self.w3.eth.get_block("latest").get("baseFeePerGas") or 0)
        try:
            tip = int(self.w3.eth.max_priority_fee)
        except Exception:  # nodes without eth_maxPriorityFeePerGas
            tip = DEFAULT_PRIORITY_FEE
        return {"maxPriorityFeePerGas": tip, "maxFeePerGas": 2 * base + tip}

    def _sign_and_send(self, call: Any, gas: int, fees: dict[str, int], what: str, step: str) -> tuple[str, int]:
        """`fees` carries the fee fields and the value; the nonce is chosen here, under the signer's lock."""
        state = _nonce_state(self.w3, self.chain_id, self.signer.address)
        with state.lock:
            for _attempt in range(NONCE_RESYNCS + 1):
                # max(local, chain): the local counter covers our own in-flight sends, the chain's pending count
                # covers sends made elsewhere (another tool, another process) since our last one.
                chain_next = int(self.w3.eth.get_transaction_count(self.signer.address, "pending"))
                state.next = chain_next if state.next is None else max(state.next, chain_next)
                nonce = state.next
                tx = call.build_transaction(
                    {
                        "from": self.signer.address,
                        "chainId": self.chain_id,
                        "nonce": nonce,
                        "gas": gas,
                        "type": 2,
                        **fees,
                    }
                )
                raw = bytes(self.signer.sign_transaction(tx).raw_transaction)
                tx_hash = "0x" + keccak(raw).hex()
                checkpoints.checkpoint(f"{step}:before-send")
                try:
                    self.w3.eth.send_raw_transaction(raw)
                except (Web3RPCError, ValueError) as err:  # eth-tester raises ValidationError (a ValueError)
                    message = _rpc_message(err) if isinstance(err, Web3RPCError) else str(err)
                    if _is_already_known(message):
                        state.next = nonce + 1
                        return tx_hash, nonce
                    if _is_nonce_too_low(message):
                        if self._known(tx_hash):  # our own earlier send of these bytes landed
                            state.next = nonce + 1
                            return tx_hash, nonce
                        state.next = None  # someone else used the nonce: resync and sign again
                        continue
                    state.next = None
                    if "insufficient funds" in message.lower():
                        raise ChainError(
                            f"{what}: {self.signer.address} has too little ETH for gas ({message}); fund it with ETH"
                        ) from None
                    raise ChainError(f"{what}: the node refused the transaction ({message})") from None
                except BaseException:
                    state.next = None  # unknown outcome (e.g. RPC down mid-send): resync next time
                    raise
                state.next = nonce + 1
                return tx_hash, nonce
        raise NonceConflict(
            f"{what}: the nonce of {self.signer.address} was taken {NONCE_RESYNCS + 1} times in a row by another "
            "sender; stop other processes using this wallet, then run again (nothing was sent twice)"
        )

    def _known(self, tx_hash: str) -> bool:
        try:
            self.w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
            return True
        except TransactionNotFound:
            return False

    def _wait(self, tx_hash: str, what: str) -> Any:
        deadline = time.monotonic() + self.receipt_timeout
        receipt = None
        while receipt is None:
            try:
                receipt = self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
            except TransactionNotFound:
                if time.monotonic() > deadline:
                    forget_nonce(self.w3, self.chain_id, self.signer.address)
                    raise TxTimeout(
                        f"{what}: transaction {tx_hash} was sent but not mined within {self.receipt_timeout:.0f} s; "
                        "it may still land — run again later (the operation is idempotent) or raise the fee"
                    ) from None
                time.sleep(POLL_SECONDS)
        wanted = int(receipt["blockNumber"]) + self.confirmations - 1
        while int(self.w3.eth.block_number) < wanted:
            if time.monotonic() > deadline:
                raise TxTimeout(
                    f"{what}: transaction {tx_hash} was mined in block {receipt['blockNumber']} but did not reach "
                    f"{self.confirmations} confirmations within {self.receipt_timeout:.0f} s; run again later"
                )
            time.sleep(POLL_SECONDS)
        return receipt

    def _raise_mined_revert(self, call: Any, receipt: Any, what: str, context: dict[str, Any], tx_hash: str) -> None:
        # Replay at the block to get the revert data (receipts do not carry it).
        data: bytes | None = None
        try:
            call.call({"from": self.signer.address}, block_identifier=int(receipt["blockNumber"]) - 1)
        except ContractLogicError as err:
            data = revert_data(err.data) or revert_data(err.args)
        except Exception:  # the replay is best effort; the transaction did revert either way
            data = None
        decoded = decode_revert(data, context)
        raise TxReverted(what, decoded.sentence, error_name=decoded.name, args=decoded.args, tx_hash=tx_hash)


def _rpc_message(err: Web3RPCError) -> str:
    response = getattr(err, "rpc_response", None)
    if isinstance(response, dict) and isinstance(response.get("error"), dict):
        return str(response["error"].get("message", err))
    return str(err.args[0] if err.args else err)
