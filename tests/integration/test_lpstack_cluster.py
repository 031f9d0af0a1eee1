"""The LPStack against the devnet's real API server: server-side dry-run of every object, PodSecurity (the
rendered namespace labels and the rendered AdmissionConfiguration file), the agent's RBAC with a real
ServiceAccount token, and ProviderCluster applied by the real Pulumi engine."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from linq.devnet import Devnet, process
from linq.devnet.kubeapi import KubeAPI, KubeError
from linq.tools.locate import require
from lpstack import admission_configuration, crds, load_config, render, render_groups
from lpstack.kube import create, dry_run, ensure, object_path, wait_established
from lpstack.render import to_yaml
from tests.unit.lpstack_helpers import base_data, full_config, one
from tests.waiting import wait_for

pytestmark = pytest.mark.integration

PRIVILEGED_POD = {"containers": [{"name": "c", "image": "busybox:1.36", "securityContext": {"privileged": True}}]}
BASELINE_POD = {"containers": [{"name": "c", "image": "busybox:1.36"}]}  # root, but nothing baseline forbids
RESTRICTED_POD = {
    "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [
        {
            "name": "c",
            "image": "busybox:1.36",
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        }
    ],
}


# The devnet already runs the provider gateway (one per cluster: the linq-gateway namespace and the linq-tenant
# ClusterRole are cluster-wide), so the stacks installed here leave it out; test_gateway_objects_* checks it.
ALL_BUT_GATEWAY = {
    "observability": True,
    "istio": True,
    "cloudflared": True,
    "kubevirt": True,
    "gpu": True,
    "sandbox_runtime": True,
    "gateway": False,
}


def _pod(namespace: str, spec: dict, name: str = "probe") -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def _rejected(api: KubeAPI, obj: dict) -> str | None:
    """None if the server accepts `obj` (dry-run), else its message."""
    try:
        create(api, obj, dry_run=True)
    except KubeError as error:
        return str(error)
    return None


def _wait_gone(api: KubeAPI, path: str, timeout: float = 90) -> None:
    def gone() -> bool:
        try:
            api.get(path)
        except KubeError as error:
            if error.status == 404:
                return True
            raise
        return False

    wait_for(gone, what=f"{path} deleted", timeout=timeout)


@pytest.fixture(scope="module")
def api(devnet: Devnet) -> KubeAPI:
    return KubeAPI.from_kubeconfig(devnet.kubeconfig)


@pytest.fixture(scope="module")
def stack(api: KubeAPI) -> Iterator[list[dict]]:
    """Our CRDs installed and the full LPStack's namespaces created for real; the rest stays dry-run."""
    for crd in crds():
        ensure(api, crd)
    wait_established(api, [c["metadata"]["name"] for c in crds()])
    objects = render(full_config(features=ALL_BUT_GATEWAY))
    namespaces = [o for o in objects if o["kind"] == "Namespace"]
    for ns in namespaces:
        ensure(api, ns)
    yield objects
    for ns in namespaces:
        api.delete(object_path(ns))
    for ns in namespaces:
        _wait_gone(api, object_path(ns))


def test_every_object_passes_server_side_dry_run(api: KubeAPI, stack: list[dict]) -> None:
    started = time.monotonic()
    failures = dry_run(api, [o for o in stack if o["kind"] != "Namespace"])
    assert failures == [], "\n".join(f"{o['kind']}/{o['metadata']['name']}: {m}" for o, m in failures)
    # Also with a different feature mix (the GPU device plugin, no mesh), so every variant meets the server.
    variant = load_config(
        base_data(features={"istio": False, "gpu": True, "gateway": False}, gpu={"mode": "device-plugin"})
    )
    failures = dry_run(api, [o for o in render(variant) if o["kind"] != "Namespace"])
    assert failures == [], failures
    print(f"\ndry-run of {len(stack)} + variant objects: {time.monotonic() - started:.2f}s")


