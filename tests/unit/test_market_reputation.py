"""The reputation score: bounded, prior-centred, monotone, dust-capped; region encoding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linq.market.encoding import EncodingError, bytes32_to_text
from linq.market.reputation import (
    MIN_EARNED_PER_SUCCESS,
    region_from_bytes32,
    region_matches,
    region_to_bytes32,
    reputation_score,
    score_reputation,
)

LNQ = 10**18
counters = st.integers(min_value=0, max_value=2**32 - 1)


def test_a_new_provider_scores_one_half() -> None:
    assert reputation_score(0, 0, 0, 0) == 0.5


@given(counters, counters, counters, st.integers(min_value=0, max_value=2**128 - 1))
def test_score_is_strictly_inside_zero_and_one(c: int, s: int, x: int, earned: int) -> None:
    assert 0.0 < reputation_score(c, s, x, earned) < 1.0


@given(st.integers(0, 10_000), st.integers(0, 100), st.integers(0, 100))
def test_more_completions_never_lower_the_score_and_cancellations_never_raise_it(c: int, s: int, x: int) -> None:
    rich = 10**40
    assert reputation_score(c + 1, s, x, rich) >= reputation_score(c, s, x, rich)
    assert reputation_score(c, s, x + 1, rich) <= reputation_score(c, s, x, rich)


def test_examples_and_stopped_early_counts_half() -> None:
    assert reputation_score(10, 0, 0, 10 * LNQ) == pytest.approx(12 / 14)
    assert reputation_score(0, 10, 0, 10 * LNQ) == pytest.approx(7 / 14)
    assert reputation_score(0, 0, 10, 0) == pytest.approx(2 / 14)


def test_dust_escrows_do_not_buy_reputation() -> None:
    detail = score_reputation(100, 0, 0, MIN_EARNED_PER_SUCCESS)  # 100 completions, 0.01 LNQ earned
    assert detail.capped_by_earnings and detail.successes == 1
    assert detail.score == pytest.approx(3 / 104)
    assert not score_reputation(100, 0, 0, 100 * MIN_EARNED_PER_SUCCESS).capped_by_earnings


def test_negative_counters_are_refused() -> None:
    with pytest.raises(ValueError, match="completed is -1"):
        reputation_score(-1, 0, 0, 0)


def test_region_bytes32_round_trip_and_matching() -> None:
    raw = region_to_bytes32(" EU-West ")
    assert raw == b"eu-west".ljust(32, b"\0")
    assert region_from_bytes32(raw) == "eu-west"
    assert region_from_bytes32("0x" + raw.hex()) == "eu-west"
    assert bytes32_to_text(b"\xff" * 32) == "0x" + "ff" * 32  # not text: shown as hex
    assert region_matches("eu-west-2", "eu") and region_matches("eu", "EU")
    assert not region_matches("europe", "eu")
    with pytest.raises(EncodingError, match="at most 32 bytes"):
        region_to_bytes32("x" * 33)
