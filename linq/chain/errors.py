"""Errors of the chain client. Every message names what was wrong, the value, and the fix."""

from __future__ import annotations

from typing import Any

from linq.errors import FieldError


class ChainError(RuntimeError):
    """A chain operation failed; the message is a sentence a person can act on."""


class InputError(FieldError, ChainError):
    """A value given by the user is wrong: names the field, the bad value and the fix."""


class NetworkConfigError(ChainError):
    """The network profile (RPC URL, chain id, address book, devnet dir) is missing or inconsistent."""


class SignerError(ChainError):
    """No usable signing key; the message never contains key material."""


class RpcUnavailable(ChainError):
    """The JSON-RPC endpoint did not answer after the retries."""


class TxReverted(ChainError):
    """A transaction (or its gas estimate) reverted; `reason` is the decoded sentence."""

    def __init__(
        self, what: str, reason: str, *, error_name: str = "", args: tuple[Any, ...] = (), tx_hash: str = ""
    ) -> None:
        self.what = what
        self.reason = reason
        self.error_name = error_name
        self.args_ = args
        self.tx_hash = tx_hash
        where = f" (tx {tx_hash})" if tx_hash else ""
        super().__init__(f"{what} was rejected by the chain{where}: {reason}")


class FundingError(ChainError):
    """A funding transaction refused before anything was sent: the payer's balance is too small."""


class TxTimeout(ChainError):
    """A sent transaction was not mined (or not confirmed) in time; it may still land."""


class NonceConflict(ChainError):
    """The signer's nonce kept moving under us (another process sends from the same wallet)."""
