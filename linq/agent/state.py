"""The agent's local state file: a cache, never the source of truth.

It holds the event-scan cursor, the terms of the escrows found so far (so a restart does not rescan the
chain from the contracts' deployment block), the escrows that are settled and cleaned up, and the chain
time of the last withdrawal. Losing or corrupting it costs a rescan, never money: every decision is
re-checked against the chain and the cluster. Writes are atomic (temp file + rename), so a SIGKILL leaves
either the old or the new file.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from linq.contracts.terms import Terms

STATE_VERSION = 1


@dataclass
class AgentState:
    """What one agent (one provider, one chain, one escrow contract) remembers between passes."""

    chain_id: int
    escrow_contract: str
    provider: str
    scanned_block: int = -1  # last block whose events were read (inclusive); -1: nothing read yet
    escrows: dict[str, Terms] = field(default_factory=dict)  # "0x<id>" -> terms
    done: set[str] = field(default_factory=set)  # settled and reclaimed: not read again unless seen anew
    last_withdraw_at: int = 0  # chain time (block timestamp) of the provider's last withdrawal

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "chain_id": self.chain_id,
            "escrow_contract": self.escrow_contract,
            "provider": self.provider,
            "scanned_block": self.scanned_block,
            "escrows": {eid: t.to_json() for eid, t in sorted(self.escrows.items())},
            "done": sorted(self.done),
            "last_withdraw_at": self.last_withdraw_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AgentState:
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"version {data.get('version')!r} is not {STATE_VERSION}")
        return cls(
            chain_id=int(data["chain_id"]),
            escrow_contract=str(data["escrow_contract"]),
            provider=str(data["provider"]),
            scanned_block=int(data["scanned_block"]),
            escrows={str(eid): Terms.from_json(t) for eid, t in data["escrows"].items()},
            done={str(eid) for eid in data["done"]},
            last_withdraw_at=int(data["last_withdraw_at"]),
        )

    def matches(self, chain_id: int, escrow_contract: str, provider: str) -> bool:
        return (
            self.chain_id == chain_id
            and self.escrow_contract.lower() == escrow_contract.lower()
            and self.provider.lower() == provider.lower()
        )


@dataclass(frozen=True)
class LoadResult:
    state: AgentState
    note: str  # "" when the file was used as is; otherwise why the agent starts from a fresh state


def load(path: Path | None, *, chain_id: int, escrow_contract: str, provider: str) -> LoadResult:
    """The saved state if it belongs to this chain, contract and provider; a fresh one otherwise."""
    fresh = AgentState(chain_id, escrow_contract, provider)
    if path is None or not path.exists():
        return LoadResult(fresh, "")
    try:
        saved = AgentState.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError, IndexError) as err:
        return LoadResult(fresh, f"state file {path} is unreadable ({err}); rescanning from the chain")
    if not saved.matches(chain_id, escrow_contract, provider):
        return LoadResult(
            fresh,
            f"state file {path} belongs to chain {saved.chain_id}, escrow {saved.escrow_contract}, provider "
            f"{saved.provider}; starting fresh for this one",
        )
    return LoadResult(saved, "")


def save(path: Path | None, state: AgentState) -> None:
    """Write atomically: a crash mid-write leaves the previous file intact."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(state.to_json(), handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
