"""Test-only fault injection at linq's named checkpoints (linq/checkpoints.py).

Two faults, each inert unless its variable is set in the process's environment:
- LINQ_FAULT_KILL_AT: comma-separated step names (e.g. "create:after-send"); reaching one SIGKILLs this
  process, as a real crash would.
- LINQ_FAULT_RUN_AT: a JSON object {step: argv}; reaching the step runs argv synchronously, once per
  process (a retried step does not run it again). Tests use it to act as another party at an exact point:
  spend the signer's nonce, revoke its allowance, deactivate the provider between estimate and send.

Installed by tests/conftest.py in the test process, and in processes the tests start (the Pulumi
dynamic-provider host, the agent CLI) by `fault_env`, which puts this directory on PYTHONPATH so its
sitecustomize.py installs the hook at interpreter start. Nothing shipped imports this module.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path

ENV_KILL_AT = "LINQ_FAULT_KILL_AT"
ENV_RUN_AT = "LINQ_FAULT_RUN_AT"
SITE_DIR = Path(__file__).resolve().parent

_ran: set[str] = set()


def hook(step: str) -> None:
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


def install() -> None:
    from linq import checkpoints

    checkpoints.install(hook)


def fault_env(env: Mapping[str, str], **faults: str) -> dict[str, str]:
    """`env` for a child process with the hook installed at start and these faults set
    (kill_at="step,...", run_at=json)."""
    out = dict(env)
    out["PYTHONPATH"] = os.pathsep.join(p for p in (str(SITE_DIR), env.get("PYTHONPATH", "")) if p)
    names = {"kill_at": ENV_KILL_AT, "run_at": ENV_RUN_AT}
    for key, value in faults.items():
        out[names[key]] = value
    return out
