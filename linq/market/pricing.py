"""Exact money math of the escrow, in LNQ wei (ints only).

The escrow accrues floor(ratePerHour * seconds / 3600); a deposit meant to last `seconds` is
ceilDiv(ratePerHour * seconds, 3600), so the runway is never shorter than asked. The rate of an escrow
at registry prices is Σ units * unit price per hour + gpuCount * the GPU class's price per hour.
"""

from __future__ import annotations

from dataclasses import dataclass

from linq.units import format_lnq

SECONDS_PER_HOUR = 3600
UINT128_MAX = 2**128 - 1


class PricingError(ValueError):
    """Inputs to a price computation are out of range; the message names the field and the fix."""


@dataclass(frozen=True, slots=True)
class UnitPrices:
    """LNQ wei per unit-hour, as the registry's BaseRanges."""

    cpu_per_milli_hour: int
    memory_per_mib_hour: int
    storage_per_gib_hour: int


def ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def rate_per_hour(
    cpu_millis: int,
    memory_mib: int,
    storage_gib: int,
    prices: UnitPrices,
    *,
    gpu_count: int = 0,
    gpu_price_per_hour: int = 0,
) -> int:
    """The escrow rate in wei per hour for these resources at these prices (the registry's `quote`)."""
    for name, value in (
        ("cpu_millis", cpu_millis),
        ("memory_mib", memory_mib),
        ("storage_gib", storage_gib),
        ("gpu_count", gpu_count),
        ("gpu_price_per_hour", gpu_price_per_hour),
    ):
        if value < 0:
            raise PricingError(f"{name} is {value}; it must be ≥ 0")
    rate = (
        cpu_millis * prices.cpu_per_milli_hour
        + memory_mib * prices.memory_per_mib_hour
        + storage_gib * prices.storage_per_gib_hour
        + gpu_count * gpu_price_per_hour
    )
    if rate > UINT128_MAX:
        raise PricingError(f"rate {rate} wei/h does not fit the contract's uint128; request fewer resources")
    return rate


def accrued(rate_per_hour_wei: int, seconds: int) -> int:
    """What an escrow at this rate has earned after `seconds` (floored, as the contract does)."""
    _check_rate_and_seconds(rate_per_hour_wei, seconds)
    return rate_per_hour_wei * seconds // SECONDS_PER_HOUR


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


def offer_deposit_bounds(rate_per_hour_wei: int, min_duration: int, max_duration: int) -> tuple[int, int]:
    """The deposits createFromOffer accepts: those whose runway is within [min_duration, max_duration].

    runway(D) <= max  <=>  D * 3600 <= rate * max;   runway(D) >= min  <=>  D * 3600 > rate * (min - 1).
    The lower bound is empty (low > high) when the rate is too coarse for the window.
    """
    if rate_per_hour_wei <= 0:
        raise PricingError(f"ratePerHour is {rate_per_hour_wei}; an offer's rate must be > 0")
    _check_rate_and_seconds(rate_per_hour_wei, max_duration)
    low = 0 if min_duration <= 0 else rate_per_hour_wei * (min_duration - 1) // SECONDS_PER_HOUR + 1
    high = rate_per_hour_wei * max_duration // SECONDS_PER_HOUR
    return low, high


def format_rate(rate_per_hour_wei: int) -> str:
    """'0.0042 LNQ/h' — exact."""
    return format_lnq(rate_per_hour_wei, unit=" LNQ/h")


def _check_rate_and_seconds(rate: int, seconds: int) -> None:
    if rate < 0:
        raise PricingError(f"rate_per_hour is {rate} wei; it must be ≥ 0")
    if seconds < 0:
        raise PricingError(f"duration is {seconds} s; it must be ≥ 0")