def test_gateway_objects_pass_dry_run_beside_the_devnet_gateway(api: KubeAPI, stack: list[dict]) -> None:
    """The LPStack's gateway group against the cluster whose gateway `linq devnet up` started: its namespace and
    the tenant ClusterRole exist (made from the same bundle function), everything else passes dry-run."""
    from linq.gateway.bundle import GATEWAY_NAMESPACE, TENANT_ROLE

    assert any(o["metadata"]["name"] == "lpstack-system" for o in stack if o["kind"] == "Namespace")
    groups = render_groups(full_config())
    gateway = groups["gateway"]
    role = one(gateway, "ClusterRole", TENANT_ROLE)
    assert api.get(f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{TENANT_ROLE}")["rules"] == role["rules"]
    assert api.get(f"/api/v1/namespaces/{GATEWAY_NAMESPACE}")
    failures = dry_run(api, [o for o in gateway if o is not role])
    assert failures == [], failures


def test_dry_run_catches_what_the_server_rejects(api: KubeAPI, stack: list[dict]) -> None:
    """The check can fail: the server's strict field validation and our CRD schemas both bite."""
    peer = json.loads(json.dumps(one(stack, "PeerAuthentication", "default")))
    peer["spec"]["mtls"]["mode"] = "STRICTISH"
    chart = json.loads(json.dumps(one(stack, "HelmChart", "loki")))
    chart["spec"]["valuesContnet"] = "x"
    agent = json.loads(json.dumps(one(stack, "Deployment", "lpstack-agent")))
    agent["spec"]["template"]["spec"]["serviceAccount"] = 7
    agent["spec"]["template"]["spec"]["containerz"] = []
    failures = {f"{o['kind']}": m for o, m in dry_run(api, [peer, chart, agent])}
    assert "STRICTISH" in failures["PeerAuthentication"]
    assert "valuesContnet" in failures["HelmChart"]
    assert "containerz" in failures["Deployment"] or "serviceAccount" in failures["Deployment"]
    # (PodSecurity only warns about a Deployment's template; it refuses the pods. The tests below show it.)


def test_namespace_labels_enforce_pod_security(api: KubeAPI, stack: list[dict]) -> None:
    # Restricted system namespace: neither privileged nor plain-root pods; a restricted pod is fine.
    assert "violates PodSecurity" in (_rejected(api, _pod("lpstack-system", PRIVILEGED_POD)) or "")
    assert "violates PodSecurity" in (_rejected(api, _pod("lpstack-system", BASELINE_POD)) or "")
    assert _rejected(api, _pod("lpstack-system", RESTRICTED_POD)) is None
    assert "violates PodSecurity" in (_rejected(api, _pod("linq-ingress", PRIVILEGED_POD)) or "")
    # Privileged only where the rendered label says so, for node agents.
    assert _rejected(api, _pod("monitoring", PRIVILEGED_POD)) is None


def test_tenant_namespaces_from_the_catalog_reject_privileged_pods(api: KubeAPI, stack: list[dict]) -> None:
    """The cluster side meets the tenant side: a catalog-rendered tenant namespace is baseline."""
    from linq.catalog import load_catalog
    from linq.catalog import render as render_app
    from tests.unit.catalog_helpers import example_spec

    catalog = load_catalog()
    spec = example_spec(next(iter(catalog)), name=f"psa-{uuid.uuid4().hex[:6]}")
    (ns,) = [o for o in render_app(spec, catalog) if o["kind"] == "Namespace"]
    ensure(api, ns)
    try:
        name = ns["metadata"]["name"]
        assert "violates PodSecurity" in (_rejected(api, _pod(name, PRIVILEGED_POD)) or "")
        assert _rejected(api, _pod(name, BASELINE_POD)) is None  # root images still run (Akash's choice too)
    finally:
        api.delete(object_path(ns))


def _second_apiserver(devnet: Devnet, tmp_path: Path, admission_file: Path) -> tuple[process.ProcessRecord, KubeAPI]:
    """A second kube-apiserver on the devnet's etcd (own key prefix, so nothing is shared) started with the
    rendered AdmissionConfiguration: what k3s's admission-control-config-file does."""
    records, _ = devnet.read()
    etcd = next(r for r in records if r.name == "etcd")
    pki = devnet.state_dir / "kube" / "pki"
    port = process.free_port()
    argv = [
        str(require("kube-apiserver")),
        "--etcd-servers",
        f"http://127.0.0.1:{etcd.ports['client']}",
        "--etcd-prefix",
        f"/lpstack-psa-{uuid.uuid4().hex[:8]}",
        "--bind-address",
        "127.0.0.1",
        "--advertise-address",
        "127.0.0.1",
        "--secure-port",
        str(port),
        "--tls-cert-file",
        str(pki / "apiserver.crt"),
        "--tls-private-key-file",
        str(pki / "apiserver.key"),
        "--client-ca-file",
        str(pki / "ca.crt"),
        "--token-auth-file",
        str(pki / "tokens.csv"),
        "--authorization-mode",
        "RBAC",
        "--service-cluster-ip-range",
        "10.97.0.0/24",
        "--service-account-issuer",
        "https://kubernetes.default.svc",
        "--service-account-key-file",
        str(pki / "sa.pub"),
        "--service-account-signing-key-file",
        str(pki / "sa.key"),
        "--admission-control-config-file",
        str(admission_file),
        "--disable-admission-plugins",
        "ServiceAccount",  # no controller-manager here to create default SAs
        "--allow-privileged=true",  # as k3s: PodSecurity, not this flag, is what refuses privileged pods
        "--anonymous-auth=false",
        "--enable-priority-and-fairness=false",
        "--profiling=false",
    ]
    record = process.start("kube-apiserver-psa", argv, tmp_path / "logs", ports={"https": port})
    admin = KubeAPI.from_kubeconfig(devnet.kubeconfig)
    second = replace(admin, server=f"https://127.0.0.1:{port}")

    def ready() -> bool:  # the bootstrap controllers have created `default` once the server is serving
        return second.get("/api/v1/namespaces/default")["metadata"]["name"] == "default"

    process.wait_until(ready, what="second kube-apiserver /readyz", timeout=90, record=record)
    return record, second


def test_rendered_admission_configuration_sets_the_cluster_default(devnet: Devnet, tmp_path: Path) -> None:
    admission_file = tmp_path / "pod-security.yaml"
    admission_file.write_text(to_yaml([admission_configuration(full_config())]))
    record, api = _second_apiserver(devnet, tmp_path, admission_file)
    try:
        unlabelled = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "no-labels"}}
        create(api, unlabelled)
        # No label: the file's default (baseline) applies, so privileged is refused and root is allowed.
        message = _rejected(api, _pod("no-labels", PRIVILEGED_POD)) or ""
        assert "violates PodSecurity" in message and "baseline" in message
        assert _rejected(api, _pod("no-labels", BASELINE_POD)) is None
        # The one exempt namespace.
        ensure(api, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}})
        assert _rejected(api, _pod("kube-system", PRIVILEGED_POD)) is None
        # The restricted warning level shows as a warning, not a rejection: baseline pods still pass.
    finally:
        process.stop(record)


