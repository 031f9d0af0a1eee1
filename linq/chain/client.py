"""ChainClient: one network profile, its three contracts (ABIs from the artifacts, addresses from the
address book), an optional signer, and the single transaction path for writes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from web3 import Web3
from web3.contract import Contract

from linq.chain.errors import SignerError
from linq.chain.network import NetworkProfile, connect
from linq.chain.signers import Signer
from linq.chain.tx import Transactor, TxResult
from linq.contracts import contract


class ChainClient:
    def __init__(
        self,
        profile: NetworkProfile,
        signer: Signer | None = None,
        *,
        confirmations: int = 1,
        receipt_timeout: float = 120.0,
        w3: Web3 | None = None,
    ) -> None:
        self.profile = profile
        self.w3 = w3 or connect(profile)
        self.signer = signer
        self.confirmations = confirmations
        self.receipt_timeout = receipt_timeout
        book = profile.book
        self.lnq: Contract = contract(self.w3, "LNQ", book.lnq)
        self.registry: Contract = contract(self.w3, "ProviderRegistry", book.registry)
        self.escrow: Contract = contract(self.w3, "Escrow", book.escrow)
        self._transactor: Transactor | None = None

    @property
    def chain_id(self) -> int:
        return self.profile.chain_id

    @property
    def address(self) -> str:
        return self.require_signer().address

    def require_signer(self) -> Signer:
        if self.signer is None:
            raise SignerError(
                "this action sends a transaction and needs a key: set $LINQ_PRIVATE_KEY or pass --keystore FILE "
                "(in Pulumi: the secret config linq:signerKey)"
            )
        return self.signer

    @property
    def transactor(self) -> Transactor:
        if self._transactor is None:
            self._transactor = Transactor(
                self.w3,
                self.require_signer(),
                chain_id=self.chain_id,
                confirmations=self.confirmations,
                receipt_timeout=self.receipt_timeout,
            )
        return self._transactor

    def send(
        self,
        call: Any,
        *,
        what: str,
        context: Mapping[str, Any] | None = None,
        step: str = "",
        gas: int | None = None,
        extra_gas: int = 0,
    ) -> TxResult:
        return self.transactor.send(call, what=what, context=context, step=step, gas=gas, extra_gas=extra_gas)

    # ---- reads ---------------------------------------------------------------------------------------
    def now(self) -> int:
        """The latest block's timestamp: the contracts' clock."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def lnq_balance(self, address: str) -> int:
        return int(self.lnq.functions.balanceOf(Web3.to_checksum_address(address)).call())

    def allowance(self, owner: str) -> int:
        return int(self.lnq.functions.allowance(Web3.to_checksum_address(owner), self.escrow.address).call())

    def nonce(self, address: str) -> int:
        return int(self.w3.eth.get_transaction_count(Web3.to_checksum_address(address), "pending"))

    def min_prepaid_seconds(self) -> int:
        return int(self.escrow.functions.minPrepaidSeconds().call())
