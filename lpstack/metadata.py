"""What a provider announces about its cluster: endpoints and a metadata document whose keccak256 is the
registry's meta hash (the registry stores the hash; the document is published off chain)."""

from __future__ import annotations

import json
from typing import Any

from eth_utils import keccak

from lpstack.config import LPStackConfig
from lpstack.versions import Versions, load


def prometheus_url(config: LPStackConfig) -> str:
    """The LPStack's Prometheus inside the cluster: kube-prometheus-stack's Service (fullnameOverride kps)."""
    return f"http://kps-prometheus.{config.namespaces.monitoring}.svc:9090"


def endpoints(config: LPStackConfig) -> dict[str, str]:
    """Where tenants' apps are reached and where the provider's own services answer (in-cluster URLs)."""
    ns = config.namespaces
    out = {
        "apps": f"https://*.{config.public_domain}",
        "ingress": "cloudflare-tunnel" if config.features.cloudflared else "direct",
        "ingress_namespace": ns.ingress,
    }
    if config.features.observability:
        out["metrics"] = prometheus_url(config)
        out["logs"] = f"http://loki.{ns.monitoring}.svc:3100"
    if config.features.sandbox_runtime:
        out["sandbox_runtime_class"] = config.sandbox.runtime_class
    return out


def provider_metadata(config: LPStackConfig, versions: Versions | None = None) -> dict[str, Any]:
    versions = versions or load()
    return {
        "schema": "linq.network/provider-metadata/v1",
        "provider": config.provider_address,
        "cluster": config.cluster_name,
        "region": config.region,
        "endpoints": endpoints(config),
        "features": sorted(name for name, on in config.features.model_dump().items() if on),
        "lpstack": {"k3s": versions.kubernetes.k3s},
    }


def canonical_json(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def metadata_hash(config: LPStackConfig, versions: Versions | None = None) -> str:
    """0x-prefixed keccak256 of the canonical JSON metadata document (what `updateMeta` stores)."""
    return "0x" + keccak(text=canonical_json(provider_metadata(config, versions))).hex()
