"""Registry pricing: the rate of an escrow at registry prices is Σ units * unit price per hour + gpuCount *
the GPU class's price per hour (the registry's `quote`), in LNQ wei. The escrow's own money math (accrual,
deposits, runway) is linq.protocol.money's.
"""

from __future__ import annotations

from dataclasses import dataclass

from linq.protocol.money import PricingError

UINT128_MAX = 2**128 - 1


@dataclass(frozen=True, slots=True)
class UnitPrices:
    """LNQ wei per unit-hour, as the registry's BaseRanges."""

    cpu_per_milli_hour: int
    memory_per_mib_hour: int
    storage_per_gib_hour: int


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
