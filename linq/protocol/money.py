"""The escrow's money math, exactly as Escrow.sol computes it: LNQ wei, integers only, one home for each rule.

earned(t)  = min(deposited, ratePerHour * (t - start) // 3600)      floored (favours the requestor)
end        = start + ceilDiv(deposited * 3600, ratePerHour)
deposit    = ceilDiv(ratePerHour * seconds, 3600)                    the smallest that lasts `seconds`
"""

from __future__ import annotations

SECONDS_PER_HOUR = 3600


class PricingError(ValueError):
    """Inputs to a price computation are out of range; the message names the field and the fix."""


def ceil_div(numerator: int, denominator: int) -> int:
    """The contract's ceilDiv (for non-negative integers; also exact for a Fraction's parts)."""
    return -(-numerator // denominator)


def accrued(rate_per_hour_wei: int, seconds: int) -> int:
    """What an escrow at this rate has earned after `seconds` (floored, as the contract does)."""
    _check_rate_and_seconds(rate_per_hour_wei, seconds)
    return rate_per_hour_wei * seconds // SECONDS_PER_HOUR


def earned(deposited: int, rate_per_hour: int, start: int, now: int) -> int:
    """The contract's accrual, exactly: min(deposited, rate * (now - start) // 3600); 0 before start."""
    if now <= start:
        return 0
    return min(deposited, accrued(rate_per_hour, now - start))


def deposit_for(rate_per_hour_wei: int, seconds: int) -> int:
    """The smallest deposit whose runway at this rate is at least `seconds`."""
    _check_rate_and_seconds(rate_per_hour_wei, seconds)
    return ceil_div(rate_per_hour_wei * seconds, SECONDS_PER_HOUR)


def runway_seconds(rate_per_hour_wei: int, deposit: int) -> int | None:
    """Seconds from start until the deposit is fully earned: the Escrow's `end - start`,
    ceilDiv(deposit * 3600, rate). None: a zero rate never runs out."""
    if deposit < 0:
        raise PricingError(f"deposit is {deposit}; it must be ≥ 0")
    _check_rate_and_seconds(rate_per_hour_wei, 0)
    if rate_per_hour_wei == 0:
        return None
    return ceil_div(deposit * SECONDS_PER_HOUR, rate_per_hour_wei)


def end_time(deposited: int, rate_per_hour: int, start: int) -> int:
    """When the deposit runs out: start + ceilDiv(deposited * 3600, rate)."""
    if rate_per_hour <= 0:
        raise PricingError(f"ratePerHour is {rate_per_hour}; an escrow's rate is > 0")
    return start + (runway_seconds(rate_per_hour, deposited) or 0)


def offer_deposit_bounds(rate_per_hour_wei: int, min_duration: int, max_duration: int) -> tuple[int, int]:
    """The deposits createFromOffer accepts: those whose runway is within [min_duration, max_duration].

    runway(D) <= max  <=>  D * 3600 <= rate * max;   runway(D) >= min  <=>  D * 3600 > rate * (min - 1).
    The lower bound is empty (low > high) when the rate is too coarse for the window.
    """
    if rate_per_hour_wei <= 0:
        raise PricingError(f"ratePerHour is {rate_per_hour_wei}; an offer's rate must be > 0")
    _check_rate_and_seconds(rate_per_hour_wei, max_duration)
    low = 0 if min_duration <= 0 else accrued(rate_per_hour_wei, min_duration - 1) + 1
    high = accrued(rate_per_hour_wei, max_duration)
    return low, high


def _check_rate_and_seconds(rate: int, seconds: int) -> None:
    if rate < 0:
        raise PricingError(f"rate_per_hour is {rate} wei; it must be ≥ 0")
    if seconds < 0:
        raise PricingError(f"duration is {seconds} s; it must be ≥ 0")
