"""One JSON line per agent action or observation, for log collectors (Loki) and for people with `jq`.

Every line has `ts` (UTC, ISO 8601), `level` and `event`; actions carry `escrow_id` and `tx`. Only
addresses, ids, hashes and amounts are ever passed in: the signer exposes its address, never its key.
Amounts are strings of wei, so no JSON reader rounds them.
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import UTC, datetime
from typing import Any, TextIO


class ActionLog:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.lines: list[dict[str, Any]] = []  # this process's lines, for the pass report and tests
        self._lock = threading.Lock()

    def emit(self, event: str, *, level: str = "info", **fields: Any) -> dict[str, Any]:
        line: dict[str, Any] = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": level,
            "event": event,
        }
        for key, value in fields.items():
            if value is None:
                continue
            is_wei = key in AMOUNT_FIELDS and isinstance(value, int) and not isinstance(value, bool)
            line[key] = str(value) if is_wei else value
        with self._lock:
            self.lines.append(line)
            self.stream.write(json.dumps(line, sort_keys=False) + "\n")
            self.stream.flush()
        return line

    def info(self, event: str, **fields: Any) -> dict[str, Any]:
        return self.emit(event, level="info", **fields)

    def warning(self, event: str, **fields: Any) -> dict[str, Any]:
        return self.emit(event, level="warning", **fields)

    def error(self, event: str, **fields: Any) -> dict[str, Any]:
        return self.emit(event, level="error", **fields)


# Fields that hold wei amounts: written as strings.
AMOUNT_FIELDS = frozenset(
    {"amount", "withdrawable", "earned", "withdrawn", "deposited", "to_provider", "total", "min_withdraw"}
)
