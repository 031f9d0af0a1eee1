"""The LPStack's gateway RBAC against the devnet's real API server, with the gateway ServiceAccount's own token.

The rendered ServiceAccount, ClusterRoles and bindings are applied as rendered; a TokenRequest gives the account
a real token, and the gateway's own metrics read (linq.gateway.metrics -> linq.monitor.snapshot.take, the very
function /v1/metrics calls) runs with it against a tenant namespace holding a Deployment, a StatefulSet, a pod,
an event, a Secret and a ConfigMap. Without the metrics role the read is refused; with it the read succeeds;
and the account still cannot read the tenant's Secrets, ConfigMaps, logs or single objects, exec, watch, write
or delete anything there.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest

from linq.catalog.names import ANNOTATION_ESCROW_ID
from linq.devnet import Devnet
from linq.devnet.kubeapi import KubeAPI, KubeError
from linq.gateway import bundle
from linq.monitor import snapshot
from linq.monitor.cluster import ApiError, Cluster
from linq.monitor.targets import Target
from lpstack import load_config, render_groups
from lpstack.kube import ensure, object_path
from tests.unit.lpstack_helpers import base_data
from tests.waiting import wait_for

pytestmark = pytest.mark.integration

METRICS_ROLE = "lpstack-gateway-metrics"
POD_SPEC = {
    "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [
        {
            "name": "c",
            "image": "busybox:1.36",
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "64Mi"}},
        }
    ],
}


def _delete(api: KubeAPI, path: str) -> None:
    try:
        api.delete(path)
    except KubeError as error:
        if error.status != 404:
            raise


def _token(api: KubeAPI, namespace: str, account: str) -> str:
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 600}}
    return str(api.post(f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token", request)["status"]["token"])


@pytest.fixture(scope="module")
def api(devnet: Devnet) -> KubeAPI:
    return KubeAPI.from_kubeconfig(devnet.kubeconfig)


@pytest.fixture(scope="module")
def tenant(api: KubeAPI) -> Iterator[tuple[str, str]]:
    """A tenant namespace as the gateway names it, with one of everything the metrics read looks at (and a
    Secret and a ConfigMap it must not)."""
    escrow_id = "0x" + secrets.token_hex(32)
    ns = bundle.namespace_name(escrow_id)
    template = {"metadata": {"labels": {"app": "web"}}, "spec": POD_SPEC}
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    objects = [
        (
            "/api/v1/namespaces",
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": ns,
                    "labels": {"linq.network/tenant": "true"},
                    "annotations": {ANNOTATION_ESCROW_ID: escrow_id},
                },
            },
        ),
        (
            f"/apis/apps/v1/namespaces/{ns}/deployments",
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web"},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": template},
            },
        ),
        (
            f"/apis/apps/v1/namespaces/{ns}/statefulsets",
            {
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "metadata": {"name": "db"},
                "spec": {
                    "replicas": 1,
                    "serviceName": "db",
                    "selector": {"matchLabels": {"app": "db"}},
                    "template": {"metadata": {"labels": {"app": "db"}}, "spec": POD_SPEC},
                },
            },
        ),
        (
            f"/api/v1/namespaces/{ns}/pods",
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe"}, "spec": POD_SPEC},
        ),
        (
            f"/api/v1/namespaces/{ns}/events",
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": "probe.lpgw"},
                "involvedObject": {"kind": "Pod", "name": "probe", "namespace": ns},
                "reason": "RoleProbe",
                "message": "written by the test",
                "type": "Warning",
                "count": 1,
                "firstTimestamp": now,
                "lastTimestamp": now,
                "source": {"component": "test"},
            },
        ),
        (
            f"/api/v1/namespaces/{ns}/secrets",
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "stringData": {"password": "hunter2"}},
        ),
        (
            f"/api/v1/namespaces/{ns}/configmaps",
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"a": "b"}},
        ),
    ]
    try:
        for path, obj in objects:
            api.post(path, obj)
        yield ns, escrow_id
    finally:
        _delete(api, f"/api/v1/namespaces/{ns}")


@pytest.fixture(scope="module")
def rendered(api: KubeAPI) -> Iterator[tuple[str, list[dict], list[dict]]]:
    """(system namespace, the gateway's RBAC without the metrics role, the metrics role and binding), as the
    LPStack renders them (observability on, the default), in a system namespace of its own."""
    system = f"gw-{uuid.uuid4().hex[:6]}-system"
    cfg = load_config(base_data(namespaces={"system": system}))
    groups = render_groups(cfg)
    (namespace,) = [o for o in groups["namespaces"] if o["metadata"]["name"] == system]
    rbac = [
        o
        for o in groups["gateway"]
        if o["kind"] in ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
        and o["metadata"]["name"].startswith("lpstack-gateway")
    ]
    metrics = [o for o in rbac if o["metadata"]["name"] == METRICS_ROLE]
    main = [o for o in rbac if o not in metrics]
    assert {o["kind"] for o in metrics} == {"ClusterRole", "ClusterRoleBinding"}
    ensure(api, namespace)
    try:
        for obj in main:
            ensure(api, obj)
        yield system, main, metrics
    finally:
        for obj in reversed(rbac):
            _delete(api, object_path(obj))
        _delete(api, object_path(namespace))


def _gateway(api: KubeAPI, system: str) -> KubeAPI:
    return replace(api, token=_token(api, system, "lpstack-gateway"))


def _metrics_read(gateway: KubeAPI, ns: str, escrow_id: str) -> snapshot.Snapshot:
    """What /v1/metrics reads from the Kubernetes API, with the gateway's credential (linq.gateway.metrics)."""
    cluster = Cluster(gateway.client, "the lpstack-gateway ServiceAccount")
    return snapshot.take(cluster, Target(name=ns, namespace=ns, escrow_id=escrow_id))


def test_the_metrics_read_needs_the_metrics_role_and_succeeds_with_it(
    api: KubeAPI, tenant: tuple[str, str], rendered: tuple[str, list[dict], list[dict]]
) -> None:
    ns, escrow_id = tenant
    system, _main, metrics = rendered
    gateway = _gateway(api, system)
    # The gateway's main role alone (what the LPStack rendered before /v1/metrics) cannot read workloads.
    with pytest.raises(ApiError) as caught:
        _metrics_read(gateway, ns, escrow_id)
    assert caught.value.status == 403, caught.value
    # It can do its own job: create a tenant namespace (server-side dry run: authorized, nothing persisted).
    probe = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"lq-e-dry-{uuid.uuid4().hex[:6]}"}}
    assert gateway.post("/api/v1/namespaces?dryRun=All", probe)["metadata"]["name"] == probe["metadata"]["name"]

    for obj in metrics:
        ensure(api, obj)
    snap = wait_for(
        lambda: _metrics_read(gateway, ns, escrow_id),
        what="the metrics read with lpstack-gateway-metrics bound",
        timeout=30,
    )
    assert snap.namespace_exists
    assert snap.annotations.get(ANNOTATION_ESCROW_ID) == escrow_id  # GET namespace (the main role)
    assert sorted((w.kind, w.name, w.replicas) for w in snap.workloads) == [
        ("Deployment", "web", 2),
        ("StatefulSet", "db", 1),
    ]
    assert snap.plan()["cpu_request_millis"] == 3 * 100
    assert "probe" in [p.name for p in snap.pods]
    assert "RoleProbe" in [e.reason for e in snap.events]


