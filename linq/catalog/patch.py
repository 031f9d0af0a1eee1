"""User patches to the rendered manifests (the "edit before deploying" of the YAML review).

A patch file is a YAML or JSON list of entries:

    - target: {kind: Deployment, name: chat}      # the object to change (namespace is implied)
      type: merge                                 # merge (RFC 7386) or strategic (lists merged by name)
      patch: {spec: {template: {metadata: {annotations: {team: ml}}}}}

The isolation bundle (Namespace, ResourceQuota, LimitRange, NetworkPolicy, ServiceAccount) is the
provider's protection and cannot be patched; nor can an object's kind, name or namespace change."""

from __future__ import annotations

import copy
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from linq.catalog.errors import InvalidPatch, did_you_mean

PROTECTED_KINDS = frozenset({"Namespace", "ResourceQuota", "LimitRange", "NetworkPolicy", "ServiceAccount"})
DELETE = "$patch"  # strategic-style list item marker: {"name": x, "$patch": "delete"}


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str
    name: str


class Patch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: Target
    type: Literal["merge", "strategic"] = "merge"
    patch: dict[str, Any]


def parse_patches(text: str, source: str = "patch") -> list[Patch]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InvalidPatch(source, None, f"not valid YAML or JSON ({error})", "fix the file's syntax") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise InvalidPatch(
            source, data, "expected a list of {target, type, patch} entries", "see docs/catalog.md#patches"
        )
    patches = []
    for index, entry in enumerate(data):
        try:
            patches.append(Patch.model_validate(entry))
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InvalidPatch(
                f"{source}[{index}].{where}",
                first.get("input"),
                first["msg"],
                "each entry needs target: {kind, name}, optional type, and patch: {...}",
            ) from None
    return patches


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge, null deletes, anything else (lists too) replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(i, dict) and "name" in i for i in items)


def strategic_patch(target: Any, patch: Any) -> Any:
    """Like merge_patch, but lists of named objects (containers, env, ports, volumes, volumeMounts) merge
    item by item on `name`; an item {name: x, $patch: delete} removes x; new names are appended."""
    if isinstance(patch, list) and isinstance(target, list) and _named(target) and _named(patch):
        out = [copy.deepcopy(i) for i in target]
        for item in patch:
            index = next((n for n, cur in enumerate(out) if cur["name"] == item["name"]), None)
            if item.get(DELETE) == "delete":
                if index is not None:
                    out.pop(index)
                continue
            if index is None:
                out.append(copy.deepcopy(item))
            else:
                out[index] = strategic_patch(out[index], item)
        return out
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = strategic_patch(merged.get(key), value)
    return merged


def apply_patches(manifests: list[dict[str, Any]], patches: list[Patch]) -> list[dict[str, Any]]:
    """The manifests with every patch applied in order (a new list; the input is not changed)."""
    out = copy.deepcopy(manifests)
    for index, p in enumerate(patches):
        field = f"patch[{index}].target"
        shown = f"{p.target.kind}/{p.target.name}"
        if p.target.kind in PROTECTED_KINDS:
            raise InvalidPatch(
                field,
                shown,
                "the tenant isolation bundle cannot be patched",
                "patch the workload, Service, Secret or ConfigMap instead",
            )
        position = next(
            (n for n, m in enumerate(out) if m.get("kind") == p.target.kind and m["metadata"]["name"] == p.target.name),
            None,
        )
        if position is None:
            available = [f"{m['kind']}/{m['metadata']['name']}" for m in out if m.get("kind") not in PROTECTED_KINDS]
            raise InvalidPatch(
                field,
                shown,
                "no rendered object has this kind and name",
                f"target one of {', '.join(available)} ({did_you_mean(shown, available)})",
            )
        before = out[position]
        apply = merge_patch if p.type == "merge" else strategic_patch
        after = apply(before, p.patch)
        for key in ("apiVersion", "kind"):
            if after.get(key) != before.get(key):
                raise InvalidPatch(
                    f"patch[{index}].patch.{key}",
                    after.get(key),
                    f"the patch changes {key}",
                    f"leave {key} as {before.get(key)!r}",
                )
        for key in ("name", "namespace"):
            if after.get("metadata", {}).get(key) != before["metadata"].get(key):
                raise InvalidPatch(
                    f"patch[{index}].patch.metadata.{key}",
                    after.get("metadata", {}).get(key),
                    f"the patch changes metadata.{key}",
                    f"leave it as {before['metadata'].get(key)!r}",
                )
        out[position] = after
    return out
