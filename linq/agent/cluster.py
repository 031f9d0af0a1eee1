"""What the agent reads and deletes on the provider's Kubernetes cluster.

Only what the LPStack's `lpstack-agent` ClusterRole allows: namespaces get/list/delete, deployments and
statefulsets get/list (and KubeVirt VirtualMachines when that feature is on). Responses are read as plain
JSON (the generated models are not needed and reject some objects servers accept).

Access goes through the toolkit's one Kubernetes client (linq.kube): a kubeconfig (tokens, client
certificates, exec plugins — whatever the official client supports) or, inside the cluster, the pod's
service-account token, which the client re-reads as the kubelet rotates it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linq.agent.labels import ANNOTATION_ESCROW_ID, ANNOTATION_PROVIDER, LABEL_DEPLOYMENT, LABEL_TENANT_NAMESPACE
from linq.kube import Kube, KubeConfigError, KubeError, KubeUnreachable


class ClusterError(RuntimeError):
    """The cluster could not be reached or refused a call; the message says which and what to do."""


class ClusterConfigError(ClusterError):
    """No usable cluster credentials (kubeconfig missing or broken, not running in a pod)."""


@dataclass(frozen=True)
class TenantNamespace:
    name: str
    escrow_id: str  # the annotation as written ("" when missing)
    provider: str  # the annotation as written ("" when missing)
    is_tenant: bool  # carries the linq.network/tenant label
    terminating: bool  # deletion already under way

    @property
    def escrow_key(self) -> str | None:
        """The escrow id in the agent's form (0x + 64 lowercase hex), or None when it is not an id."""
        text = self.escrow_id.strip().lower()
        body = text[2:] if text.startswith("0x") else ""
        if len(body) == 64 and all(c in "0123456789abcdef" for c in body):
            return text
        return None


@dataclass(frozen=True)
class WorkloadStatus:
    kind: str
    name: str
    ready: bool
    detail: str  # why not ready, or "ready"


def _condition(obj: dict[str, Any], kind: str) -> bool:
    return any(
        c.get("type") == kind and c.get("status") == "True" for c in obj.get("status", {}).get("conditions") or []
    )


def _generation_seen(obj: dict[str, Any]) -> bool:
    # The controller has acted on the current spec; before that the status describes the old one.
    wanted = int(obj.get("metadata", {}).get("generation") or 0)
    return int(obj.get("status", {}).get("observedGeneration") or 0) >= wanted


def deployment_status(obj: dict[str, Any]) -> WorkloadStatus:
    name = obj["metadata"]["name"]
    spec_replicas = obj.get("spec", {}).get("replicas")
    replicas = 1 if spec_replicas is None else int(spec_replicas)
    status = obj.get("status", {})
    available = int(status.get("availableReplicas") or 0)
    if replicas == 0:
        return WorkloadStatus("Deployment", name, False, "scaled to 0 replicas")
    if not _generation_seen(obj):
        return WorkloadStatus("Deployment", name, False, "the controller has not observed the latest spec yet")
    if not _condition(obj, "Available"):
        return WorkloadStatus("Deployment", name, False, f"not Available ({available}/{replicas} replicas available)")
    if available < replicas:
        return WorkloadStatus("Deployment", name, False, f"{available}/{replicas} replicas available")
    return WorkloadStatus("Deployment", name, True, "ready")


def statefulset_status(obj: dict[str, Any]) -> WorkloadStatus:
    name = obj["metadata"]["name"]
    spec_replicas = obj.get("spec", {}).get("replicas")
    replicas = 1 if spec_replicas is None else int(spec_replicas)
    status = obj.get("status", {})
    ready = int(status.get("readyReplicas") or 0)
    available = int(status.get("availableReplicas") if status.get("availableReplicas") is not None else ready)
    if replicas == 0:
        return WorkloadStatus("StatefulSet", name, False, "scaled to 0 replicas")
    if not _generation_seen(obj):
        return WorkloadStatus("StatefulSet", name, False, "the controller has not observed the latest spec yet")
    if min(ready, available) < replicas:
        return WorkloadStatus("StatefulSet", name, False, f"{min(ready, available)}/{replicas} replicas ready")
    return WorkloadStatus("StatefulSet", name, True, "ready")


def virtual_machine_status(obj: dict[str, Any]) -> WorkloadStatus:
    name = obj["metadata"]["name"]
    if obj.get("status", {}).get("ready") is True:
        return WorkloadStatus("VirtualMachine", name, True, "ready")
    return WorkloadStatus("VirtualMachine", name, False, "VirtualMachine not ready")


