"""Errors a user of the monitoring commands can meet, and the exit codes scripts see.

0 ok; 1 problems found / unhealthy (a result, not an error); 2 bad usage or a source that cannot be reached.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2


class MonitorError(Exception):
    """Bad input or an unreachable source; the message names the field, the bad value and the fix."""

    exit_code = EXIT_USAGE


class InputError(MonitorError):
    def __init__(self, field: str, value: object, problem: str, fix: str) -> None:
        super().__init__(f"{field} {value!r} {problem}; {fix}")
        self.field = field
        self.value = value


class SourceUnavailable(MonitorError):
    """A cluster, chain, Prometheus or Pulumi backend that does not answer (or refuses us)."""
