"""Test-only fault injection at named steps, to prove crash safety and convergence after faults.

Two hooks, both inert unless their variable is set:
- LINQ_FAULT_KILL_AT: comma-separated step names (e.g. "create:after-send"); reaching one SIGKILLs this
  process, as a real crash would.
- LINQ_FAULT_RUN_AT: a JSON object {step: argv}; reaching the step runs argv synchronously, once per
  process (a retried step does not run it again). Tests use it to act as another party at an exact point:
  spend the signer's nonce, revoke its allowance, deactivate the provider between estimate and send.
The step names are the ones `checkpoint` is called with.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess

ENV_KILL_AT = "LINQ_FAULT_KILL_AT"
ENV_RUN_AT = "LINQ_FAULT_RUN_AT"

_ran: set[str] = set()


def checkpoint(step: str) -> None:
    """SIGKILL ourselves if `step` was asked for (no cleanup, no flush), or run the step's command."""
    wanted = os.environ.get(ENV_KILL_AT, "")
    if wanted and step in {s.strip() for s in wanted.split(",")}:
        os.kill(os.getpid(), signal.SIGKILL)
    commands = os.environ.get(ENV_RUN_AT, "")
    if commands and step not in _ran:
        argv = json.loads(commands).get(step)
        if argv:
            _ran.add(step)
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, timeout=120)