def test_the_gateway_account_still_cannot_read_secrets_logs_or_change_tenant_objects(
    api: KubeAPI, tenant: tuple[str, str], rendered: tuple[str, list[dict], list[dict]]
) -> None:
    ns, escrow_id = tenant
    system, _main, metrics = rendered
    for obj in metrics:
        ensure(api, obj)
    gateway = _gateway(api, system)
    wait_for(lambda: _metrics_read(gateway, ns, escrow_id).pods, what="the metrics read allowed", timeout=30)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "intruder"}, "spec": POD_SPEC}
    forbidden = [
        ("GET", f"/api/v1/namespaces/{ns}/secrets", None),
        ("GET", f"/api/v1/namespaces/{ns}/secrets/db", None),
        ("GET", "/api/v1/secrets", None),
        ("GET", f"/api/v1/namespaces/{bundle.GATEWAY_NAMESPACE}/secrets", None),
        ("GET", f"/api/v1/namespaces/{ns}/configmaps", None),
        ("GET", f"/api/v1/namespaces/{ns}/serviceaccounts", None),
        ("GET", f"/api/v1/namespaces/{ns}/pods/probe", None),  # list, not get
        ("GET", f"/api/v1/namespaces/{ns}/pods/probe/log", None),
        ("GET", f"/api/v1/namespaces/{ns}/pods?watch=true", None),
        ("POST", f"/api/v1/namespaces/{ns}/pods/probe/exec?command=sh&stdin=true", {}),
        ("POST", f"/api/v1/namespaces/{ns}/pods", pod),
        ("DELETE", f"/api/v1/namespaces/{ns}/pods/probe", None),
        ("GET", f"/apis/apps/v1/namespaces/{ns}/deployments/web", None),
        ("DELETE", f"/apis/apps/v1/namespaces/{ns}/deployments/web", None),
        ("GET", f"/apis/apps/v1/namespaces/{ns}/daemonsets", None),
        ("GET", f"/apis/apps/v1/namespaces/{ns}/replicasets", None),
        ("GET", "/api/v1/nodes", None),
    ]
    allowed = []
    for method, path, body in forbidden:
        try:
            gateway.request(method, path, body)
        except KubeError as error:
            assert error.status == 403, (method, path, error)
        else:
            allowed.append((method, path))
    assert allowed == []
    # The tenant's objects are as they were.
    assert api.get(f"/api/v1/namespaces/{ns}/pods/probe")["metadata"]["name"] == "probe"
    assert api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/web")["spec"]["replicas"] == 2
