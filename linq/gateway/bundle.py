"""The tenant bundle the gateway creates for one escrow, from on-chain facts only (docs/gateway.md).

Names come from the escrow id, never from user text: namespace `lq-e-<first 40 hex of the id>`, session
service account `t-<same>` in the gateway's own namespace (the tenant can never touch it, so it cannot mint
itself long-lived tokens). Sizes come from the escrow's on-chain Resources (what was paid for): CPU and
memory as requests and limits; the reserved storage (volumes + scratch, one figure on chain) caps both PVC
storage and ephemeral storage; GPUs of the paid count; no NodePort or LoadBalancer services.

The tenant's ClusterRole `linq-tenant` (bound per namespace by a RoleBinding, so it reaches that namespace
only) manages workload objects and nothing that shapes isolation: no namespaces, quotas, limit ranges,
network policies, roles, bindings, PodDisruptionBudgets, `serviceaccounts/token` or DaemonSets.

Placement is the provider's too (TenantPlacement): annotations on the tenant namespace that the API server's
PodNodeSelector and PodTolerationRestriction admission plugins apply to every pod created in it, whatever the
tenant's manifests say (a conflicting nodeSelector is refused). Tenants cannot edit namespaces.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from linq.catalog import isolation
from linq.catalog.names import ANNOTATION_ESCROW_ID, ANNOTATION_PROVIDER, LABEL_TENANT_NAMESPACE, MANAGED_BY
from linq.catalog.plans import Resources as PlanSize
from linq.catalog.spec import RenderOptions
from linq.contracts.terms import Terms

GATEWAY_NAMESPACE = "linq-gateway"
TENANT_ROLE = "linq-tenant"  # the ClusterRole
TENANT_BINDING = "linq-tenant"  # the RoleBinding in each tenant namespace
ANNOTATION_REQUESTOR = "linq.network/requestor"
LABEL_GATEWAY = "linq.network/gateway"  # on every object the gateway made, value "tenant"
ID_HEX = 40  # 160 bits of the escrow id in names: collision-free for any realistic number of escrows

Manifest = dict[str, Any]

# What a tenant may do inside its own namespace. Read-only where the object shapes isolation.
TENANT_RULES: list[dict[str, Any]] = [
    {
        "apiGroups": [""],
        "resources": [
            "pods",
            "services",
            "configmaps",
            "secrets",
            "persistentvolumeclaims",
            "serviceaccounts",
            "endpoints",
        ],
        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"],
    },
    {
        "apiGroups": [""],
        "resources": ["pods/exec", "pods/attach", "pods/portforward", "pods/eviction"],
        "verbs": ["get", "create"],
    },
    {
        "apiGroups": [""],
        "resources": ["pods/log", "pods/status", "events", "resourcequotas", "limitranges"],
        "verbs": ["get", "list", "watch"],
    },
    {
        "apiGroups": ["apps"],
        "resources": ["deployments", "statefulsets", "replicasets"],
        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"],
    },
    {
        "apiGroups": ["apps"],
        "resources": ["deployments/scale", "statefulsets/scale", "deployments/status", "statefulsets/status"],
        "verbs": ["get", "update", "patch"],
    },
    {
        "apiGroups": ["batch"],
        "resources": ["jobs", "cronjobs"],
        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"],
    },
    {
        "apiGroups": ["autoscaling"],
        "resources": ["horizontalpodautoscalers"],
        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
    },
    {
        "apiGroups": ["networking.k8s.io"],
        "resources": ["ingresses"],
        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
    },
    {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["get", "list", "watch"]},
    {
        "apiGroups": ["coordination.k8s.io"],
        "resources": ["leases"],
        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
    },
    {
        "apiGroups": ["rbac.authorization.k8s.io"],
        "resources": ["roles", "rolebindings"],
        "verbs": ["get", "list", "watch"],
    },
]


ANNOTATION_NODE_SELECTOR = "scheduler.alpha.kubernetes.io/node-selector"  # PodNodeSelector
ANNOTATION_DEFAULT_TOLERATIONS = "scheduler.alpha.kubernetes.io/defaultTolerations"  # PodTolerationRestriction


@dataclass(frozen=True)
class TenantPlacement:
    """Where the provider runs tenant pods: a node selector every pod gets (and may not contradict), and
    tolerations every pod gets by default. Empty: the scheduler's choice, as before."""

    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: tuple[dict[str, str], ...] = ()

    def annotations(self) -> dict[str, str]:
        out = {}
        if self.node_selector:
            out[ANNOTATION_NODE_SELECTOR] = ",".join(f"{k}={v}" for k, v in sorted(self.node_selector.items()))
        if self.tolerations:
            out[ANNOTATION_DEFAULT_TOLERATIONS] = json.dumps(list(self.tolerations), separators=(",", ":"))
        return out


