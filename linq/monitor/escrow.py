"""A deployment's escrow figures: read live from the chain by id, or the stack's snapshot when the chain is
not reachable. All amounts are LNQ wei as ints; times are the chain's block timestamps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from linq.monitor.errors import InputError, SourceUnavailable
from linq.protocol.figures import EscrowFigures
from linq.protocol.money import deposit_for
from linq.protocol.status import EscrowStatus


def parse_id(text: str, field: str = "--escrow") -> bytes:
    clean = text.strip().lower()
    if not (clean.startswith("0x") and len(clean) == 66 and all(c in "0123456789abcdef" for c in clean[2:])):
        raise InputError(field, text, "is not an escrow id", "give 0x followed by 64 hex digits (`linq escrow list`)")
    return bytes.fromhex(clean[2:])


def current_terms(client: Any, escrow_id: str) -> Any:
    """The escrow's current Terms (after any provider change); InputError when the chain has no such escrow.
    ChainError passes through (the caller words the unreachable chain)."""
    from linq.chain import escrows as ops

    terms = ops.find_by_id(client, parse_id(escrow_id))
    if terms is None:
        raise InputError(
            "escrow id",
            escrow_id,
            f"is not an escrow of {client.escrow.address} on chain {client.chain_id}",
            "check the id and the network (--devnet-dir / --rpc)",
        )
    return ops.follow(client, terms)


def read_live(
    escrow_id: str, *, devnet_dir: Path | None = None, rpc_url: str | None = None, addresses: Path | None = None
) -> EscrowFigures:
    """The one place that reads an escrow from the chain (through linq.chain)."""
    from linq.chain import ChainClient, ChainError, resolve_profile
    from linq.chain import escrows as ops

    parse_id(escrow_id)
    try:
        profile = resolve_profile(devnet_dir=devnet_dir, rpc_url=rpc_url, addresses=addresses)
        client = ChainClient(profile)
        state = ops.read_state(client, current_terms(client, escrow_id))
    except ChainError as err:
        raise SourceUnavailable(f"escrow {escrow_id}: {err}") from None
    return replace(state, source=f"chain {profile.rpc_url}")


def from_snapshot(data: Mapping[str, Any]) -> EscrowFigures:
    """The stack's recorded figures (as of its last `pulumi up`); runway is as recorded then."""

    def num(key: str) -> int:
        return int(str(data.get(key) or 0))

    return EscrowFigures(
        escrow_id=str(data.get("id") or data.get("escrow_id") or ""),
        status=EscrowStatus(data.get("status") or EscrowStatus.NONE),
        deposited=num("deposited"),
        earned=num("earned"),
        withdrawn=num("withdrawn"),
        remaining=num("remaining"),
        withdrawable=num("withdrawable"),
        start=num("start"),
        end=num("end"),
        now=num("now"),
        rate_per_hour=num("rate_per_hour") or num("ratePerHour"),
        runway=num("runway"),
        source="stack outputs (as of the last pulumi up)",
    )


def top_up_for(figures: EscrowFigures, seconds: int) -> int:
    """Wei that buys `seconds` more runway at the escrow's rate (rounded up, so it is never short)."""
    return deposit_for(figures.rate_per_hour, seconds)