def _service_account_token(api: KubeAPI, namespace: str, name: str) -> str:
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 600}}
    response = api.post(f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token", request)
    return str(response["status"]["token"])


def test_agent_rbac_with_a_real_token(api: KubeAPI, stack: list[dict]) -> None:
    agent_objects = [o for o in stack if o["kind"] in ("ServiceAccount", "ClusterRole", "ClusterRoleBinding")]
    for obj in agent_objects:
        ensure(api, obj)
    tenant = f"lq-rbac-{uuid.uuid4().hex[:6]}"
    try:
        ensure(
            api,
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": tenant, "labels": {"linq.network/tenant": "true"}},
            },
        )
        create(
            api,
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "db", "namespace": tenant},
                "stringData": {"password": "hunter2"},
            },
        )
        create(api, _pod(tenant, BASELINE_POD, name="web"))
        agent = replace(api, token=_service_account_token(api, "lpstack-system", "lpstack-agent"))

        assert isinstance(agent.get("/apis/apps/v1/deployments")["items"], list)  # read workloads everywhere
        assert agent.get(f"/api/v1/namespaces/{tenant}")["metadata"]["name"] == tenant
        forbidden = [
            ("GET", f"/api/v1/namespaces/{tenant}/secrets"),
            ("GET", f"/api/v1/namespaces/{tenant}/secrets/db"),
            ("GET", "/api/v1/secrets"),
            ("POST", f"/api/v1/namespaces/{tenant}/pods/web/exec?command=sh&stdin=true"),
            ("GET", f"/api/v1/namespaces/{tenant}/pods"),
            ("POST", "/api/v1/namespaces"),
            ("DELETE", f"/apis/apps/v1/namespaces/{tenant}/deployments/x"),
        ]
        for method, path in forbidden:
            with pytest.raises(KubeError) as caught:
                agent.request(method, path, {} if method == "POST" else None)
            assert caught.value.status == 403, (method, path, caught.value)
        agent.delete(f"/api/v1/namespaces/{tenant}")  # reclaim: allowed
        _wait_gone(api, f"/api/v1/namespaces/{tenant}")
    finally:
        for obj in reversed(agent_objects):
            api.delete(object_path(obj))
        try:
            api.delete(f"/api/v1/namespaces/{tenant}")
        except KubeError as error:
            if error.status != 404:
                raise


