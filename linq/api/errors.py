"""Every refusal of the API is JSON: {error, field, value, problem, fix, message} with a 4xx/5xx status.

The status follows the one exit-code table (linq/exitcodes.py), so a mistake the CLI calls an input
error is a 400 here, an unreachable chain a 503, a chain refusal a 409. The message is the sentence the CLI
prints for the same error; field names that the library words as CLI flags (`--cpu`, `AMOUNT`) are given as
the API's parameter names (`cpu`, `amount`).
"""

from __future__ import annotations

from typing import Any

from linq.errors import FieldError
from linq.exitcodes import EXIT_FAILED, EXIT_INPUT, EXIT_NO_KEY, EXIT_UNREACHABLE, exit_code_for, message

STATUS_FOR_EXIT = {EXIT_INPUT: 400, EXIT_UNREACHABLE: 503, EXIT_FAILED: 409, EXIT_NO_KEY: 400}


class ApiError(FieldError):
    """A refusal made by the API itself (auth, limits, body shape, unknown route), with its HTTP status."""

    def __init__(self, status: int, code: str, field: str, value: Any, problem: str, fix: str) -> None:
        self.status = status
        self.code = code
        super().__init__(field, value, problem, fix)


def api_field(field: str) -> str:
    """`--max-price` -> `max_price`, `AMOUNT` -> `amount`: the library's CLI wording as an API parameter."""
    return field.lstrip("-").replace("-", "_").lower() if field.startswith("-") or field.isupper() else field


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def payload(error: BaseException) -> tuple[int, dict[str, Any]] | None:
    """(HTTP status, JSON body) for a user-facing error, or None for a bug (the caller answers 500).

    A FieldError is the caller's value: 400 (the API's own refusals carry their status). Other errors take
    the status of their exit code; their field comes from a FieldError they wrap (PlanError wraps the
    catalog's) or from pydantic's location."""
    if isinstance(error, ApiError):
        return error.status, _body(error.code, error)
    code = exit_code_for(error)
    if code is None:
        return None
    name = type(error).__name__
    if isinstance(error, FieldError):
        return 400, _body(name, _renamed(error))
    status = STATUS_FOR_EXIT.get(code, 400)
    body: dict[str, Any] = {"error": name, "field": None, "value": None, "problem": None, "fix": None}
    inner = error.__context__
    if isinstance(inner, FieldError):
        body.update(_body(name, _renamed(inner)))
    errors = getattr(error, "errors", None)
    if name == "ValidationError" and callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or None
        body.update(field=where, value=_jsonable(first.get("input")), problem=first["msg"], fix=f"correct {where}")
    body["message"] = message(error)
    return status, body


def _renamed(error: FieldError) -> FieldError:
    """The same error with its field named as the API names it (the class keeps its own sentence)."""
    renamed = type(error).__new__(type(error))
    FieldError.__init__(renamed, api_field(error.field), error.value, error.problem, error.fix)
    return renamed


def _body(code: str, error: FieldError) -> dict[str, Any]:
    return {
        "error": code,
        "field": error.field,
        "value": _jsonable(error.value),
        "problem": error.problem,
        "fix": error.fix,
        "message": error.sentence(),
    }
