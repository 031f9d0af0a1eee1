"""The escrow's status, as the Escrow contract's `Status` enum (same order, same names).

A StrEnum: a member equals its label ("Active"), which is what JSON, Pulumi outputs and messages carry.
"""

from __future__ import annotations

from enum import StrEnum


class EscrowStatus(StrEnum):
    """IEscrow.Status, in the contract's order. `Ended` is derived by the contract's view (Active, past its end)."""

    NONE = "None"
    CREATED = "Created"
    ACTIVE = "Active"
    ENDED = "Ended"
    CANCELLED = "Cancelled"
    STOPPED = "Stopped"
    COMPLETED = "Completed"

    @classmethod
    def from_code(cls, code: int) -> EscrowStatus:
        """From the contract's uint8."""
        members = list(cls)
        if not 0 <= int(code) < len(members):
            raise ValueError(f"escrow status code {code} is not one of the contract's 0..{len(members) - 1}")
        return members[int(code)]

    @property
    def code(self) -> int:
        return list(type(self)).index(self)

    @property
    def is_open(self) -> bool:
        return self in OPEN

    @property
    def is_settled(self) -> bool:
        return self in SETTLED


OPEN = frozenset({EscrowStatus.CREATED, EscrowStatus.ACTIVE, EscrowStatus.ENDED})
SETTLED = frozenset({EscrowStatus.CANCELLED, EscrowStatus.STOPPED, EscrowStatus.COMPLETED})
PAID_THROUGH = frozenset({EscrowStatus.CREATED, EscrowStatus.ACTIVE})  # the workload is paid for now
