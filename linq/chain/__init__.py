"""The chain client: network profiles, signers, contract bindings and the one transaction path.

    from linq.chain import resolve_profile, resolve_signer, ChainClient
    client = ChainClient(resolve_profile(devnet_dir=...), resolve_signer())
    client.send(client.escrow.functions.withdraw(terms.as_tuple()), what="withdraw")

Escrow operations live in linq.chain.escrows, provider registration in linq.chain.registration.
Importing linq.chain (or linq.chain.escrows) does not import web3: see _LAZY below.
"""

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from linq.chain.client import ChainClient
    from linq.chain.network import NetworkProfile, connect, devnet_profile, resolve_profile, rpc_profile
    from linq.chain.signers import Signer, resolve_signer
    from linq.chain.tx import Transactor, TxResult

# web3 and eth_account cost ~2 s to import: the client, network, signer and transaction names load on first
# use, so a program or dynamic provider that makes no chain call (a no-op `up`) never imports them.
_LAZY = {
    "ChainClient": "client",
    "NetworkProfile": "network",
    "connect": "network",
    "devnet_profile": "network",
    "resolve_profile": "network",
    "rpc_profile": "network",
    "Signer": "signers",
    "resolve_signer": "signers",
    "Transactor": "tx",
    "TxResult": "tx",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'linq.chain' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"linq.chain.{module}"), name)
    globals()[name] = value
    return value


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
