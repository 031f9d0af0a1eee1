"""User-facing errors: each names the field, the bad value and the fix."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

# What to do about each kind of pydantic error; field-specific validators put the fix in their message.
_FIXES = {
    "extra_forbidden": "remove it (secrets are referenced with {name, key} of a Kubernetes Secret, never inlined)",
    "missing": "add it",
    "string_pattern_mismatch": "use a value matching the pattern",
    "literal_error": "use one of the allowed values",
    "bool_parsing": "use true or false",
    "bool_type": "use true or false",
    "int_parsing": "use a whole number",
    "int_type": "use a whole number",
    "greater_than": "use a larger number",
    "greater_than_equal": "use a larger number",
    "less_than_equal": "use a smaller number",
    "string_too_long": "shorten it",
    "string_too_short": "give a non-empty value",
    "dict_type": "use a mapping",
    "model_type": "use a mapping",
    "list_type": "use a list",
}


# What a good value looks like, for fields whose pattern alone does not say it.
_EXAMPLES = {
    "cluster_name": "a lowercase DNS label such as provider-eu-1",
    "public_domain": "a lowercase DNS name such as apps.example.com",
    "name": "a lowercase DNS label such as lpstack-agent-key",
    "key": "a Secret data key such as token",
    "rpc_url": "an http(s):// or ws(s):// URL such as https://rpc.example.com",
    "local_url": "an http(s):// URL such as https://%{KUBERNETES_API}%/static/charts",
    "prometheus_retention": "a duration such as 15d",
    "log_retention": "a duration such as 168h",
    "runtime_class": "a lowercase DNS label such as gvisor",
    "handler": "a lowercase DNS label such as runsc",
}


class LPStackError(ValueError):
    """A problem a user can fix in the LPStack configuration or its inputs."""


class LPStackConfigError(LPStackError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid LPStack configuration:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def from_validation(error: ValidationError, source: str = "config") -> LPStackConfigError:
    problems = []
    for item in error.errors(include_url=False):
        field = ".".join(str(p) for p in item["loc"]) or "(top level)"
        kind = item["type"]
        message = item["msg"].removeprefix("Value error, ")
        fix = _FIXES.get(kind, "")
        example = _EXAMPLES.get(str(item["loc"][-1])) if item["loc"] else None
        if kind == "string_pattern_mismatch" and example:
            fix = f"use {example}"
        got = "" if kind == "missing" else f" (got {_short(item.get('input'))})"
        if not item["loc"] and ": " in message:
            # A check across fields names its own field and value: "field.path: message (got ...)".
            field, _, message = message.partition(": ")
            got = ""
        line = f"{source}: {field}: {message}{got}"
        if fix and kind != "value_error":
            line += f"; fix: {fix}"
        problems.append(line)
    return LPStackConfigError(problems)
