"""The protocol's contracts from Python: artifacts, where they live, typed terms. Pure: deploying and sending
transactions are linq.chain's (linq.chain.deploy), so this package never imports linq.chain.

    from linq.contracts import load_artifact, contract, AddressBook
"""

from linq.contracts.addresses import MAX_LNQ_SUPPLY, AddressBook, contract
from linq.contracts.artifacts import CONTRACT_NAMES, Artifact, ArtifactMissing, load_artifact

__all__ = [
    "CONTRACT_NAMES",
    "MAX_LNQ_SUPPLY",
    "AddressBook",
    "Artifact",
    "ArtifactMissing",
    "contract",
    "load_artifact",
]
