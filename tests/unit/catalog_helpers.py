"""Shared helpers of the catalog tests: a valid spec for any template, and validating manifests."""

from __future__ import annotations

from typing import Any

import jsonschema
import kubernetes_validate

from linq.catalog import DeploymentSpec, Template, generate_secrets
from linq.catalog.vm import VM_SCHEMA

KUBERNETES = "1.33"


def example_spec(template: Template, name: str | None = None, plan: str | None = None, **extra: Any) -> DeploymentSpec:
    """A spec that fills every required value of the template with its documented example."""
    env = {e.name: e.example for e in template.env if e.required and e.default is None and e.example}
    secrets = {s.name: s.example for s in template.secrets if s.required and s.example}
    return DeploymentSpec(
        name=name or f"test-{template.id}",
        template=template.id,
        plan=plan or template.min_plan,
        env=env,
        secrets=secrets,
        generated=generate_secrets(template),
        **extra,
    )


def validate_manifest(manifest: dict[str, Any]) -> None:
    """Kubernetes' own schemas (strict: unknown fields fail); our closed schema for the KubeVirt VM."""
    if manifest["kind"] == "VirtualMachine":
        jsonschema.validate(manifest, VM_SCHEMA)
    else:
        kubernetes_validate.validate(manifest, KUBERNETES, strict=True)


def by_kind(manifests: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in manifests if m["kind"] == kind]


def one(manifests: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = by_kind(manifests, kind)
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]
