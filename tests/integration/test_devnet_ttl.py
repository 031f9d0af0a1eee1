"""A devnet whose time to live runs out stops every process it started (the watchdog used to stop itself
first, leaving the rest running)."""

from __future__ import annotations

from pathlib import Path

import pytest

from linq.devnet import Devnet
from tests.waiting import wait_for

pytestmark = pytest.mark.integration


def test_ttl_stops_everything(tmp_path: Path) -> None:
    net = Devnet(tmp_path / "net")
    net.up(with_kube=False, ttl_seconds=5)
    records, _ = net.read()
    assert {r.name for r in records} >= {"anvil", "watchdog"}
    try:
        wait_for(lambda: not any(r.alive() for r in records), what="every process stopped by the TTL", timeout=90)
    finally:
        net.down()
    assert "TTL reached" in (net.log_dir / "watchdog.log").read_text()