def test_provider_cluster_applies_with_the_pulumi_engine(devnet: Devnet, api: KubeAPI, tmp_path: Path) -> None:
    import pulumi
    from pulumi import automation as auto

    from components.provider_cluster import ProviderCluster
    from linq.engine import inline_stack

    suffix = uuid.uuid4().hex[:6]
    namespaces = {
        "system": f"pc-{suffix}-system",
        "ingress": f"pc-{suffix}-ingress",
        "monitoring": f"pc-{suffix}-monitoring",
        "istio": f"pc-{suffix}-istio",
        "kubevirt": f"pc-{suffix}-kubevirt",
        "gpu": f"pc-{suffix}-gpu",
    }
    config = full_config(cluster_name=f"pc-{suffix}", namespaces=namespaces, features=ALL_BUT_GATEWAY)
    agent_key = "0x" + "5e" * 32

    def program() -> None:
        cluster = ProviderCluster(
            "pc",
            config,
            kubeconfig=pulumi.Output.secret(devnet.kubeconfig.read_text()),
            agent_private_key=pulumi.Config().require_secret("agentKey"),
        )
        pulumi.export("provider_address", cluster.provider_address)
        pulumi.export("endpoints", cluster.endpoints)
        pulumi.export("meta_hash", cluster.meta_hash)
        pulumi.export("namespaces", cluster.namespaces)

    stack = inline_stack(
        devnet,
        project="lpstack",
        stack=f"pc-{suffix}",
        program=program,
        work_dir=tmp_path,
        config={"agentKey": auto.ConfigValue(agent_key, secret=True)},
    )
    try:
        started = time.monotonic()
        up = stack.up()
        first_up = time.monotonic() - started
        assert up.summary.result == "succeeded"
        assert up.outputs["provider_address"].value == config.provider_address
        assert up.outputs["endpoints"].value["apps"] == "https://*.apps.example.com"
        assert up.outputs["namespaces"].value == list(namespaces.values())

        expected = render(config)
        for obj in expected:
            live = api.get(object_path(obj))
            assert obj["metadata"]["labels"].items() <= live["metadata"]["labels"].items(), object_path(obj)
        agent = api.get(f"/apis/apps/v1/namespaces/{namespaces['system']}/deployments/lpstack-agent")
        assert agent["status"].get("availableReplicas") == 1
        secret = api.get(f"/api/v1/namespaces/{namespaces['system']}/secrets/lpstack-agent-key")
        assert base64.b64decode(secret["data"]["private-key"]).decode() == agent_key
        assert agent_key not in json.dumps(stack.export_stack().deployment)  # only ciphertext in the state
        ns = api.get(f"/api/v1/namespaces/{namespaces['system']}")
        assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"

        started = time.monotonic()
        again = stack.up()
        second_up = time.monotonic() - started
        changes = {k: v for k, v in (again.summary.resource_changes or {}).items() if k != "same"}
        assert changes == {}, changes
        print(
            f"\nProviderCluster ({len(expected)} objects + CRDs): first up {first_up:.1f}s, no-op up {second_up:.1f}s"
        )

        stack.destroy()
        for obj in expected:
            if obj["kind"] == "Namespace":
                _wait_gone(api, object_path(obj))
            else:
                with pytest.raises(KubeError) as caught:
                    api.get(object_path(obj))
                assert caught.value.status == 404, object_path(obj)
    finally:
        stack.destroy()
        stack.workspace.remove_stack(stack.name)


