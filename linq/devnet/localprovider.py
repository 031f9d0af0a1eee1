"""The devnet's own provider on chain: dev account 1 (`anvil.LOCAL_PROVIDER_INDEX`), its cluster the devnet's.

`linq devnet up` registers it, so the example stack (`provider: local`) works right after `up`. Registering
again is a no-op (the registry diff in `linq.chain.registration.apply` sends nothing when the record matches).
"""

from __future__ import annotations

from pathlib import Path


def register_local_provider(state_dir: Path) -> str:
    """Register (or keep) the devnet's provider with round test capacity and prices; returns its address."""
    from linq.chain.client import ChainClient
    from linq.chain.network import devnet_profile
    from linq.chain.signers import from_dev_account
    from linq.devnet import anvil
    from linq.devnet.accounts import register_provider

    client = ChainClient(devnet_profile(state_dir), from_dev_account(state_dir, anvil.LOCAL_PROVIDER_INDEX))
    register_provider(client)
    return client.address
