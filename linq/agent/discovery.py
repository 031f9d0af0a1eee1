"""Finding the escrows assigned to this provider, incrementally, from the Escrow contract's events.

EscrowCreated and ProviderChanged carry the provider as an indexed topic, so the node filters for us; the
Withdrawn events (provider indexed too) give the chain time of the last payout, which keeps the withdraw
schedule right even when the state file is lost. Each pass reads from the cursor to the latest block in
bounded ranges (public RPCs cap eth_getLogs), re-reading a few blocks of margin so a short reorg cannot
hide an event; re-reading is harmless because escrows are keyed by id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eth_utils import to_checksum_address

from linq.agent.state import AgentState
from linq.chain.client import ChainClient
from linq.contracts.terms import Terms

MAX_BLOCK_RANGE = 5_000
REORG_MARGIN = 6


@dataclass
class ScanResult:
    from_block: int
    to_block: int
    new: list[str] = field(default_factory=list)  # escrow ids seen for the first time (or again after "done")
    last_withdraw_at: int = 0


def _terms(event_terms: Any) -> Terms:
    # web3 decodes the struct as an AttributeDict (a Mapping, not a dict).
    return Terms.from_event(dict(event_terms) if isinstance(event_terms, Mapping) else event_terms)


def escrow_key(escrow_id: bytes) -> str:
    return "0x" + bytes(escrow_id).hex()


def scan(client: ChainClient, state: AgentState) -> ScanResult:
    """Read new events for `state.provider` up to the latest block and fold them into `state`."""
    provider = to_checksum_address(state.provider)
    latest = int(client.w3.eth.block_number)
    deployed = int(client.profile.book.deployed_block)
    start = max(deployed, state.scanned_block + 1 - REORG_MARGIN) if state.scanned_block >= 0 else deployed
    result = ScanResult(from_block=start, to_block=latest)
    events = client.escrow.events
    newest_withdraw_block = -1
    for lo in range(start, latest + 1, MAX_BLOCK_RANGE):
        hi = min(lo + MAX_BLOCK_RANGE - 1, latest)
        found: list[Terms] = []
        for log in events.EscrowCreated.get_logs(argument_filters={"provider": provider}, from_block=lo, to_block=hi):
            found.append(_terms(log["args"]["terms"]))
        moved = events.ProviderChanged.get_logs(argument_filters={"newProvider": provider}, from_block=lo, to_block=hi)
        for log in moved:
            found.append(_terms(log["args"]["terms"]))
        for terms in found:
            key = escrow_key(terms.escrow_id)
            if key not in state.escrows or key in state.done:
                result.new.append(key)
            state.escrows[key] = terms
            state.done.discard(key)
        withdrawals = events.Withdrawn.get_logs(argument_filters={"provider": provider}, from_block=lo, to_block=hi)
        for log in withdrawals:
            newest_withdraw_block = max(newest_withdraw_block, int(log["blockNumber"]))
    if newest_withdraw_block >= 0:
        result.last_withdraw_at = int(client.w3.eth.get_block(newest_withdraw_block)["timestamp"])
        state.last_withdraw_at = max(state.last_withdraw_at, result.last_withdraw_at)
    state.scanned_block = max(state.scanned_block, latest)
    return result