def test_provider_cluster_registers_the_provider_on_chain(devnet: Devnet, api: KubeAPI, tmp_path: Path) -> None:
    """With a registration spec, the ProviderRegistration child writes this cluster's region and metadata
    hash to the real registry on anvil, signed by the provider's wallet; destroy deactivates it."""
    import pulumi
    from eth_account import Account
    from pulumi import automation as auto
    from web3 import Web3

    from components.provider_cluster import ProviderCluster
    from linq.chain import ChainClient, resolve_profile
    from linq.chain import registration as reg
    from linq.engine import inline_stack
    from lpstack.metadata import metadata_hash

    wallet = Account.create()
    w3 = Web3(Web3.HTTPProvider(devnet.read()[1].rpc_url))
    w3.provider.make_request("anvil_setBalance", [wallet.address, hex(10**19)])  # gas money, nothing else
    suffix = uuid.uuid4().hex[:6]
    config = load_config(
        base_data(
            cluster_name=f"reg-{suffix}",
            provider_address=wallet.address,
            region="eu-north",
            features={"observability": False, "istio": False, "gateway": False},
            namespaces={"system": f"reg-{suffix}-system", "ingress": f"reg-{suffix}-ingress"},
        )
    )
    spec = {
        "cpu": 24_000,
        "memory": 98_304,
        "storage": 500,
        "price_cpu": "2000000",
        "price_memory": "30000",
        "price_storage": "500000",
    }

    def program() -> None:
        cluster = ProviderCluster(
            "reg", config, kubeconfig=pulumi.Output.secret(devnet.kubeconfig.read_text()), registration=spec
        )
        pulumi.export("provider_address", cluster.provider_address)
        pulumi.export("meta_hash", cluster.meta_hash)

    stack = inline_stack(
        devnet,
        project="lpstack",
        stack=f"reg-{suffix}",
        program=program,
        work_dir=tmp_path,
        config={
            "linq:network": json.dumps({"kind": "devnet", "devnetDir": str(devnet.state_dir)}),
            "linq:signerKey": auto.ConfigValue("0x" + wallet.key.hex().removeprefix("0x"), secret=True),
        },
    )
    client = ChainClient(resolve_profile(devnet_dir=devnet.state_dir), None)
    try:
        up = stack.up()
        assert up.summary.result == "succeeded"
        assert up.outputs["provider_address"].value == wallet.address
        record = reg.read(client, wallet.address)
        assert record is not None and record.active
        assert record.region == "eu-north"
        assert "0x" + record.meta_hash.hex() == metadata_hash(config) == up.outputs["meta_hash"].value
        assert (record.cpu_millis, record.memory_mib, record.storage_gib) == (24_000, 98_304, 500)
        assert record.price_cpu == 2_000_000
        again = stack.up()
        assert {k: v for k, v in (again.summary.resource_changes or {}).items() if k != "same"} == {}
        stack.destroy()
        after = reg.read(client, wallet.address)
        assert after is not None and not after.active
        with pytest.raises(KubeError) as caught:
            api.get(f"/api/v1/namespaces/reg-{suffix}-system")
        assert caught.value.status == 404
    finally:
        stack.destroy()
        stack.workspace.remove_stack(stack.name)
