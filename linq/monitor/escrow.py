"""A deployment's escrow figures: read live from the chain by id, or the stack's snapshot when the chain is
not reachable. All amounts are LNQ wei as ints; times are the chain's block timestamps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linq.monitor.errors import InputError, SourceUnavailable

SECONDS_PER_HOUR = 3600
LIVE_STATUSES = ("Created", "Active")  # the workload is paid for; Ended and later are not


@dataclass(frozen=True)
class EscrowFigures:
    escrow_id: str
    status: str
    deposited: int
    earned: int
    withdrawn: int
    remaining: int
    start: int
    end: int
    now: int
    rate_per_hour: int
    runway: int  # seconds of paid service left
    source: str  # "chain <rpc>" or "stack outputs (last pulumi up)"

    @property
    def paid_through(self) -> bool:
        """Does the escrow still pay for the workload now?"""
        return self.status in LIVE_STATUSES and (self.status == "Created" or self.now < self.end)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.escrow_id, "status": self.status, "deposited": str(self.deposited), "earned": str(self.earned),
            "withdrawn": str(self.withdrawn), "remaining": str(self.remaining), "start": self.start, "end": self.end,
            "now": self.now, "rate_per_hour": str(self.rate_per_hour), "runway": self.runway, "source": self.source,
        }  # fmt: skip


def parse_id(text: str, field: str = "--escrow") -> bytes:
    clean = text.strip().lower()
    if not (clean.startswith("0x") and len(clean) == 66 and all(c in "0123456789abcdef" for c in clean[2:])):
        raise InputError(field, text, "is not an escrow id", "give 0x followed by 64 hex digits (`linq escrow list`)")
    return bytes.fromhex(clean[2:])


def read_live(escrow_id: str, *, devnet_dir: Path | None = None, rpc_url: str | None = None,
              addresses: Path | None = None) -> EscrowFigures:  # fmt: skip
    """The one place that reads an escrow from the chain (through linq.chain)."""
    from linq.chain import ChainClient, ChainError, resolve_profile
    from linq.chain import escrows as ops

    raw_id = parse_id(escrow_id)
    try:
        profile = resolve_profile(devnet_dir=devnet_dir, rpc_url=rpc_url, addresses=addresses)
        client = ChainClient(profile)
        terms = ops.find_by_id(client, raw_id)
        if terms is None:
            raise InputError("escrow id", escrow_id, f"is not an escrow of {client.escrow.address} on chain "
                             f"{client.chain_id}", "check the id and the network (--devnet-dir / --rpc)")  # fmt: skip
        state = ops.read_state(client, ops.follow(client, terms))
    except ChainError as err:
        raise SourceUnavailable(f"escrow {escrow_id}: {err}") from None
    return EscrowFigures(
        escrow_id=state.escrow_id, status=state.status, deposited=state.deposited, earned=state.earned,
        withdrawn=state.withdrawn, remaining=state.remaining, start=state.start, end=state.end, now=state.now,
        rate_per_hour=state.terms.rate_per_hour, runway=state.runway, source=f"chain {profile.rpc_url}",
    )  # fmt: skip


def from_snapshot(data: Mapping[str, Any]) -> EscrowFigures:
    """The stack's recorded figures (as of its last `pulumi up`); runway is as recorded then."""

    def num(key: str) -> int:
        return int(str(data.get(key) or 0))

    return EscrowFigures(
        escrow_id=str(data.get("id") or data.get("escrow_id") or ""), status=str(data.get("status", "")),
        deposited=num("deposited"), earned=num("earned"), withdrawn=num("withdrawn"), remaining=num("remaining"),
        start=num("start"), end=num("end"), now=num("now"),
        rate_per_hour=num("rate_per_hour") or num("ratePerHour"),
        runway=num("runway"), source="stack outputs (as of the last pulumi up)",
    )  # fmt: skip


def top_up_for(figures: EscrowFigures, seconds: int) -> int:
    """Wei that buys `seconds` more runway at the escrow's rate (rounded up, so it is never short)."""
    return -(-figures.rate_per_hour * seconds // SECONDS_PER_HOUR)
