"""The escrow's integer money math, exactly as Escrow.sol computes it (LNQ wei; no floats)."""

from __future__ import annotations


def ceil_div(numerator: int, denominator: int) -> int:
    """The contract's ceilDiv for non-negative integers (and exact ceilings of Fractions' parts)."""
    return -(-numerator // denominator)
