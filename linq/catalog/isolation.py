"""The tenant isolation bundle around every deployment: its own namespace with PodSecurity labels, a
quota and limit range sized from the plan, default-deny network policy plus narrow allows, and a
service account that mounts no token."""

from __future__ import annotations

from typing import Any

from linq.catalog.plans import Resources
from linq.catalog.spec import DEFAULT_DENIED_CIDRS, DEFAULT_DENIED_CIDRS_V6, RenderOptions

Manifest = dict[str, Any]


def cpu(millis: int) -> str:
    return f"{millis}m"


def mib(value: int) -> str:
    return f"{value}Mi"


def gib(value: int) -> str:
    return f"{value}Gi"


def meta(
    name: str, namespace: str | None, labels: dict[str, str], annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    if namespace is not None:
        out["namespace"] = namespace
    out["labels"] = dict(labels)
    if annotations:
        out["annotations"] = dict(annotations)
    return out


def namespace(name: str, labels: dict[str, str], annotations: dict[str, str], options: RenderOptions) -> Manifest:
    # enforce baseline (root images still run); warn and audit at restricted so the gap stays visible.
    version = options.pod_security_version
    pss = {
        "pod-security.kubernetes.io/enforce": "baseline",
        "pod-security.kubernetes.io/enforce-version": version,
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": version,
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/audit-version": version,
    }
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(name, None, {**labels, **pss}, annotations)}


def service_account(name: str, ns: str, labels: dict[str, str]) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta(name, ns, labels),
        "automountServiceAccountToken": False,
    }


def resource_quota(
    ns: str, labels: dict[str, str], size: Resources, pvcs: int, storage_gib: int, options: RenderOptions
) -> Manifest:
    hard = {
        "requests.cpu": cpu(size.cpu_millis),
        "limits.cpu": cpu(size.cpu_millis),
        "requests.memory": mib(size.memory_mib),
        "limits.memory": mib(size.memory_mib),
        "requests.ephemeral-storage": gib(size.ephemeral_storage_gib),
        "limits.ephemeral-storage": gib(size.ephemeral_storage_gib),
        # One pod runs; the second slot lets a replacement start while the old one is terminating.
        # CPU and memory (requests == limits == the plan) remain the binding limits.
        "pods": "2",
        "services": "2",
        "services.nodeports": "0",
        "services.loadbalancers": "0",
        "persistentvolumeclaims": str(pvcs),
        "requests.storage": gib(storage_gib),
        f"requests.{options.gpu_resource}": str(size.gpu_count),
    }
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": meta("plan-quota", ns, labels),
        "spec": {"hard": hard},
    }


def limit_range(ns: str, labels: dict[str, str], size: Resources, storage_gib: int) -> Manifest:
    # Small defaults for any container that names no resources (it must still fit the quota; never above the
    # plan, or the API server refuses the LimitRange); the maximum of one container is the whole plan.
    small = {
        "cpu": cpu(min(100, size.cpu_millis)),
        "memory": mib(min(128, size.memory_mib)),
        "ephemeral-storage": "256Mi",
    }
    limits: list[dict[str, Any]] = [
        {
            "type": "Container",
            "default": dict(small),
            "defaultRequest": dict(small),
            "max": {
                "cpu": cpu(size.cpu_millis),
                "memory": mib(size.memory_mib),
                "ephemeral-storage": gib(size.ephemeral_storage_gib),
            },
        }
    ]
    if storage_gib:
        limits.append({"type": "PersistentVolumeClaim", "max": {"storage": gib(storage_gib)}})
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": meta("plan-limits", ns, labels),
        "spec": {"limits": limits},
    }


def _policy(name: str, ns: str, labels: dict[str, str], spec: dict[str, Any]) -> Manifest:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(name, ns, labels),
        "spec": spec,
    }


def _namespace_selector(name: str) -> dict[str, Any]:
    return {"matchLabels": {"kubernetes.io/metadata.name": name}}


def network_policies(
    ns: str,
    labels: dict[str, str],
    selector: dict[str, str],
    public_ports: list[tuple[str, str]],
    options: RenderOptions,
) -> list[Manifest]:
    """Default deny both ways, then: DNS, the namespace itself, the ingress namespace to the public
    port(s), and the internet except private, CGNAT, link-local and the cluster's own ranges."""
    v4_denied = list(DEFAULT_DENIED_CIDRS) + [c for c in options.extra_denied_cidrs if ":" not in c]
    v6_denied = list(DEFAULT_DENIED_CIDRS_V6) + [c for c in options.extra_denied_cidrs if ":" in c]
    return [
        _policy("default-deny", ns, labels, {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        _policy(
            "allow-dns",
            ns,
            labels,
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": _namespace_selector("kube-system"),
                                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                            }
                        ],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    }
                ],
            },
        ),
        _policy(
            "allow-same-namespace",
            ns,
            labels,
            {
                "podSelector": {},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"podSelector": {}}]}],
                "egress": [{"to": [{"podSelector": {}}]}],
            },
        ),
        _policy(
            "allow-ingress-endpoint",
            ns,
            labels,
            {
                "podSelector": {"matchLabels": dict(selector)},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [{"namespaceSelector": _namespace_selector(options.ingress_namespace)}],
                        "ports": [{"protocol": proto, "port": port} for port, proto in public_ports],
                    }
                ],
            },
        ),
        _policy(
            "allow-internet-egress",
            ns,
            labels,
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {"ipBlock": {"cidr": "0.0.0.0/0", "except": v4_denied}},
                            {"ipBlock": {"cidr": "::/0", "except": v6_denied}},
                        ]
                    }
                ],
            },
        ),
    ]
