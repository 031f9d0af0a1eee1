"""Offline validation of LPStack objects: built-in kinds against kubernetes-validate's strict schemas
for the pinned Kubernetes minor; custom kinds against the openAPIV3Schema of our own CRDs, made strict
the way the API server's structural pruning is (an unknown field is an error here rather than dropped)."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

import jsonschema
import kubernetes_validate

from lpstack.render import Manifest, crds
from lpstack.versions import load

NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


@dataclass(frozen=True)
class Problem:
    object: str  # kind/namespace/name
    message: str

    def __str__(self) -> str:
        return f"{self.object}: {self.message}"


def kubernetes_minor() -> str:
    return load().kubernetes.pod_security_version.removeprefix("v")


def describe(obj: Manifest) -> str:
    meta = obj.get("metadata") or {}
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')}/{where}{meta.get('name')}"


def _strict(schema: Any) -> Any:
    """openAPIV3Schema -> JSON Schema: closed objects unless preserve-unknown-fields, int-or-string."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items() if not k.startswith("x-kubernetes-")}
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if (
        schema.get("type") == "object"
        and "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


class CrdSchemas:
    """(apiVersion, kind) -> (strict JSON schema, namespaced?) for the CRDs in lpstack/crds."""

    def __init__(self, definitions: list[Manifest] | None = None) -> None:
        self.schemas: dict[tuple[str, str], tuple[dict, bool]] = {}
        for crd in definitions if definitions is not None else crds():
            spec = crd["spec"]
            for version in spec["versions"]:
                schema = _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
                key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
                self.schemas[key] = (schema, spec["scope"] == "Namespaced")

    def validate(self, obj: Manifest) -> list[str]:
        key = (obj.get("apiVersion", ""), obj.get("kind", ""))
        if key not in self.schemas:
            return [f"no CRD in lpstack/crds defines {key[0]} {key[1]}; add one"]
        schema, namespaced = self.schemas[key]
        validator = jsonschema.Draft7Validator(schema)
        errors = [
            f"{'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
            for e in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path))
        ]
        meta = obj.get("metadata") or {}
        if not NAME.match(str(meta.get("name", ""))):
            errors.append(f"metadata.name: {meta.get('name')!r} is not a valid object name")
        if namespaced != bool(meta.get("namespace")):
            errors.append(
                "metadata.namespace: "
                + ("required (namespaced kind)" if namespaced else "must be empty (cluster-scoped kind)")
            )
        return errors


def validate(objects: list[Manifest], version: str | None = None) -> list[Problem]:
    """Every problem in `objects`; an empty list means all of them validate."""
    version = version or kubernetes_minor()
    custom = CrdSchemas()
    problems: list[Problem] = []
    for obj in objects:
        if (obj.get("apiVersion", ""), obj.get("kind", "")) in custom.schemas:
            problems += [Problem(describe(obj), m) for m in custom.validate(obj)]
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(p) for p in error.path) or "(root)"
            problems.append(Problem(describe(obj), f"{path}: {error.message}"))
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(
                Problem(
                    describe(obj),
                    f"no schema for {obj.get('apiVersion')} {obj.get('kind')} "
                    f"in Kubernetes {version}, and no CRD in lpstack/crds",
                )
            )
    return problems
