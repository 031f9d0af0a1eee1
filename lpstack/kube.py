"""Talking to a cluster about LPStack objects over plain REST: the URL of each kind, create (optionally as
a server-side dry-run), and waiting for our CRDs to be served. Used by the dry-run check and the tests."""

from __future__ import annotations

import time
import urllib.parse

from linq.devnet.kubeapi import KubeAPI, KubeError
from lpstack.render import Manifest

# kind -> (plural, namespaced) for every kind the LPStack emits or installs.
RESOURCES = {
    "Namespace": ("namespaces", False),
    "PriorityClass": ("priorityclasses", False),
    "RuntimeClass": ("runtimeclasses", False),
    "ClusterRole": ("clusterroles", False),
    "ClusterRoleBinding": ("clusterrolebindings", False),
    "Role": ("roles", True),
    "RoleBinding": ("rolebindings", True),
    "Service": ("services", True),
    "CustomResourceDefinition": ("customresourcedefinitions", False),
    "ServiceAccount": ("serviceaccounts", True),
    "ConfigMap": ("configmaps", True),
    "Secret": ("secrets", True),
    "Deployment": ("deployments", True),
    "Pod": ("pods", True),
    "HelmChart": ("helmcharts", True),
    "PeerAuthentication": ("peerauthentications", True),
    "KubeVirt": ("kubevirts", True),
}


def collection_path(obj: Manifest) -> str:
    api_version, kind = obj["apiVersion"], obj["kind"]
    plural, namespaced = RESOURCES[kind]
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    if namespaced:
        return f"{base}/namespaces/{obj['metadata']['namespace']}/{plural}"
    return f"{base}/{plural}"


def object_path(obj: Manifest) -> str:
    return f"{collection_path(obj)}/{obj['metadata']['name']}"


def create(api: KubeAPI, obj: Manifest, *, dry_run: bool = False) -> Manifest:
    """POST the object; with dry_run the server runs defaulting, strict field validation and admission
    (PodSecurity included) and persists nothing."""
    query = {"fieldValidation": "Strict"}
    if dry_run:
        query["dryRun"] = "All"
    return dict(api.post(f"{collection_path(obj)}?{urllib.parse.urlencode(query)}", obj))


def ensure(api: KubeAPI, obj: Manifest) -> None:
    """Create unless it already exists (idempotent set-up of CRDs and namespaces)."""
    try:
        create(api, obj)
    except KubeError as error:
        if error.status != 409:
            raise


def wait_established(api: KubeAPI, names: list[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    pending = set(names)
    while pending and time.monotonic() < deadline:
        for name in sorted(pending):
            crd = api.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
            conditions = crd.get("status", {}).get("conditions", [])
            if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                pending.discard(name)
        if pending:
            time.sleep(0.2)
    if pending:
        raise TimeoutError(f"CRDs not Established after {timeout}s: {sorted(pending)}")


def dry_run(api: KubeAPI, objects: list[Manifest]) -> list[tuple[Manifest, str]]:
    """Server-side dry-run of each object; returns (object, server message) for every rejection."""
    failures = []
    for obj in objects:
        try:
            create(api, obj, dry_run=True)
        except KubeError as error:
            failures.append((obj, str(error)))
    return failures
