"""Printing manifests for review: deterministic YAML/JSON, secrets masked unless asked otherwise."""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml

MASK = "********"


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line strings (config files, cloud-init) so they read as files."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(manifests: list[dict[str, Any]]) -> str:
    docs = [yaml.dump(m, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=4096) for m in manifests]
    return "".join(f"---\n{doc}" for doc in docs)


def to_json(manifests: list[dict[str, Any]]) -> str:
    """A v1 List, which kubectl applies as it is."""
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": manifests}, indent=2) + "\n"


def mask_secrets(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy with every Secret value replaced by a mask (the keys stay, so the review shows what is set)."""
    out = copy.deepcopy(manifests)
    for manifest in out:
        if manifest.get("kind") == "Secret":
            for field in ("stringData", "data"):
                if isinstance(manifest.get(field), dict):
                    manifest[field] = dict.fromkeys(manifest[field], MASK)
    return out
