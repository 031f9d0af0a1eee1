"""An escrow's money and time figures: the one shape for chain reads (linq.chain.escrows.EscrowState adds the
terms), the stack's recorded outputs, `linq escrow --json`, the Escrow resource's outputs and the monitor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from linq.protocol.money import runway_seconds
from linq.protocol.status import PAID_THROUGH, EscrowStatus


def runway_left(status: EscrowStatus, deposited: int, rate_per_hour: int, end: int, now: int) -> int:
    """Seconds of service left: to the end once started; the whole prepaid span before start; 0 otherwise."""
    if status == EscrowStatus.ACTIVE:
        return max(end - now, 0)
    if status == EscrowStatus.CREATED and rate_per_hour:
        return runway_seconds(rate_per_hour, deposited) or 0
    return 0


@dataclass(frozen=True)
class EscrowFigures:
    """Amounts in LNQ wei, times in the chain's unix seconds; `runway` as of `now`."""

    escrow_id: str
    status: EscrowStatus
    deposited: int
    earned: int
    withdrawn: int
    remaining: int
    start: int
    end: int
    now: int
    rate_per_hour: int
    runway: int  # seconds of paid service left
    source: str = ""  # "chain <rpc>" or "stack outputs (as of the last pulumi up)"
    withdrawable: int = 0

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    @property
    def paid_through(self) -> bool:
        """Does the escrow still pay for the workload now?"""
        return self.status in PAID_THROUGH and (self.status == EscrowStatus.CREATED or self.now < self.end)

    def figures_json(self) -> dict[str, Any]:
        """The money and time figures as Pulumi outputs and `linq escrow --json` show them (wei as strings)."""
        return {
            "deposited": str(self.deposited),
            "earned": str(self.earned),
            "withdrawn": str(self.withdrawn),
            "withdrawable": str(self.withdrawable),
            "remaining": str(self.remaining),
            "start": self.start,
            "end": self.end,
            "runway": self.runway,
        }

    def to_json(self) -> dict[str, Any]:
        """Everything, for the monitor's JSON: id, status, the figures, the rate, `now` and the source."""
        return {
            "id": self.escrow_id,
            "status": self.status.value,
            **self.figures_json(),
            "now": self.now,
            "rate_per_hour": str(self.rate_per_hour),
            "source": self.source,
        }
