"""Runway protection: an opt-in auto top-up, so an escrow does not run dry under a running deployment.

A policy says: when the escrow's runway falls below `below_seconds`, top it up by `amount` wei, and never
spend more than `cap` wei in auto top-ups on that escrow. `linq runway guard` applies it on the requestor's
side (cron with `--once`, or as a loop). The guard tags its topUp calldata with RUNWAY_TAG, so what it spent
is on the chain: the tagged ToppedUp transactions from its wallet. It also keeps a ledger file (amount and tx
of each top-up) and counts the larger of the two, so neither a restart nor a lost ledger lets it pass the cap,
and top-ups made by hand (untagged) never count against it.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linq.protocol.status import PAID_THROUGH

OPEN_FOR_TOP_UP = PAID_THROUGH
RUNWAY_TAG = b"linq:runway"  # appended to the guard's topUp calldata; ignored by the contract


@dataclass(frozen=True)
class RunwayPolicy:
    below_seconds: int
    amount: int  # wei per top-up
    cap: int  # wei in total, over all auto top-ups of one escrow

    def __post_init__(self) -> None:
        if self.below_seconds <= 0 or self.amount <= 0 or self.cap <= 0:
            raise ValueError(f"runway policy {self}: below, amount and cap must all be positive")
        if self.amount > self.cap:
            raise ValueError(f"runway policy: amount {self.amount} wei exceeds the cap {self.cap} wei; lower amount")


def decide(policy: RunwayPolicy, *, status: str, runway_seconds: int, spent: int) -> int:
    """Wei to top up now: the policy's amount, cut to what the cap still allows; 0 when nothing is due."""
    if status not in OPEN_FOR_TOP_UP or runway_seconds >= policy.below_seconds:
        return 0
    return max(0, min(policy.amount, policy.cap - spent))


class Ledger:
    """escrow id -> auto top-ups sent (amount and tx hash), kept in a JSON file written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, list[dict[str, Any]]] = json.loads(path.read_text()) if path.exists() else {}

    def spent(self, escrow_id: str) -> int:
        return sum(int(e["amount"]) for e in self.entries.get(escrow_id, []))

    def record(self, escrow_id: str, amount: int, tx: str) -> None:
        self.entries.setdefault(escrow_id, []).append({"amount": str(amount), "tx": tx})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".runway-")
        with os.fdopen(fd, "w") as handle:
            json.dump(self.entries, handle, indent=2)
        os.replace(tmp, self.path)


def spent_on_chain(client: Any, escrow_id: bytes) -> int:
    """Wei of the guard's own top-ups of `escrow_id`: ToppedUp events from this wallet whose tx carries the tag."""
    logs = client.escrow.events.ToppedUp.get_logs(
        argument_filters={"id": escrow_id, "from": client.address}, from_block=int(client.profile.book.deployed_block)
    )
    total = 0
    for log in logs:
        data = client.w3.eth.get_transaction(log["transactionHash"])["input"]
        if bytes(data).endswith(RUNWAY_TAG):
            total += int(log["args"]["amount"])
    return total


def guard_once(client: Any, escrows: dict[str, RunwayPolicy], ledger: Ledger) -> list[dict[str, Any]]:
    """One pass over `escrows` (id -> policy): read each from the chain, top up where the policy says so."""
    from linq.chain import escrows as ops

    actions: list[dict[str, Any]] = []
    for escrow_id, policy in escrows.items():
        terms = ops.find_by_id(client, bytes.fromhex(escrow_id.removeprefix("0x")))
        if terms is None:
            actions.append({"event": "unknown-escrow", "escrow_id": escrow_id})
            continue
        terms = ops.follow(client, terms)
        state = ops.read_state(client, terms)
        spent = max(ledger.spent(escrow_id), spent_on_chain(client, terms.escrow_id))
        amount = decide(policy, status=state.status, runway_seconds=state.runway, spent=spent)
        if amount == 0:
            reason = "cap reached" if spent >= policy.cap and state.runway < policy.below_seconds else "not due"
            actions.append(
                {
                    "event": "no-top-up",
                    "escrow_id": escrow_id,
                    "runway": state.runway,
                    "spent": str(spent),
                    "detail": reason,
                }
            )
            continue
        hashes = ops.top_up(client, terms, amount, tag=RUNWAY_TAG)
        ledger.record(escrow_id, amount, hashes["top_up"])
        actions.append(
            {
                "event": "topped-up",
                "escrow_id": escrow_id,
                "amount": str(amount),
                "tx": hashes["top_up"],
                "runway_before": state.runway,
                "spent": str(spent + amount),
            }
        )
    return actions
