"""The chain client: network profiles, signers, contract bindings and the one transaction path.

    from linq.chain import resolve_profile, resolve_signer, ChainClient
    client = ChainClient(resolve_profile(devnet_dir=...), resolve_signer())
    client.send(client.escrow.functions.withdraw(terms.as_tuple()), what="withdraw")

Escrow operations live in linq.chain.escrows, provider registration in linq.chain.registration.
"""

from linq.chain.client import ChainClient
from linq.chain.errors import (
    ChainError,
    InputError,
    NetworkConfigError,
    NonceConflict,
    RpcUnavailable,
    SignerError,
    TxReverted,
    TxTimeout,
)
from linq.chain.network import NetworkProfile, connect, devnet_profile, resolve_profile, rpc_profile
from linq.chain.signers import Signer, resolve_signer
from linq.chain.tx import Transactor, TxResult

__all__ = [
    "ChainClient",
    "ChainError",
    "InputError",
    "NetworkConfigError",
    "NetworkProfile",
    "NonceConflict",
    "RpcUnavailable",
    "Signer",
    "SignerError",
    "Transactor",
    "TxResult",
    "TxReverted",
    "TxTimeout",
    "connect",
    "devnet_profile",
    "resolve_profile",
    "resolve_signer",
    "rpc_profile",
]