def key(escrow_id: str) -> str:
    """The lowercase hex the names carry (the first ID_HEX digits of the id)."""
    text = escrow_id.lower().removeprefix("0x")
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise ValueError(f"escrow id {escrow_id!r} is not 0x + 64 hex digits")
    return text[:ID_HEX]


def namespace_name(escrow_id: str) -> str:
    return f"lq-e-{key(escrow_id)}"


def session_account(escrow_id: str) -> str:
    return f"t-{key(escrow_id)}"


def tenant_cluster_role() -> Manifest:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": TENANT_ROLE, "labels": {LABEL_GATEWAY: "role"}},
        "rules": TENANT_RULES,
    }


def objects(
    terms: Terms,
    options: RenderOptions,
    gateway_namespace: str = GATEWAY_NAMESPACE,
    placement: TenantPlacement | None = None,
) -> list[Manifest]:
    """Every object of the escrow's bundle, in apply order (the namespace first, the binding last)."""
    eid = "0x" + terms.escrow_id.hex()
    ns = namespace_name(eid)
    labels = {LABEL_TENANT_NAMESPACE: "true", "app.kubernetes.io/managed-by": MANAGED_BY, LABEL_GATEWAY: "tenant"}
    annotations = {
        ANNOTATION_ESCROW_ID: eid,
        ANNOTATION_PROVIDER: terms.provider,
        ANNOTATION_REQUESTOR: terms.requestor,
        **(placement.annotations() if placement else {}),
    }
    r = terms.resources
    storage = int(r.storage_gib)
    size = PlanSize.model_validate(
        {
            "cpu_millis": max(int(r.cpu_millis), 1),
            "memory_mib": max(int(r.memory_mib), 1),
            "storage_gib": storage,
            "ephemeral_storage_gib": max(storage, 1),
            "gpu_count": int(r.gpu_count),
        }
    )
    quota = isolation.resource_quota(ns, labels, size, pvcs=8 if storage else 0, storage_gib=storage, options=options)
    quota["metadata"]["name"] = "lease-quota"
    quota["spec"]["hard"].update({"pods": "20", "services": "10", "count/secrets": "50", "count/configmaps": "50"})
    limits = isolation.limit_range(ns, labels, size, storage)
    limits["metadata"]["name"] = "lease-limits"
    policies = isolation.network_policies(ns, labels, {}, [], options)
    for policy in policies:
        if policy["metadata"]["name"] == "allow-ingress-endpoint":  # any port of any pod, from the ingress only
            policy["spec"]["ingress"][0].pop("ports", None)
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": isolation.meta(
            session_account(eid), gateway_namespace, {LABEL_GATEWAY: "session"}, {ANNOTATION_ESCROW_ID: eid}
        ),
        "automountServiceAccountToken": False,
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": isolation.meta(TENANT_BINDING, ns, labels),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": TENANT_ROLE},
        "subjects": [{"kind": "ServiceAccount", "name": session_account(eid), "namespace": gateway_namespace}],
    }
    return [isolation.namespace(ns, labels, annotations, options), quota, limits, *policies, account, binding]


def kubeconfig(server: str, ca_data: str | None, namespace: str, token: str, name: str) -> dict[str, Any]:
    """A kubeconfig that reaches one namespace with one bearer token."""
    cluster: dict[str, Any] = {"server": server}
    if ca_data:
        cluster["certificate-authority-data"] = ca_data
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": name,
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name, "namespace": namespace}}],
    }
