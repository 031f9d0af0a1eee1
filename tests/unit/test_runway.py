"""Runway protection decisions: due only below the threshold, never beyond the cap, never for closed escrows."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linq.runway import Ledger, RunwayPolicy, decide
from linq.stackconfig import ConfigError, load_stack_config

POLICY = RunwayPolicy(below_seconds=6 * 3600, amount=5 * 10**17, cap=2 * 10**18)


def test_tops_up_only_below_the_threshold() -> None:
    assert decide(POLICY, status="Active", runway_seconds=6 * 3600, spent=0) == 0
    assert decide(POLICY, status="Active", runway_seconds=6 * 3600 - 1, spent=0) == POLICY.amount


@pytest.mark.parametrize("status", ["Ended", "Cancelled", "Stopped", "Completed", "None"])
def test_never_for_a_closed_escrow(status: str) -> None:
    assert decide(POLICY, status=status, runway_seconds=0, spent=0) == 0


@given(runways=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=40))
def test_the_cap_is_never_exceeded(runways: list[int]) -> None:
    spent = 0
    for runway in runways:
        amount = decide(POLICY, status="Active", runway_seconds=runway, spent=spent)
        assert 0 <= amount <= POLICY.amount
        spent += amount
        assert spent <= POLICY.cap


def test_last_top_up_is_cut_to_what_the_cap_allows() -> None:
    assert decide(POLICY, status="Active", runway_seconds=0, spent=POLICY.cap - 7) == 7
    assert decide(POLICY, status="Active", runway_seconds=0, spent=POLICY.cap) == 0


def test_ledger_survives_a_restart(tmp_path) -> None:
    ledger = Ledger(tmp_path / "ledger.json")
    ledger.record("0xabc", 10, "0x01")
    ledger.record("0xabc", 15, "0x02")
    assert Ledger(tmp_path / "ledger.json").spent("0xabc") == 25


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"below": "soon", "amount": "1 LNQ", "cap": "2 LNQ"}, "autoTopUp.below"),
        ({"below": "6h", "amount": "3 LNQ", "cap": "2 LNQ"}, "at most cap"),
        ({"below": "6h", "amount": 0.5, "cap": "2 LNQ"}, "never a float"),
    ],
)
def test_bad_policies_fail_at_preview_naming_the_field(policy: dict, message: str) -> None:
    deployment = {"name": "chat", "template": "open-webui", "duration": "24h", "autoTopUp": policy}
    with pytest.raises(ConfigError, match=message):
        load_stack_config({"deployments": [deployment]})
