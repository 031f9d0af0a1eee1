"""linq.lease_credential.stale: when the requestor renews its gateway credential because of its expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from linq.lease_credential import RENEW_BEFORE, expiry, stale

NOW = datetime(2026, 12, 5, 19, 0, tzinfo=UTC)


def at(delta: timedelta) -> str:
    return (NOW + delta).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize("left", [timedelta(hours=1), timedelta(minutes=16), RENEW_BEFORE + timedelta(seconds=1)])
def test_a_credential_with_more_than_15_minutes_left_is_kept(left: timedelta) -> None:
    assert stale(at(left), NOW) is None


@pytest.mark.parametrize("left", [RENEW_BEFORE - timedelta(seconds=1), timedelta(minutes=1), -timedelta(hours=2)])
def test_a_credential_near_or_past_expiry_is_renewed(left: timedelta) -> None:
    reason = stale(at(left), NOW)
    assert reason is not None and at(left) in reason and "15 min" in reason


@pytest.mark.parametrize("bad", ["", "soon", "2026-13-40T00:00:00Z"])
def test_an_unreadable_expiry_renews(bad: str) -> None:
    assert expiry(bad) is None
    assert stale(bad, NOW) == f"its expiry {bad!r} is unreadable"


def test_expiry_reads_the_gateway_s_rfc3339_forms() -> None:
    assert expiry("2026-12-05T19:30:00Z") == NOW + timedelta(minutes=30)
    assert expiry("2026-12-05T19:30:00+00:00") == NOW + timedelta(minutes=30)
    assert expiry("2026-12-05T19:30:00") == NOW + timedelta(minutes=30)  # naive: UTC
