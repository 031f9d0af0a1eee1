"""Errors a user of the monitoring commands can meet (their exit codes: the one table, linq/cli/errors.py)."""

from __future__ import annotations


class MonitorError(Exception):
    """Bad input or an unreachable source; the message names the field, the bad value and the fix."""


class InputError(MonitorError):
    def __init__(self, field: str, value: object, problem: str, fix: str) -> None:
        super().__init__(f"{field} {value!r} {problem}; {fix}")
        self.field = field
        self.value = value


class SourceUnavailable(MonitorError):
    """A cluster, chain, Prometheus or Pulumi backend that does not answer (or refuses us)."""
