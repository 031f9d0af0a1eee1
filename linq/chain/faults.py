"""Test-only fault injection: kill this process at a named step, to prove crash safety.

Set LINQ_FAULT_KILL_AT to a comma-separated list of step names (e.g. "create:after-send"). The step
names are the ones `checkpoint` is called with; nothing happens when the variable is unset.
"""

from __future__ import annotations

import os
import signal

ENV_KILL_AT = "LINQ_FAULT_KILL_AT"


def checkpoint(step: str) -> None:
    """SIGKILL ourselves if `step` was asked for: no cleanup, no flush, as a real crash."""
    wanted = os.environ.get(ENV_KILL_AT, "")
    if wanted and step in {s.strip() for s in wanted.split(",")}:
        os.kill(os.getpid(), signal.SIGKILL)
