"""Pricing exactness (hypothesis) and the parsing of what users type."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linq.market.pricing import UnitPrices, rate_per_hour
from linq.protocol.money import PricingError, accrued, deposit_for, offer_deposit_bounds, runway_seconds
from linq.units import (
    UnitError,
    format_duration,
    format_lnq,
    format_rate,
    parse_amount,
    parse_cpu,
    parse_duration,
    parse_memory,
    parse_rate,
    parse_storage,
)

rates = st.integers(min_value=0, max_value=2**128 - 1)
seconds = st.integers(min_value=0, max_value=2**64 - 1)
u32 = st.integers(min_value=0, max_value=2**32 - 1)
u64 = st.integers(min_value=0, max_value=2**64 - 1)


@given(rates, seconds)
def test_deposit_covers_the_duration_and_is_the_smallest_that_does(rate: int, secs: int) -> None:
    deposit = deposit_for(rate, secs)
    assert deposit * 3600 >= rate * secs  # the runway lasts at least `secs`
    assert deposit == 0 or (deposit - 1) * 3600 < rate * secs  # one wei less would not
    assert accrued(rate, secs) <= deposit  # the escrow never accrues more than was deposited
    assert deposit - accrued(rate, secs) <= 1  # ceil vs floor differ by at most one wei


@given(st.integers(min_value=1, max_value=2**128 - 1), seconds)
def test_runway_of_the_deposit_is_at_least_the_duration(rate: int, secs: int) -> None:
    runway = runway_seconds(rate, deposit_for(rate, secs))
    assert runway is not None and runway >= secs


@given(st.integers(min_value=1, max_value=2**128 - 1), st.integers(min_value=1, max_value=2**200))
def test_runway_ends_exactly_when_the_deposit_is_earned(rate: int, deposit: int) -> None:
    runway = runway_seconds(rate, deposit)  # the Escrow's end - start
    assert runway is not None
    assert min(accrued(rate, runway), deposit) == deposit  # earned == deposited at end
    assert accrued(rate, runway - 1) < deposit  # and not a second earlier


@given(
    st.integers(min_value=1, max_value=2**128 - 1),
    st.integers(min_value=0, max_value=10**9),
    st.integers(min_value=0, max_value=10**9),
)
def test_offer_deposit_bounds_are_exactly_the_accepted_deposits(rate: int, a: int, b: int) -> None:
    low, high = offer_deposit_bounds(rate, min(a, b), max(a, b))

    def accepted(deposit: int) -> bool:
        runway = runway_seconds(rate, deposit)
        return runway is not None and min(a, b) <= runway <= max(a, b)

    if low <= high:
        assert accepted(low) and accepted(high)
    assert low == 0 or not accepted(low - 1)
    assert not accepted(high + 1)


@given(u32, u32, u32, u64, u64, u64, st.integers(0, 2**16 - 1), st.integers(0, 2**100))
def test_rate_is_the_exact_integer_sum(c: int, m: int, s: int, pc: int, pm: int, ps: int, g: int, gp: int) -> None:
    expected = c * pc + m * pm + s * ps + g * gp
    if expected > 2**128 - 1:
        with pytest.raises(PricingError, match="uint128"):
            rate_per_hour(c, m, s, UnitPrices(pc, pm, ps), gpu_count=g, gpu_price_per_hour=gp)
    else:
        assert rate_per_hour(c, m, s, UnitPrices(pc, pm, ps), gpu_count=g, gpu_price_per_hour=gp) == expected


@given(st.integers(min_value=0, max_value=10**40))
def test_lnq_formatting_round_trips_exactly(wei: int) -> None:
    assert parse_amount(format_lnq(wei)) == wei
    if wei:  # a bare number is ambiguous (LNQ or wei?) and refused — the deliberate unit fix of issue 11
        with pytest.raises(UnitError, match=r"ambiguous|no unit"):
            parse_amount(format_lnq(wei, unit=""))


def test_formatting_examples() -> None:
    assert format_lnq(42 * 10**14) == "0.0042 LNQ"
    assert format_lnq(10**18) == "1 LNQ"
    assert format_lnq(1) == "0.000000000000000001 LNQ"
    assert format_rate(15 * 10**17) == "1.5 LNQ/h"
    assert format_duration(90061) == "1d 1h 1m 1s"


def test_parse_quantities() -> None:
    assert parse_cpu("1500m") == 1500
    assert parse_cpu("1.5") == 1500
    assert parse_cpu("2 cores") == 2000
    assert parse_memory("4Gi") == 4096
    assert parse_memory("512") == 512
    assert parse_memory("1.5Gi") == 1536
    assert parse_storage("1Ti") == 1024
    assert parse_duration("1h30m") == 5400
    assert parse_duration("7d") == 604800
    assert parse_duration("3600") == 3600
    assert parse_amount("0.0042 LNQ") == 42 * 10**14
    assert parse_amount("42 wei") == 42
    assert parse_rate("1.5 LNQ/h") == 15 * 10**17


@pytest.mark.parametrize(
    ("parser", "text", "needle"),
    [
        (parse_cpu, "1.5m", "fraction of a millicore"),
        (parse_cpu, "1500", "write 1500m"),
        (parse_cpu, "two", "not a CPU quantity"),
        (parse_memory, "1.0001Gi", "whole MiB"),
        (parse_memory, "4GB", "unknown unit 'GB'"),
        (parse_duration, "1y", "unknown unit 'y'"),
        (parse_duration, "-1h", "is negative"),
        (parse_amount, "0.1234567890123456789", "19 decimals"),
        (parse_amount, "1e18", "not an LNQ amount"),
    ],
)
def test_bad_input_names_the_value_and_the_fix(parser, text: str, needle: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnitError) as err:
        parser(text)
    assert repr(text) in str(err.value) and needle in str(err.value)
