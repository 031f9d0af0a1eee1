"""The protocol's contracts from Python: artifacts, typed terms, deployment.

    from linq.contracts import load_artifact, contract, deploy_all, AddressBook
"""

from linq.contracts.artifacts import CONTRACT_NAMES, Artifact, ArtifactMissing, load_artifact
from linq.contracts.deploy import AddressBook, contract, deploy_all, send_tx

__all__ = [
    "CONTRACT_NAMES",
    "AddressBook",
    "Artifact",
    "ArtifactMissing",
    "contract",
    "deploy_all",
    "load_artifact",
    "send_tx",
]
