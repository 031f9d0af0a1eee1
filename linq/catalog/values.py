"""Checking environment and secret values against their declared type and pattern."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

EnvType = Literal["string", "int", "bool", "url", "email", "enum"]

_INT = re.compile(r"^-?[0-9]+$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")
_TRUE, _FALSE = {"true", "yes", "1", "on"}, {"false", "no", "0", "off"}
# $(NAME) is Kubernetes' dependent-variable syntax in env values, command and args.
VAR_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def value_problem(
    value: str, kind: EnvType, pattern: str | None = None, choices: list[str] | None = None
) -> tuple[str | None, str]:
    """Return (problem or None, normalized value). Values that reference $(VAR) skip type checks:
    Kubernetes fills them in at start, so only the literal parts are known here."""
    if VAR_REFERENCE.search(value):
        return None, value
    normalized = value
    if kind == "int" and not _INT.match(value):
        return f"expected an integer, got {value!r}", value
    if kind == "bool":
        lowered = value.strip().lower()
        if lowered not in _TRUE | _FALSE:
            return "expected a boolean (true/false)", value
        normalized = "true" if lowered in _TRUE else "false"
    if kind == "url":
        parts = urlsplit(value)
        if not parts.scheme or not (parts.netloc or parts.scheme in {"unix", "file"}):
            return "expected an absolute URL such as https://host:port/path", value
    if kind == "email" and not _EMAIL.match(value):
        return "expected an email address such as admin@example.com", value
    if kind == "enum" and value not in (choices or []):
        return f"expected one of {', '.join(choices or [])}", value
    if pattern is not None and not re.fullmatch(pattern, normalized):
        return f"does not match the pattern {pattern}", value
    return None, normalized


def to_text(value: object) -> str:
    """YAML gives ints and bools for unquoted defaults; Kubernetes env values are strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
