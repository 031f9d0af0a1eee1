"""Errors a user of the monitoring commands can meet (their exit codes: the one table, linq/cli/errors.py)."""

from __future__ import annotations

from linq.errors import FieldError


class MonitorError(Exception):
    """Bad input or an unreachable source; the message names the field, the bad value and the fix."""


class InputError(MonitorError, FieldError):
    def sentence(self) -> str:
        return f"{self.field} {self.value!r} {self.problem}; {self.fix}"


class SourceUnavailable(MonitorError):
    """A cluster, chain, Prometheus or Pulumi backend that does not answer (or refuses us)."""
