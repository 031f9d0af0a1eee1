"""The reputation score of a provider, in [0, 1], from the counters the escrow contract records.

Outcomes, as the contracts count them (docs/contracts.md, Market rules): `completed` (ran to its end:
worth 1), `stoppedEarly` (the requestor stopped it after paying at least the minimum prepaid period:
worth ½ — a stop can be the requestor's choice as much as the provider's fault), `cancelled` (the
provider neither started nor declined it within the start window: worth 0). Declines, a requestor's
cancel inside the window and escrows a provider funded itself are not outcomes. The score is the
mean of these outcomes under a Beta-style prior of PRIOR_WEIGHT pseudo-outcomes at PRIOR_MEAN, so a
new provider scores exactly PRIOR_MEAN (0.5), one good escrow moves it a little, and no finite
history reaches 0 or 1:

    score = (successes + PRIOR_WEIGHT * PRIOR_MEAN) / (outcomes + PRIOR_WEIGHT)
    successes = completed + stoppedEarly / 2,   outcomes = completed + stoppedEarly + cancelled

`totalEarned` guards against farming with dust escrows: successes count only up to
totalEarned / MIN_EARNED_PER_SUCCESS (a provider that "completed" 100 escrows while earning
0.01 LNQ in total is credited with one success). The score is one exact integer ratio converted to
float once (Python's int/int division is correctly rounded), so equal counters give equal scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from linq.market.encoding import region_from_bytes32, region_matches, region_to_bytes32

__all__ = [
    "MIN_EARNED_PER_SUCCESS",
    "PRIOR_MEAN",
    "PRIOR_WEIGHT",
    "ReputationScore",
    "region_from_bytes32",
    "region_matches",
    "region_to_bytes32",
    "reputation_score",
    "score_reputation",
]

PRIOR_WEIGHT = 4
PRIOR_SUCCESSES = 2  # PRIOR_WEIGHT * PRIOR_MEAN
PRIOR_MEAN = Fraction(PRIOR_SUCCESSES, PRIOR_WEIGHT)
MIN_EARNED_PER_SUCCESS = 10**16  # 0.01 LNQ in wei


@dataclass(frozen=True, slots=True)
class ReputationScore:
    """The score and the numbers it came from (shown by `linq providers show`)."""

    score: float
    successes: Fraction  # credited successes after the dust cap
    outcomes: int
    capped_by_earnings: bool


def score_reputation(completed: int, stopped_early: int, cancelled: int, total_earned: int) -> ReputationScore:
    for name, value in (
        ("completed", completed),
        ("stoppedEarly", stopped_early),
        ("cancelled", cancelled),
        ("totalEarned", total_earned),
    ):
        if value < 0:
            raise ValueError(f"reputation counter {name} is {value}; counters are never negative")
    outcomes = completed + stopped_early + cancelled
    twice_raw = 2 * completed + stopped_early  # successes * 2 keeps the ½ weight an integer
    capped = twice_raw * MIN_EARNED_PER_SUCCESS > 2 * total_earned
    if capped:  # successes = total_earned / MIN_EARNED_PER_SUCCESS
        score = (total_earned + PRIOR_SUCCESSES * MIN_EARNED_PER_SUCCESS) / (
            MIN_EARNED_PER_SUCCESS * (outcomes + PRIOR_WEIGHT)
        )
        successes = Fraction(total_earned, MIN_EARNED_PER_SUCCESS)
    else:
        score = (twice_raw + 2 * PRIOR_SUCCESSES) / (2 * (outcomes + PRIOR_WEIGHT))
        successes = Fraction(twice_raw, 2)
    return ReputationScore(score, successes, outcomes, capped_by_earnings=capped)


def reputation_score(completed: int, stopped_early: int, cancelled: int, total_earned: int) -> float:
    return score_reputation(completed, stopped_early, cancelled, total_earned).score
