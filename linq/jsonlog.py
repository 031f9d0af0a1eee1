"""One JSON log line per event on stderr, for the services (`linq gateway serve`, `linq api serve`).

A line is {"ts": unix seconds to the millisecond, "event": name, ...fields} with sorted keys; callers pass only
what may be logged (never a key, token, body or signature).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any


class JsonLog:
    """A named logger that writes bare JSON lines to stderr once `configure()` is called."""

    def __init__(self, name: str) -> None:
        self.logger = logging.getLogger(name)

    def configure(self) -> None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        self.logger.handlers[:] = [handler]
        self.logger.setLevel(logging.INFO)
        self.logger.propagate = False

    def event(self, name: str, **fields: Any) -> None:
        self.logger.info(
            json.dumps({"ts": round(time.time(), 3), "event": name, **fields}, sort_keys=True, default=str)
        )
