"""Compiled contract artifacts shipped with the toolkit (linq/artifacts/*.json); no compiler at run time."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

ARTIFACTS_DIR = Path(__file__).resolve().parent.parent / "artifacts"
CONTRACT_NAMES = ("LNQ", "ProviderRegistry", "Escrow")


class ArtifactMissing(FileNotFoundError):
    """An artifact file is absent or unreadable; the message names the fix."""


class Artifact(BaseModel):
    """ABI and bytecode of one contract, plus what it was built from."""

    model_config = ConfigDict(frozen=True)

    contract_name: str
    source: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    compiler: str
    settings: dict[str, Any]
    sources: list[str]
    source_hash: str


def artifact_path(name: str) -> Path:
    return ARTIFACTS_DIR / f"{name}.json"


@cache
def load_artifact(name: str) -> Artifact:
    """The artifact of contract `name` (one of LNQ, ProviderRegistry, Escrow)."""
    if name not in CONTRACT_NAMES:
        raise ArtifactMissing(f"contract name {name!r} is unknown; use one of {', '.join(CONTRACT_NAMES)}")
    path = artifact_path(name)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ArtifactMissing(
            f"artifact {path} is missing; run `python -m linq.contracts.build` to compile the contracts"
        ) from exc
    return Artifact.model_validate(data)
