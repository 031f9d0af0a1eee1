"""The few raw Kubernetes calls the gateway makes, on the official client's ApiClient: server-side apply
(field manager `linq-gateway`), create (AlreadyExists is an answer, not an error), get, delete, TokenRequest.

Objects are plain dicts; paths come from the small kind table below (the gateway writes only these kinds).
When linq/kube.py (the project's one Kubernetes client) lands, these calls move there.
"""

from __future__ import annotations

import json
from typing import Any

from kubernetes import client as k8s

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


class KubeError(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def path(kind: str, name: str | None = None, namespace: str | None = None) -> str:
    prefix, plural, namespaced = KINDS[kind]
    where = f"{prefix}/namespaces/{namespace}/{plural}" if namespaced else f"{prefix}/{plural}"
    return f"{where}/{name}" if name else where


def call(api: k8s.ApiClient, method: str, url: str, body: Any = None, *, content_type: str = "application/json",
         query: list[tuple[str, str]] | None = None) -> dict[str, Any] | None:  # fmt: skip
    """One API call; None on 404; KubeError on any other failure (409 keeps its status for callers)."""
    params = api.param_serialize(method, url, query_params=query or [],
                                 header_params={"Content-Type": content_type, "Accept": "application/json"},
                                 body=body, auth_settings=["BearerToken"])  # fmt: skip
    try:
        response = api.call_api(*params, _request_timeout=TIMEOUT)
        data = response.read()
    except Exception as err:  # urllib3 connection errors and timeouts
        raise KubeError(0, f"{method} {url}: the Kubernetes API is unreachable ({type(err).__name__})") from None
    status = int(response.status)
    if status == 404 and method in ("GET", "DELETE"):
        return None
    if status >= 300:
        raise KubeError(status, f"{method} {url}: HTTP {status} {_reason(data)}")
    return json.loads(data) if data else {}


def apply(api: k8s.ApiClient, obj: dict[str, Any]) -> dict[str, Any]:
    """Server-side apply (force: the gateway owns these fields; a tenant edit of them is overwritten)."""
    meta = obj["metadata"]
    url = path(obj["kind"], meta["name"], meta.get("namespace"))
    out = call(api, "PATCH", url, json.dumps(obj), content_type="application/apply-patch+yaml",
               query=[("fieldManager", FIELD_MANAGER), ("force", "true")])  # fmt: skip
    return out or {}


def create(api: k8s.ApiClient, obj: dict[str, Any]) -> bool:
    """Create; False when it already exists (the atomic test-and-set the nonce store relies on)."""
    meta = obj["metadata"]
    try:
        call(api, "POST", path(obj["kind"], None, meta.get("namespace")), obj)
    except KubeError as err:
        if err.status == 409:
            return False
        raise
    return True


def get(api: k8s.ApiClient, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
    return call(api, "GET", path(kind, name, namespace))


def delete(api: k8s.ApiClient, kind: str, name: str, namespace: str | None = None) -> bool:
    """Delete; False when it was already gone."""
    return call(api, "DELETE", path(kind, name, namespace)) is not None


def token_request(api: k8s.ApiClient, namespace: str, service_account: str, seconds: int,
                  audiences: list[str]) -> tuple[str, str]:  # fmt: skip
    """A TokenRequest for the service account: (token, expiration timestamp)."""
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"audiences": audiences, "expirationSeconds": seconds}}  # fmt: skip
    out = call(api, "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token", body)
    assert out is not None
    return out["status"]["token"], out["status"]["expirationTimestamp"]


def _reason(data: bytes | None) -> str:
    try:
        return str(json.loads(data or b"{}").get("message", ""))
    except ValueError:
        return ""
