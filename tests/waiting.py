"""The tests' one way to wait: poll a condition until it holds, never sleep for a fixed time and hope.

Deadlines are generous on purpose (a busy 2-core CI machine runs these); a condition that holds returns at once,
so a generous deadline costs nothing when things work. A check that raises counts as "not yet", and the last
answer or error is in the timeout message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def wait_for(check: Callable[[], T | None], *, what: str, timeout: float = 120.0, interval: float = 0.3) -> T:
    """Return the first truthy answer of `check`; fail naming `what` and the last answer after `timeout` s."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = check()
        except Exception as error:  # not ready yet; reported if it never becomes ready
            last = error
        if last and not isinstance(last, Exception):
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")
        time.sleep(interval)
