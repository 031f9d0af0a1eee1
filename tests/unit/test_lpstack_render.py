"""LPStack rendering: every object validates, the tenancy rules of the reference are in the values, the
agent's RBAC is least privilege, secrets are referenced never inlined, and the output is deterministic."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import kubernetes_validate
import pytest
import yaml

from lpstack import admission_configuration, crds, render, render_groups
from lpstack.config import Features
from lpstack.render import KIND_ORDER, to_yaml, write_dir
from lpstack.validate import CrdSchemas, validate
from lpstack.versions import load
from tests.unit.lpstack_helpers import ADDRESS_BOOK, by_kind, config, full_config, one

FEATURES = list(Features.model_fields)


def _values(objects: list[dict], release: str) -> dict:
    return yaml.safe_load(one(objects, "HelmChart", release)["spec"]["valuesContent"])


def _feature_configs():
    """Every on/off combination of the features (64), cloudflared with its token reference."""
    for bits in itertools.product([False, True], repeat=len(FEATURES)):
        features = dict(zip(FEATURES, bits, strict=True))
        extra = {"cloudflared": {"token_secret": {"name": "cf", "key": "token"}}} if features["cloudflared"] else {}
        yield config(features=features, **extra)


def test_every_feature_combination_validates_strictly() -> None:
    # The 64 renders share most objects: validate each distinct object once (the schemas are slow to load).
    distinct: dict[str, dict] = {}
    for cfg in _feature_configs():
        objects = render(cfg)
        assert len({(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objects}) == len(
            objects
        ), "duplicate object"
        distinct.update((json.dumps(o, sort_keys=True), o) for o in objects)
    assert validate(list(distinct.values())) == []
    assert {o["kind"] for o in distinct.values()} == set(KIND_ORDER)


def test_builtin_kinds_pass_kubernetes_validate_strict_directly() -> None:
    custom = CrdSchemas().schemas
    builtin = [o for o in render(full_config()) if (o["apiVersion"], o["kind"]) not in custom]
    assert {o["kind"] for o in builtin} >= {"Namespace", "Deployment", "ClusterRole", "RuntimeClass", "PriorityClass"}
    for obj in builtin:
        kubernetes_validate.validate(obj, "1.33", strict=True)


def test_the_validator_rejects_what_the_api_server_would() -> None:
    objects = render(full_config())
    bad_builtin = json.loads(json.dumps(one(objects, "Deployment", "lpstack-agent")))
    bad_builtin["spec"]["replicas"] = "one"
    bad_builtin["spec"]["template"]["spec"]["containerz"] = []
    peer = json.loads(json.dumps(one(objects, "PeerAuthentication", "default")))
    peer["spec"]["mtls"]["mode"] = "STRICTISH"
    chart = json.loads(json.dumps(one(objects, "HelmChart", "loki")))
    chart["spec"]["valuesContnet"] = "typo"
    cluster_scoped_kv = json.loads(json.dumps(one(objects, "KubeVirt", "kubevirt")))
    del cluster_scoped_kv["metadata"]["namespace"]
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    problems = [str(p) for p in validate([bad_builtin, peer, chart, cluster_scoped_kv, unknown])]
    assert any("Deployment/lpstack-system/lpstack-agent" in p for p in problems)
    assert any("spec.mtls.mode" in p and "STRICTISH" in p for p in problems)
    assert any("valuesContnet" in p for p in problems)
    assert any("KubeVirt/kubevirt" in p and "metadata.namespace" in p for p in problems)
    assert any("Widget" in p for p in problems)


def test_our_crds_are_valid_crds_and_cover_every_custom_kind() -> None:
    definitions = crds()
    for crd in definitions:
        kubernetes_validate.validate(crd, "1.33", strict=True)
    covered = {
        (f"{c['spec']['group']}/{v['name']}", c["spec"]["names"]["kind"])
        for c in definitions
        for v in c["spec"]["versions"]
    }
    emitted = {(o["apiVersion"], o["kind"]) for o in render(full_config())}
    custom = {key for key in emitted if not key[0].startswith(("v1", "apps/", "rbac.", "scheduling.", "node."))}
    assert custom == {
        ("helm.cattle.io/v1", "HelmChart"),
        ("security.istio.io/v1", "PeerAuthentication"),
        ("kubevirt.io/v1", "KubeVirt"),
    }
    assert custom <= covered


def test_objects_are_in_apply_order() -> None:
    objects = render(full_config())
    ranks = [KIND_ORDER.index(o["kind"]) for o in objects]
    assert ranks == sorted(ranks)
    assert objects[0]["kind"] == "Namespace"


def test_rendering_is_deterministic_across_processes() -> None:
    code = (
        "from tests.unit.lpstack_helpers import full_config\n"
        "from lpstack.render import render, to_yaml\n"
        "import sys; sys.stdout.write(to_yaml(render(full_config())))\n"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": str(seed), "PATH": ""},
        ).stdout
        for seed in (1, 2)
    ]
    assert runs[0] == runs[1] == to_yaml(render(full_config()))
    assert list(yaml.safe_load_all(runs[0])) == render(full_config())


def test_namespaces_carry_pod_security_labels() -> None:
    objects = render(full_config())
    levels = {
        n["metadata"]["name"]: n["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        for n in by_kind(objects, "Namespace")
    }
    assert levels == {
        "lpstack-system": "restricted",
        "linq-ingress": "restricted",
        "linq-gateway": "restricted",
        "monitoring": "privileged",
        "istio-system": "privileged",
        "kubevirt": "privileged",
        "gpu-operator": "privileged",
    }
    for ns in by_kind(objects, "Namespace"):
        labels = ns["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce-version"] == load().kubernetes.pod_security_version
        assert labels["pod-security.kubernetes.io/audit"] == "restricted"
        assert ns["metadata"]["annotations"]["linq.network/pod-security-reason"]
    # Privileged namespaces only for what is switched on.
    minimal = config(features={"observability": False, "istio": False})
    assert [n["metadata"]["name"] for n in by_kind(render(minimal), "Namespace")] == [
        "lpstack-system",
        "linq-ingress",
        "linq-gateway",
    ]


def test_ingress_namespace_is_the_one_tenant_policies_admit() -> None:
    from linq.catalog import RenderOptions

    objects = render(full_config())
    assert one(objects, "Deployment", "cloudflared")["metadata"]["namespace"] == RenderOptions().ingress_namespace


def test_admission_configuration_defaults_to_baseline_and_exempts_only_system() -> None:
    admission = admission_configuration(config())
    assert admission["kind"] == "AdmissionConfiguration"
    (plugin,) = admission["plugins"]
    assert plugin["name"] == "PodSecurity"
    conf = plugin["configuration"]
    assert conf["apiVersion"] == "pod-security.admission.config.k8s.io/v1"
    assert conf["defaults"]["enforce"] == "baseline"
    assert conf["defaults"]["enforce-version"] == load().kubernetes.pod_security_version
    assert conf["defaults"]["warn"] == conf["defaults"]["audit"] == "restricted"
    assert conf["exemptions"] == {"usernames": [], "runtimeClasses": [], "namespaces": ["kube-system"]}
    stricter = admission_configuration(config(pod_security={"enforce": "restricted"}))
    assert stricter["plugins"][0]["configuration"]["defaults"]["enforce"] == "restricted"


def test_runtime_class_and_priority_classes() -> None:
    objects = render(full_config())
    (runtime,) = by_kind(objects, "RuntimeClass")
    assert runtime["metadata"]["name"] == "gvisor"
    assert runtime["handler"] == "runsc"
    assert runtime["scheduling"]["nodeSelector"] == {"linq.network/sandbox": "gvisor"}
    assert "overhead" not in runtime  # tenant quotas equal the plan; overhead would not fit
    classes = {p["metadata"]["name"]: p for p in by_kind(objects, "PriorityClass")}
    assert classes["lpstack-tenant"]["globalDefault"] is True
    assert classes["lpstack-tenant"]["preemptionPolicy"] == "Never"
    assert classes["lpstack-system"]["value"] > classes["lpstack-tenant"]["value"]
    assert [o for o in by_kind(objects, "PriorityClass") if o.get("globalDefault")] == [classes["lpstack-tenant"]]
    assert by_kind(render(config(features={"sandbox_runtime": False})), "RuntimeClass") == []


def test_helm_charts_are_pinned_from_versions_yaml() -> None:
    pins = load()
    objects = render(full_config())
    charts = {c["metadata"]["name"]: c for c in by_kind(objects, "HelmChart")}
    assert set(charts) == {
        "kube-prometheus-stack",
        "loki",
        "alloy",
        "istio-base",
        "istiod",
        "istio-cni",
        "gpu-operator",
    }
    for release, chart in charts.items():
        pin = pins.chart(release)
        assert chart["metadata"]["namespace"] == "kube-system"
        assert chart["spec"]["chart"] == pin.chart
        assert chart["spec"]["version"] == pin.version
        assert chart["spec"]["repo"] == pin.repository
        assert chart["spec"]["createNamespace"] is False
        assert chart["metadata"]["labels"]["linq.network/chart-version"] == pin.version
    plugin = render(full_config(gpu={"mode": "device-plugin"}))
    assert [c["metadata"]["name"] for c in by_kind(plugin, "HelmChart")][-1] == "nvidia-device-plugin"


def test_local_chart_source_points_at_static_archives_and_overrides_apply() -> None:
    pins = load()
    local = render(config(charts={"source": "local"}))
    for chart in by_kind(local, "HelmChart"):
        pin = pins.chart(chart["metadata"]["name"])
        assert chart["spec"]["chart"] == f"https://%{{KUBERNETES_API}}%/static/charts/{pin.chart}-{pin.version}.tgz"
        assert "repo" not in chart["spec"] and "version" not in chart["spec"]
    mirrored = render(config(charts={"repository_overrides": {"loki": "https://charts.mirror.example/grafana"}}))
    assert one(mirrored, "HelmChart", "loki")["spec"]["repo"] == "https://charts.mirror.example/grafana"
    assert one(mirrored, "HelmChart", "alloy")["spec"]["repo"] == pins.chart("alloy").repository


def test_prometheus_enforces_namespace_tenancy() -> None:
    cfg = full_config(tenant_limits={"sample_limit": 1234, "target_limit": 7})
    spec = _values(render(cfg), "kube-prometheus-stack")["prometheus"]["prometheusSpec"]
    assert spec["enforcedNamespaceLabel"] == "namespace"
    assert spec["ignoreNamespaceSelectors"] is True
    assert spec["enforcedSampleLimit"] == 1234
    assert spec["enforcedTargetLimit"] == 7
    assert spec["serviceMonitorSelectorNilUsesHelmValues"] is False
    assert spec["podMonitorSelectorNilUsesHelmValues"] is False
    # Only the chart's own monitors (which report every namespace) escape enforcement.
    assert {e["namespace"] for e in spec["excludedFromEnforcement"]} == {"monitoring"}


def test_loki_is_multi_tenant_and_alloy_sets_the_org_from_the_namespace() -> None:
    objects = render(full_config())
    loki = _values(objects, "loki")
    assert loki["loki"]["auth_enabled"] is True
    assert loki["gateway"]["enabled"] is False
    assert loki["loki"]["limits_config"]["ingestion_rate_mb"] == 4
    alloy = _values(objects, "alloy")["alloy"]["configMap"]["content"]
    tenant_block = alloy[alloy.index('loki.process "tenant"') :]
    assert 'stage.tenant {\n    label = "namespace"' in tenant_block
    assert 'source_labels = ["__meta_kubernetes_namespace"]' in alloy
    assert "http://loki.monitoring.svc.cluster.local:3100/loki/api/v1/push" in alloy


def test_istio_is_strict_mtls_with_the_cni_plugin() -> None:
    objects = render(full_config())
    peer = one(objects, "PeerAuthentication", "default")
    assert peer["metadata"]["namespace"] == "istio-system"
    assert "selector" not in peer["spec"]  # mesh-wide
    assert peer["spec"]["mtls"]["mode"] == "STRICT"
    assert _values(objects, "istiod")["pilot"]["cni"]["enabled"] is True
    assert _values(objects, "istio-cni")["global"]["platform"] == "k3s"


def test_cloudflared_token_is_referenced_never_inlined() -> None:
    objects = render(full_config())
    deployment = one(objects, "Deployment", "cloudflared")
    (env,) = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == {"name": "TUNNEL_TOKEN", "valueFrom": {"secretKeyRef": {"name": "cloudflared-token", "key": "token"}}}
    assert not by_kind(objects, "Secret")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == load().image("cloudflared")


def test_agent_rbac_is_least_privilege() -> None:
    objects = render(full_config())
    role = one(objects, "ClusterRole", "lpstack-agent")
    grants = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert ("", "namespaces", "delete") in grants
    assert ("apps", "deployments", "list") in grants
    for group, resource, verb in grants:
        assert "*" not in (group, resource, verb)
        assert resource not in {"secrets", "pods/exec", "pods/attach", "pods/portforward", "nodes/proxy"}
        assert verb not in {"escalate", "bind", "impersonate", "create", "update", "patch"}
    assert {v for g, r, v in grants if r != "namespaces"} <= {"get", "list", "watch"}
    binding = one(objects, "ClusterRoleBinding", "lpstack-agent")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "lpstack-agent", "namespace": "lpstack-system"}]


def test_agent_deployment_runs_the_pinned_image_with_a_secret_key(tmp_path) -> None:
    objects = render(full_config())
    pod = one(objects, "Deployment", "lpstack-agent")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == load().image("linq-agent")
    assert container["command"] == ["linq", "provider", "agent"]
    env = {e["name"]: e for e in container["env"]}
    assert env["LINQ_PRIVATE_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "lpstack-agent-key", "key": "private-key"}
    assert "value" not in env["LINQ_PRIVATE_KEY"]
    assert env["LINQ_PROVIDER_ADDRESS"]["value"] == full_config().provider_address
    assert container["resources"]["requests"] == container["resources"]["limits"]
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert pod["priorityClassName"] == "lpstack-system"
    addresses = json.loads(one(objects, "ConfigMap", "lpstack-agent")["data"]["addresses.json"])
    assert addresses == ADDRESS_BOOK
    from linq.chain.network import load_book  # the agent's own loader accepts what the LPStack renders

    book_file = tmp_path / "addresses.json"
    book_file.write_text(json.dumps(addresses))
    assert load_book(book_file).escrow.lower() == ADDRESS_BOOK["escrow"]


def test_user_strings_cannot_inject_yaml() -> None:
    cfg = config(agent={"rpc_url": 'https://rpc.example.com/"\n  injected: true'})
    deployment = one(render(cfg), "Deployment", "lpstack-agent")
    env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["LINQ_RPC_URL"]["value"] == 'https://rpc.example.com/"\n  injected: true'
    assert "injected" not in deployment["spec"]


def test_write_dir_is_the_stack_exactly(tmp_path) -> None:
    full = full_config()
    paths = write_dir(full, tmp_path)
    names = sorted(p.name for p in tmp_path.glob("*.yaml"))
    assert names == [
        "00-namespaces.yaml",
        "10-scheduling.yaml",
        "20-agent.yaml",
        "25-gateway.yaml",
        "30-ingress.yaml",
        "40-observability.yaml",
        "50-mesh.yaml",
        "60-vm.yaml",
        "70-gpu.yaml",
    ]
    from_files = [doc for name in names for doc in yaml.safe_load_all((tmp_path / name).read_text())]
    assert sorted(map(json.dumps, from_files)) == sorted(map(json.dumps, render(full)))
    assert yaml.safe_load((tmp_path / "admission" / "pod-security.yaml").read_text()) == admission_configuration(full)
    assert len(paths) == len(names) + 1
    # Switching components off removes their files; the others keep their names.
    write_dir(config(features={"istio": False}), tmp_path)
    assert sorted(p.name for p in tmp_path.glob("*.yaml")) == [
        "00-namespaces.yaml",
        "10-scheduling.yaml",
        "20-agent.yaml",
        "25-gateway.yaml",
        "40-observability.yaml",
    ]


def test_groups_cover_render() -> None:
    groups = render_groups(full_config())
    flat = [o for objs in groups.values() for o in objs]
    assert sorted(map(json.dumps, flat)) == sorted(map(json.dumps, render(full_config())))


@pytest.mark.parametrize("release", ["kube-prometheus-stack", "loki", "alloy", "istiod"])
def test_values_use_the_system_priority_class(release: str) -> None:
    text = one(render(full_config()), "HelmChart", release)["spec"]["valuesContent"]
    assert "priorityClassName: lpstack-system" in text


def _grants(role: dict) -> set[tuple[str, str, str, tuple[str, ...]]]:
    return {
        (g, r, v, tuple(rule.get("resourceNames", ())))
        for rule in role["rules"]
        for g in rule["apiGroups"]
        for r in rule["resources"]
        for v in rule["verbs"]
    }


def test_gateway_rbac_is_least_privilege_and_the_agent_may_revoke() -> None:
    objects = render(full_config())

    cluster = _grants(one(objects, "ClusterRole", "lpstack-gateway"))
    assert ("", "namespaces", "create", ()) in cluster and ("rbac.authorization.k8s.io", "rolebindings", "patch", ())
    assert {(r, v) for _, r, v, names in cluster if names} == {("clusterroles", "get"), ("clusterroles", "bind")}
    assert all(names == ("linq-tenant",) for _, r, _, names in cluster if r == "clusterroles")
    for _, resource, verb, _ in cluster:  # nothing that reads tenant data or widens its own rights
        assert verb not in {"delete", "deletecollection", "escalate", "impersonate", "update", "*"}
        assert resource not in {
            "pods",
            "pods/exec",
            "secrets",
            "serviceaccounts/token",
            "clusterrolebindings",
            "roles",
            "nodes",
            "*",
        }
    local = one(objects, "Role", "lpstack-gateway")
    assert local["metadata"]["namespace"] == "linq-gateway"
    assert ("", "serviceaccounts/token", "create", ()) in _grants(local)
    assert ("", "secrets", "get", ("linq-gateway-tls",)) in _grants(local)
    assert ("", "secrets", "get", ()) not in _grants(local)
    revoke = _grants(one(objects, "ClusterRole", "lpstack-agent-revoke"))
    assert revoke == {("rbac.authorization.k8s.io", "rolebindings", "delete", ("linq-tenant",))}
    assert _grants(one(objects, "Role", "lpstack-agent-revoke")) == {("", "serviceaccounts", "delete", ())}
    assert one(objects, "RoleBinding", "lpstack-agent-revoke")["subjects"][0]["name"] == "lpstack-agent"
    deployment = one(objects, "Deployment", "lpstack-gateway")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][:3] == ["linq", "provider", "gateway"]
    assert container["env"][-1]["valueFrom"]["secretKeyRef"]["name"] == "lpstack-agent-key"  # the agent's key
    assert deployment["spec"]["replicas"] == 2
    assert one(objects, "Service", "lpstack-gateway")["spec"]["ports"][0]["port"] == 8443
    tenant = one(objects, "ClusterRole", "linq-tenant")
    assert not any("namespaces" in rule["resources"] for rule in tenant["rules"])


def _gateway_command(cfg) -> list[str]:
    deployment = one(render(cfg), "Deployment", "lpstack-gateway")
    return list(deployment["spec"]["template"]["spec"]["containers"][0]["command"])


def _flag(command: list[str], flag: str) -> str | None:
    return command[command.index(flag) + 1] if flag in command else None


PROMETHEUS = "http://kps-prometheus.monitoring.svc:9090"


@pytest.mark.parametrize(
    ("gateway", "features", "flags"),
    [
        # The default: direct access (no --tenant-access), the proxy on, the LPStack's own Prometheus.
        ({}, {}, {"--tenant-access": None, "--public-url": None, "--prometheus": PROMETHEUS}),
        ({}, {"observability": False}, {"--prometheus": None}),
        (
            {"tenant_access": "gateway", "public_url": "https://gateway.apps.example.com"},
            {},
            {"--tenant-access": "gateway", "--public-url": "https://gateway.apps.example.com", "--tenant-server": None},
        ),
        (
            {"tenant_access": "gateway", "service_type": "LoadBalancer", "port": 9443},
            {},
            {"--tenant-access": "gateway", "--public-url": "https://gateway.apps.example.com:9443"},
        ),
        (
            {"tenant_server": "https://k8s.example.com:6443"},
            {},
            {"--tenant-server": "https://k8s.example.com:6443", "--tenant-access": None},
        ),
    ],
)
def test_gateway_args_follow_the_config(gateway: dict, features: dict, flags: dict) -> None:
    command = _gateway_command(config(gateway=gateway, features=features))
    assert command[:3] == ["linq", "provider", "gateway"]
    assert _flag(command, "--tls-host") == "gateway.apps.example.com"
    for flag, value in flags.items():
        assert _flag(command, flag) == value, (flag, command)
    assert "--no-kube-proxy" not in command


def test_gateway_args_without_the_proxy_and_in_another_monitoring_namespace() -> None:
    command = _gateway_command(config(gateway={"kube_proxy": False}, namespaces={"monitoring": "observe"}))
    assert "--no-kube-proxy" in command and "--tenant-access" not in command
    assert _flag(command, "--prometheus") == "http://kps-prometheus.observe.svc:9090"
    # One home for the URL: the endpoint the provider announces is the one the gateway queries.
    from lpstack.metadata import endpoints

    assert endpoints(config(namespaces={"monitoring": "observe"}))["metrics"] == _flag(command, "--prometheus")


def test_the_gateway_command_is_what_the_cli_accepts() -> None:
    """Every rendered flag is an option of `linq provider gateway` and the values pass its own checks."""
    from linq.cli.gateway import gateway as command

    options = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    cfg = config(gateway={"tenant_access": "gateway", "public_url": "https://gateway.apps.example.com"})
    for argv in (_gateway_command(cfg), _gateway_command(config(gateway={"kube_proxy": False}))):
        flags = [a for a in argv[3:] if a.startswith("--")]
        assert set(flags) <= options, set(flags) - options
        ctx = command.make_context("gateway", argv[3:], resilient_parsing=False)
        assert ctx.params["tls_hosts"] == ("gateway.apps.example.com",)
    assert ctx.params["kube_proxy"] is False


def test_the_gateway_metrics_role_grants_exactly_what_v1_metrics_reads() -> None:
    """linq.gateway.metrics reads a tenant namespace through linq.monitor.snapshot.take: the namespace (the
    gateway's main role already gets namespaces), then lists of the workload kinds, pods and events."""
    from linq.monitor.snapshot import WORKLOAD_PATHS

    objects = render(full_config())
    role = one(objects, "ClusterRole", "lpstack-gateway-metrics")
    expected = {("", "pods", "list", ()), ("", "events", "list", ())}
    for _kind, path in WORKLOAD_PATHS:  # /apis/<group>/<version>/namespaces/{ns}/<resource>
        parts = path.split("/")
        expected.add((parts[2], parts[-1], "list", ()))
    assert _grants(role) == expected
    assert ("", "namespaces", "get", ()) in _grants(one(objects, "ClusterRole", "lpstack-gateway"))
    binding = one(objects, "ClusterRoleBinding", "lpstack-gateway-metrics")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "lpstack-gateway-metrics",
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "lpstack-gateway", "namespace": "lpstack-system"}]
    # Without observability there is no Prometheus to ask: no --prometheus, and no read rights either.
    plain = render(config(features={"observability": False}))
    assert not [o for o in plain if o["metadata"]["name"] == "lpstack-gateway-metrics"]
    # Tenant-access mode changes no rights: the proxy forwards the tenant's own token.
    via = render(config(gateway={"tenant_access": "gateway", "public_url": "https://gateway.apps.example.com"}))
    defaults = render(config())
    for kind in ("ClusterRole", "Role"):
        assert by_kind(via, kind) == by_kind(defaults, kind)
