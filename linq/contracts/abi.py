"""Contract return values by name: a struct the chain returns (a tuple in ABI order) as a dict keyed by the
Solidity field names of the artifact's ABI, so code reads `view["registeredAt"]`, never `view[2]`, and a
reordered or extended struct cannot be misread silently."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from linq.contracts.artifacts import load_artifact


@cache
def _outputs(artifact: str, function: str) -> tuple[Mapping[str, Any], ...]:
    for item in load_artifact(artifact).abi:
        if item.get("type") == "function" and item.get("name") == function:
            return tuple(item["outputs"])
    raise KeyError(f"{artifact} has no function {function!r} in its ABI; rebuild the artifacts")


def _named(param: Mapping[str, Any], value: Any) -> Any:
    kind = param["type"]
    if kind == "tuple":
        return {c["name"]: _named(c, v) for c, v in zip(param["components"], value, strict=True)}
    if kind.startswith("tuple["):
        element = {**param, "type": kind[: kind.rindex("[")]}
        return [_named(element, v) for v in value]
    return value


def named(artifact: str, function: str, value: Any) -> Any:
    """`function`'s return value with every struct as a dict of its field names (arrays of structs as lists).
    A single output is returned as itself; several as a dict by output name."""
    outputs = _outputs(artifact, function)
    if len(outputs) == 1:
        return _named(outputs[0], value)
    return {o["name"]: _named(o, v) for o, v in zip(outputs, value, strict=True)}
