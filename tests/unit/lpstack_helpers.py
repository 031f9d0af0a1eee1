"""Shared LPStack test inputs."""

from __future__ import annotations

from typing import Any

from lpstack import LPStackConfig, load_config

PROVIDER = "0x" + "ab" * 20


# The address book `linq devnet` writes, as the agent reads it from its ConfigMap.
ADDRESS_BOOK = {
    "chain_id": 31337,
    "lnq": "0x" + "56" * 20,
    "registry": "0x" + "34" * 20,
    "escrow": "0x" + "12" * 20,
    "deployed_block": 7,
}


def base_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "cluster_name": "provider-eu-1",
        "provider_address": PROVIDER,
        "region": "eu-west",
        "public_domain": "apps.example.com",
    }
    data.update(overrides)
    return data


def config(**overrides: Any) -> LPStackConfig:
    return load_config(base_data(**overrides))


def full_config(**overrides: Any) -> LPStackConfig:
    """Every feature on."""
    data: dict[str, Any] = {
        "features": {
            "observability": True,
            "istio": True,
            "cloudflared": True,
            "kubevirt": True,
            "gpu": True,
            "sandbox_runtime": True,
        },
        "cloudflared": {"token_secret": {"name": "cloudflared-token", "key": "token"}},
        "agent": {"addresses": ADDRESS_BOOK},
    }
    data.update(overrides)
    return config(**data)


def by_kind(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


def one(objects: list[dict], kind: str, name: str) -> dict:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found
