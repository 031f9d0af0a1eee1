"""The few Kubernetes calls the gateway makes, through the toolkit's one client (linq.kube.Kube): server-side
apply (field manager `linq-gateway`), create (AlreadyExists is an answer, not an error), get, delete,
TokenRequest.

Objects are plain dicts; paths come from the small kind table below (the gateway writes only these kinds).
"""

from __future__ import annotations

import json
from typing import Any

from linq.kube import Kube, KubeError, KubeUnreachable

FIELD_MANAGER = "linq-gateway"
TIMEOUT = 30

# kind -> (API prefix, plural, namespaced)
KINDS: dict[str, tuple[str, str, bool]] = {
    "Namespace": ("/api/v1", "namespaces", False),
    "ConfigMap": ("/api/v1", "configmaps", True),
    "Secret": ("/api/v1", "secrets", True),
    "ServiceAccount": ("/api/v1", "serviceaccounts", True),
    "ResourceQuota": ("/api/v1", "resourcequotas", True),
    "LimitRange": ("/api/v1", "limitranges", True),
    "NetworkPolicy": ("/apis/networking.k8s.io/v1", "networkpolicies", True),
    "Role": ("/apis/rbac.authorization.k8s.io/v1", "roles", True),
    "RoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "rolebindings", True),
    "ClusterRole": ("/apis/rbac.authorization.k8s.io/v1", "clusterroles", False),
}


def path(kind: str, name: str | None = None, namespace: str | None = None) -> str:
    prefix, plural, namespaced = KINDS[kind]
    where = f"{prefix}/namespaces/{namespace}/{plural}" if namespaced else f"{prefix}/{plural}"
    return f"{where}/{name}" if name else where


def call(
    kube: Kube,
    method: str,
    url: str,
    body: Any = None,
    *,
    content_type: str = "application/json",
    query: list[tuple[str, str]] | None = None,
) -> dict[str, Any] | None:
    """One API call; None on 404 for GET and DELETE; KubeError on any other failure (status 0: unreachable;
    409 keeps its status for callers)."""
    try:
        out = kube.request(method, url, body, params=dict(query or []), content_type=content_type, timeout=TIMEOUT)
    except KubeUnreachable as err:
        raise KubeError(0, f"{method} {url}: {err}", url) from None
    except KubeError as err:
        if err.status == 404 and method in ("GET", "DELETE"):
            return None
        raise
    return out or {}


def apply(kube: Kube, obj: dict[str, Any]) -> dict[str, Any]:
    """Server-side apply (force: the gateway owns these fields; a tenant edit of them is overwritten)."""
    meta = obj["metadata"]
    url = path(obj["kind"], meta["name"], meta.get("namespace"))
    out = call(
        kube,
        "PATCH",
        url,
        json.dumps(obj),
        content_type="application/apply-patch+yaml",
        query=[("fieldManager", FIELD_MANAGER), ("force", "true")],
    )
    return out or {}


def create(kube: Kube, obj: dict[str, Any]) -> bool:
    """Create; False when it already exists (the atomic test-and-set the nonce store relies on)."""
    meta = obj["metadata"]
    try:
        call(kube, "POST", path(obj["kind"], None, meta.get("namespace")), obj)
    except KubeError as err:
        if err.status == 409:
            return False
        raise
    return True


def get(kube: Kube, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
    return call(kube, "GET", path(kind, name, namespace))


def delete(kube: Kube, kind: str, name: str, namespace: str | None = None) -> bool:
    """Delete; False when it was already gone."""
    return call(kube, "DELETE", path(kind, name, namespace)) is not None


def token_request(
    kube: Kube, namespace: str, service_account: str, seconds: int, audiences: list[str]
) -> tuple[str, str]:
    """A TokenRequest for the service account: (token, expiration timestamp)."""
    body = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"audiences": audiences, "expirationSeconds": seconds},
    }
    out = call(kube, "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token", body)
    assert out is not None
    return out["status"]["token"], out["status"]["expirationTimestamp"]
