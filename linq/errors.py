"""The base of every error a user can cause by what they typed or configured: it keeps the field, the value,
the problem and the fix apart (so the CLI, Pulumi check failures and the agent can show them), and each
family (units, chain inputs, catalog, monitor) words the one sentence its own way."""

from __future__ import annotations

from typing import Any


class FieldError(ValueError):
    """`field` has `value`, which `problem`; `fix` says what to do instead."""

    def __init__(self, field: str, value: Any, problem: str, fix: str) -> None:
        self.field = field
        self.value = value
        self.problem = problem
        self.fix = fix
        super().__init__(self.sentence())

    def sentence(self) -> str:
        return f"{self.field}: {self.value!r} {self.problem}; {self.fix}"
