"""The catalog against the real API server: every template's manifests pass server-side dry-run (strict field
validation, defaulting, admission), and a tenant namespace really isolates its tenant."""

from __future__ import annotations

import json
import urllib.parse
import uuid

import pytest

from linq.catalog import DeploymentSpec, VmSpec, load_catalog, render
from linq.devnet import Devnet
from linq.devnet.kubeapi import KubeAPI, KubeError
from tests.unit.catalog_helpers import example_spec
from tests.waiting import wait_for

pytestmark = pytest.mark.integration

PLURALS = {
    "ServiceAccount": "serviceaccounts",
    "ResourceQuota": "resourcequotas",
    "LimitRange": "limitranges",
    "NetworkPolicy": "networkpolicies",
    "Secret": "secrets",
    "ConfigMap": "configmaps",
    "Service": "services",
    "Deployment": "deployments",
    "StatefulSet": "statefulsets",
    "PersistentVolumeClaim": "persistentvolumeclaims",
    "VirtualMachine": "virtualmachines",
    "Pod": "pods",
}
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test"


def collection(obj: dict) -> str:
    group_version = obj["apiVersion"]
    base = f"/api/{group_version}" if "/" not in group_version else f"/apis/{group_version}"
    if obj["kind"] == "Namespace":
        return f"{base}/namespaces"
    return f"{base}/namespaces/{obj['metadata']['namespace']}/{PLURALS[obj['kind']]}"


def post(api: KubeAPI, obj: dict, *, dry_run: bool) -> dict:
    query = {"fieldValidation": "Strict", **({"dryRun": "All"} if dry_run else {})}
    return api.post(f"{collection(obj)}?{urllib.parse.urlencode(query)}", obj)


def delete_namespace(api: KubeAPI, name: str) -> None:
    try:
        api.delete(f"/api/v1/namespaces/{name}")
    except KubeError as error:
        if error.status != 404:
            raise


def test_every_template_passes_server_side_dry_run(devnet: Devnet) -> None:
    """The namespace is created for real (dry-runs need it to exist); everything else is a strict dry-run."""
    api = KubeAPI.from_kubeconfig(devnet.kubeconfig)
    catalog = load_catalog()
    failures: list[str] = []
    specs = [example_spec(catalog.get(t), name=f"dry-{t}") for t in catalog.ids()]
    vm = VmSpec(image="quay.io/containerdisks/ubuntu:24.04", ssh_public_keys=[SSH_KEY])
    specs.append(DeploymentSpec(name="dry-vm", vm=vm, plan="standard"))
    for spec in specs:
        manifests = render(spec, catalog)
        namespace = next(m for m in manifests if m["kind"] == "Namespace")
        post(api, namespace, dry_run=False)
        try:
            for manifest in manifests:
                if manifest["kind"] == "Namespace":
                    continue
                try:
                    post(api, manifest, dry_run=True)
                except KubeError as error:
                    failures.append(f"{spec.name}: {manifest['kind']}/{manifest['metadata']['name']}: {error}")
        finally:
            delete_namespace(api, namespace["metadata"]["name"])
    assert len(specs) > 50
    assert not failures, "\n".join(failures)


@pytest.fixture
def tenant(devnet: Devnet):
    """A real tenant bundle (namespace, quota, limits, policies, service account) for a small deployment."""
    api = KubeAPI.from_kubeconfig(devnet.kubeconfig)
    spec = example_spec(load_catalog().get("uptime-kuma"), name=f"iso-{uuid.uuid4().hex[:6]}", plan="starter")
    manifests = render(spec)
    for manifest in manifests:
        if manifest["kind"] in ("Namespace", "ResourceQuota", "LimitRange", "NetworkPolicy", "ServiceAccount"):
            post(api, manifest, dry_run=False)
    namespace = manifests[0]["metadata"]["name"]
    quota = next(m for m in manifests if m["kind"] == "ResourceQuota")
    # the quota controller must have computed usage before admission enforces it
    quota_path = f"/api/v1/namespaces/{namespace}/resourcequotas/{quota['metadata']['name']}"
    wait_for(lambda: api.get(quota_path).get("status", {}).get("hard"), what="the quota controller's first status")
    yield api, namespace, manifests
    delete_namespace(api, namespace)


def pod(namespace: str, name: str, container: dict) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.37", **container}]},
    }


def test_privileged_pod_is_rejected(tenant) -> None:
    api, namespace, _ = tenant
    with pytest.raises(KubeError) as refused:
        post(
            api,
            pod(
                namespace,
                "priv",
                {"securityContext": {"privileged": True}, "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}}},
            ),
            dry_run=False,
        )
    assert refused.value.status == 403 and "privileged" in str(refused.value)


def test_container_without_limits_is_defaulted(tenant) -> None:
    api, namespace, _ = tenant
    created = post(api, pod(namespace, "nolimits", {}), dry_run=True)
    limits = created["spec"]["containers"][0]["resources"]["limits"]
    assert limits["cpu"] and limits["memory"]


def test_over_quota_request_is_refused(tenant) -> None:
    """Each pod is within the per-container maximum; together they exceed the namespace's CPU quota."""
    api, namespace, manifests = tenant
    hard = next(m for m in manifests if m["kind"] == "ResourceQuota")["spec"]["hard"]
    share = f"{int(hard['limits.cpu'].removesuffix('m')) * 6 // 10}m"  # 60% of the quota, twice
    sized = {"resources": {"requests": {"cpu": share, "memory": "32Mi"}, "limits": {"cpu": share, "memory": "32Mi"}}}
    post(api, pod(namespace, "first", sized), dry_run=False)
    with pytest.raises(KubeError) as refused:
        post(api, pod(namespace, "second", sized), dry_run=False)
    assert refused.value.status == 403
    assert "exceeded quota" in str(refused.value)


def test_tenant_credentials_cannot_read_another_namespace(tenant, devnet: Devnet) -> None:
    """A token of the tenant's own service account, bound to edit its namespace, is refused elsewhere."""
    api, namespace, manifests = tenant
    account = next(m for m in manifests if m["kind"] == "ServiceAccount")["metadata"]["name"]
    api.post(
        f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "tenant-edit", "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
        },
    )
    token = api.post(
        f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 600}},
    )["status"]["token"]
    as_tenant = KubeAPI(server=api.server, token=token, ca_file=api.ca_file)
    assert isinstance(as_tenant.get(f"/api/v1/namespaces/{namespace}/configmaps")["items"], list)
    for forbidden in (
        "/api/v1/namespaces/default/secrets",
        "/api/v1/namespaces/kube-system/pods",
        "/api/v1/namespaces",
    ):
        with pytest.raises(KubeError) as refused:
            as_tenant.get(forbidden)
        assert refused.value.status == 403, forbidden
    assert json.dumps(as_tenant.get(f"/api/v1/namespaces/{namespace}")).count(namespace) >= 1
