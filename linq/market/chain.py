"""The market's contract handles. Which chain and address book: linq.chain's one resolution (resolve_profile,
connect). ABIs come from the compiled artifacts (linq.contracts); nothing here copies an ABI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from web3 import Web3
    from web3.contract import Contract


def registry_contract(w3: Web3, address: str) -> Contract:
    from linq.contracts import contract

    return contract(w3, "ProviderRegistry", address)


def escrow_contract(w3: Web3, address: str) -> Contract:
    from linq.contracts import contract

    return contract(w3, "Escrow", address)
