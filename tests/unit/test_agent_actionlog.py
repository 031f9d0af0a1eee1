"""The agent's log: one JSON object per line, wei amounts as exact strings, None fields left out."""

from __future__ import annotations

import io
import json

from linq.agent.actionlog import ActionLog


def test_one_json_line_per_event_with_exact_amounts() -> None:
    out = io.StringIO()
    log = ActionLog(out)
    big = 2**96 - 1  # past what a double holds exactly
    log.info("escrow-withdrawn", escrow_id="0x" + "ab" * 32, tx="0x" + "cd" * 32, amount=big, block=7, detail=None)
    log.error("action-failed", escrow_id="0x" + "ab" * 32, detail="the chain said no")
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["event"] == "escrow-withdrawn" and first["level"] == "info"
    assert first["amount"] == str(big) and first["block"] == 7  # a block number stays a number
    assert "detail" not in first and first["ts"].endswith("+00:00")
    assert second["level"] == "error" and second["detail"] == "the chain said no"
    assert [line["event"] for line in log.lines] == ["escrow-withdrawn", "action-failed"]
