"""Devnet helpers for demos and tests of the agent: a tenant namespace that names its escrow, holding a
workload the agent watches, created straight through the Kubernetes API (as AppDeployment lays it out).

Only for local clusters; the workload is a tiny Deployment that kwok nodes run. `ready=False` pins it to a
node that does not exist, so its pods stay Pending and the Deployment is not Available until
`make_schedulable` lifts the pin.
"""

from __future__ import annotations

import time
from typing import Any

from linq.agent.labels import (
    ANNOTATION_ESCROW_ID,
    ANNOTATION_PROVIDER,
    LABEL_DEPLOYMENT,
    LABEL_MANAGED_BY,
    LABEL_TENANT_NAMESPACE,
    MANAGED_BY,
)
from linq.devnet.kubeapi import KubeAPI, KubeError

UNSCHEDULABLE = {"kubernetes.io/hostname": "no-such-node"}


def tenant_namespace(api: KubeAPI, name: str, *, escrow_id: str, provider: str, tenant_label: bool = True) -> None:
    labels = {LABEL_MANAGED_BY: MANAGED_BY}
    if tenant_label:
        labels[LABEL_TENANT_NAMESPACE] = "true"
    api.post(
        "/api/v1/namespaces",
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": name,
                "labels": labels,
                "annotations": {ANNOTATION_ESCROW_ID: escrow_id, ANNOTATION_PROVIDER: provider},
            },
        },
    )


def deployment(namespace: str, name: str, *, ready: bool, replicas: int = 1) -> dict[str, Any]:
    selector = {"app.kubernetes.io/name": name}
    pod_spec: dict[str, Any] = {
        "containers": [
            {"name": "app", "image": "nginx:1.27.3", "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}}}
        ],
    }
    if not ready:
        pod_spec["nodeSelector"] = dict(UNSCHEDULABLE)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": {LABEL_DEPLOYMENT: name, **selector}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector},
            "template": {"metadata": {"labels": selector}, "spec": pod_spec},
        },
    }


def create_workload(api: KubeAPI, namespace: str, name: str, *, ready: bool) -> None:
    api.post(f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment(namespace, name, ready=ready))


def make_schedulable(api: KubeAPI, namespace: str, name: str) -> None:
    """Lift the unschedulable pin: a rollout to pods kwok runs, after which the Deployment is Available."""
    patch = {"spec": {"template": {"spec": {"nodeSelector": None}}}}
    api.request(
        "PATCH",
        f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}",
        patch,
        content_type="application/merge-patch+json",
    )


def wait_available(api: KubeAPI, namespace: str, name: str, timeout: float = 90) -> dict[str, Any]:
    from linq.agent.cluster import deployment_status

    deadline = time.monotonic() + timeout
    while True:
        obj = api.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
        if deployment_status(obj).ready:
            return dict(obj)
        if time.monotonic() > deadline:
            raise TimeoutError(f"Deployment {namespace}/{name} not Available after {timeout}s: {obj.get('status')}")
        time.sleep(0.3)


def namespace_exists(api: KubeAPI, name: str) -> bool:
    try:
        api.get(f"/api/v1/namespaces/{name}")
    except KubeError as err:
        if err.status == 404:
            return False
        raise
    return True


def wait_namespace_gone(api: KubeAPI, name: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while namespace_exists(api, name):
        if time.monotonic() > deadline:
            raise TimeoutError(f"namespace {name} still exists {timeout}s after deletion")
        time.sleep(0.3)


def delete_namespace(api: KubeAPI, name: str) -> None:
    try:
        api.delete(f"/api/v1/namespaces/{name}")
    except KubeError as err:
        if err.status != 404:
            raise


def fund_escrow(requestor: Any, provider: str, *, seconds: int, resources: Any = None, seed: str = "") -> Any:
    """Create an escrow at the provider's registry price, funded for `seconds`; returns its Terms.

    `requestor` is a ChainClient with a funded signer; the salt comes from `seed` (random when empty)."""
    import uuid

    from linq.chain import escrows as ops
    from linq.contracts.terms import Resources
    from linq.protocol.money import deposit_for

    res = resources or Resources(500, 512, 1)
    rate = int(requestor.registry.functions.quote(provider, res.as_tuple()).call())
    plan = ops.CreatePlan(
        provider=provider,
        resources=res,
        deposit=deposit_for(rate, seconds),
        salt=ops.salt_for(seed or uuid.uuid4().hex),
        max_rate_per_hour=rate,
    )
    terms, _hashes = ops.create(requestor, plan)
    return terms
