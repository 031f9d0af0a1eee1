"""GeneratedSecrets: random values (passwords, signing keys) made once, at deploy time, and kept.

A template's generated secrets must survive every later `pulumi up`, so they live in the stack's state —
encrypted, because the resource declares `values` a secret output — and only names change the plan:
adding a rule generates one new value, removing one drops it, the rest are never regenerated.
"""

from __future__ import annotations

import secrets
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

from linq.catalog.models import GeneratedSecret
from linq.catalog.secretgen import generate_value


def _rules(raw: list[dict[str, Any]]) -> list[GeneratedSecret]:
    return [GeneratedSecret.model_validate(rule) for rule in raw]


def _values(rules: list[GeneratedSecret], keep: dict[str, str]) -> dict[str, str]:
    return {rule.name: keep.get(rule.name) or generate_value(rule) for rule in rules}


class GeneratedSecretsProvider(ResourceProvider):
    serialize_as_secret_always = False  # nothing secret is captured in the provider itself

    def create(self, props: dict[str, Any]) -> CreateResult:
        values = _values(_rules(props["rules"]), {})
        return CreateResult(id_=secrets.token_hex(8), outs={"rules": props["rules"], "values": values})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        old_names = sorted(r["name"] for r in olds.get("rules", []))
        new_names = sorted(r["name"] for r in news.get("rules", []))
        changed = old_names != new_names
        return DiffResult(changes=changed, replaces=[], stables=[], delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        values = _values(_rules(news["rules"]), dict(olds.get("values") or {}))
        return UpdateResult(outs={"rules": news["rules"], "values": values})


class GeneratedSecrets(Resource, module="linq", name="GeneratedSecrets"):
    values: pulumi.Output[dict[str, str]]

    def __init__(self, name: str, rules: list[GeneratedSecret], opts: pulumi.ResourceOptions | None = None):
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=["values"])
        super().__init__(
            GeneratedSecretsProvider(),
            name,
            {"rules": [rule.model_dump(mode="json", by_alias=True) for rule in rules], "values": None},
            pulumi.ResourceOptions.merge(opts, secret_opts),
        )
