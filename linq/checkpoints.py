"""Named steps of the money path (before approve, after send, before the state write, ...) where a test
harness may hook in to prove crash safety and convergence after faults.

Inert in a shipped build: `checkpoint` does nothing unless a hook was installed with `install`, and nothing in
`linq` or `components` installs one. Fault injection itself (kill the process at a step, run a command as
another party) lives with the tests: tests/faultsite/linq_fault_hooks.py, installed into the test process by
tests/conftest.py and into the processes tests start (Pulumi's dynamic-provider host, the agent) by putting
tests/faultsite on their PYTHONPATH (its sitecustomize installs the hook).
"""

from __future__ import annotations

from collections.abc import Callable

_hook: Callable[[str], None] | None = None


def checkpoint(step: str) -> None:
    """Reached `step`: call the installed hook, if any."""
    if _hook is not None:
        _hook(step)


def install(hook: Callable[[str], None] | None) -> None:
    """Install (or, with None, remove) the one hook. For test harnesses only."""
    global _hook
    _hook = hook