class Cluster:
    """The provider cluster, as the agent sees it."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self.where = kube.where  # "kubeconfig PATH" or "in-cluster service account", for messages

    @classmethod
    def connect(cls, kubeconfig: Path | None = None, context: str | None = None) -> Cluster:
        """From `kubeconfig` (or $KUBECONFIG), else the pod's service account when running in a cluster."""
        path = kubeconfig or (Path(os.environ["KUBECONFIG"]) if os.environ.get("KUBECONFIG") else None)
        try:
            if path is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
                return cls(Kube.in_cluster())
            if path is None:
                raise ClusterConfigError(
                    "--kubeconfig: no kubeconfig given and not running in a pod; pass --kubeconfig FILE (on the "
                    "devnet: <devnet dir>/kubeconfig) or set $KUBECONFIG"
                )
            return cls(Kube.from_kubeconfig(path, context))
        except KubeConfigError as err:
            raise ClusterConfigError(str(err)) from None

    # ---- raw JSON calls ------------------------------------------------------------------------------
    def _json(self, what: str, method: str, path: str, params: dict[str, str] | None = None) -> dict[str, Any] | None:
        """Run one API call; None on 404 (gone or not served), ClusterError on anything else."""
        try:
            return dict(self.kube.request(method, path, params=params) or {})
        except KubeError as err:
            if err.status == 404:
                return None
            if err.status == 403:
                raise ClusterError(
                    f"{what}: forbidden for the agent on {self.where} ({err.message}); grant it the lpstack-agent "
                    "ClusterRole (namespaces get/list/delete, deployments and statefulsets get/list)"
                ) from None
            raise ClusterError(f"{what}: the API server answered HTTP {err.status} {err.message}") from None
        except KubeUnreachable as err:
            raise ClusterError(
                f"{what}: the Kubernetes API on {self.where} is unreachable ({err}); "
                "check the server address and that it is running"
            ) from None

    # ---- reads ---------------------------------------------------------------------------------------
    def tenant_namespaces(self) -> list[TenantNamespace]:
        """Every namespace that is a tenant namespace or names an escrow."""
        data = self._json("list namespaces", "GET", "/api/v1/namespaces") or {}
        out = []
        for item in data.get("items", []):
            meta = item.get("metadata", {})
            labels = meta.get("labels") or {}
            annotations = meta.get("annotations") or {}
            is_tenant = LABEL_TENANT_NAMESPACE in labels
            terminating = bool(meta.get("deletionTimestamp")) or item.get("status", {}).get("phase") == "Terminating"
            if not is_tenant and ANNOTATION_ESCROW_ID not in annotations:
                continue
            out.append(
                TenantNamespace(
                    name=meta["name"],
                    escrow_id=str(annotations.get(ANNOTATION_ESCROW_ID, "")),
                    provider=str(annotations.get(ANNOTATION_PROVIDER, "")),
                    is_tenant=is_tenant,
                    terminating=terminating,
                )
            )
        return sorted(out, key=lambda ns: ns.name)

    def workloads(self, namespace: str) -> list[WorkloadStatus]:
        """The namespace's workloads (labelled linq.network/deployment) and whether each is ready."""
        out: list[WorkloadStatus] = []
        selector = LABEL_DEPLOYMENT
        base = f"/namespaces/{namespace}"
        deployments = (
            self._json(
                f"list deployments in {namespace}",
                "GET",
                f"/apis/apps/v1{base}/deployments",
                {"labelSelector": selector},
            )
            or {}
        )
        out += [deployment_status(d) for d in deployments.get("items", [])]
        sets = (
            self._json(
                f"list statefulsets in {namespace}",
                "GET",
                f"/apis/apps/v1{base}/statefulsets",
                {"labelSelector": selector},
            )
            or {}
        )
        out += [statefulset_status(s) for s in sets.get("items", [])]
        try:
            path = f"/apis/kubevirt.io/v1{base}/virtualmachines"
            vms = self._json(f"list virtualmachines in {namespace}", "GET", path, {"labelSelector": selector}) or {}
        except ClusterError as err:
            if "forbidden" not in str(err):  # no KubeVirt feature: the ClusterRole does not grant VMs
                raise
            vms = {}
        out += [virtual_machine_status(v) for v in vms.get("items", [])]
        return out

    # ---- writes --------------------------------------------------------------------------------------
    def revoke_session(self, escrow_id: str) -> bool:
        """Revoke the gateway-issued credentials of the escrow: delete the tenant RoleBinding (the authorizer
        refuses the next request) and the session service account (every token for it then fails
        authentication once the API server's token cache expires, ≤ 10 s). False if neither existed."""
        from linq.gateway.bundle import GATEWAY_NAMESPACE, TENANT_BINDING, namespace_name, session_account

        namespace = namespace_name(escrow_id)
        binding = self._json(
            f"delete tenant binding of {escrow_id}",
            "DELETE",
            f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings/{TENANT_BINDING}",
        )
        name = session_account(escrow_id)
        account = self._json(
            f"delete session {name}", "DELETE", f"/api/v1/namespaces/{GATEWAY_NAMESPACE}/serviceaccounts/{name}"
        )
        return binding is not None or account is not None

    def delete_namespace(self, name: str) -> bool:
        """Delete the namespace (its workloads go with it); False if it was already gone."""
        return self._json(f"delete namespace {name}", "DELETE", f"/api/v1/namespaces/{name}") is not None
