"""Where the protocol's contracts live (AddressBook) and web3 handles on them. Pure: no transactions here
(deploying and sending are linq.chain.deploy's, so linq.contracts never imports linq.chain)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from linq.contracts.artifacts import load_artifact

if TYPE_CHECKING:  # web3 loads with the first contract handle (linq.chain's note)
    from web3 import Web3
    from web3.contract import Contract

MAX_LNQ_SUPPLY = 2**96 - 1


class AddressBook(BaseModel):
    """Where the protocol's contracts live on one chain."""

    model_config = ConfigDict(frozen=True)

    chain_id: int
    lnq: str
    registry: str
    escrow: str
    deployed_block: int


def contract(w3: Web3, name: str, address: str) -> Contract:
    """A web3 contract for `name` (LNQ, ProviderRegistry, Escrow) at `address`, ABI from the artifacts."""
    from web3 import Web3

    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_artifact(name).abi)
