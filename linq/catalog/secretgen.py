"""Making a template's generated secrets (random passwords and keys) at deploy time.

Kept apart from render() so that rendering stays a pure function: callers generate once, store the
values (as Pulumi secrets or Kubernetes Secrets) and pass them in on every later render."""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping

from linq.catalog.models import GeneratedSecret, Template

ALPHABETS = {
    "alphanumeric": string.ascii_letters + string.digits,
    "hex": "0123456789abcdef",
    "base64url": string.ascii_letters + string.digits + "-_",
}


def generate_value(rule: GeneratedSecret) -> str:
    alphabet = ALPHABETS[rule.charset]
    return "".join(secrets.choice(alphabet) for _ in range(rule.length))


def generate_secrets(template: Template, keep: Mapping[str, str] | None = None) -> dict[str, str]:
    """A value for every generated secret of the template; values already in `keep` are reused."""
    keep = keep or {}
    return {rule.name: keep.get(rule.name) or generate_value(rule) for rule in template.generated_secrets}
