"""The stack's deployments render exactly as the catalog's spec does (linq.stackrender), with every workload
field the catalog accepts, and `linq render --stack`'s code path needs no Pulumi component."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from linq.catalog import DeploymentSpec, load_catalog, render
from linq.catalog.spec import WorkloadSpec
from linq.stackconfig import ConfigError, DeploymentConfig, load_stack_config
from linq.stackrender import ANNOTATION_RESTARTED_AT, review
from tests.unit.catalog_helpers import by_kind, one, validate_manifest

# A custom image with every custom-only field, as a user writes it in Pulumi.<stack>.yaml (camelCase).
WORKLOAD = {
    "image": "ghcr.io/example/wiki:1.4.2",
    "plan": "standard",
    "env": {"WIKI_MODE": "team"},
    "ports": [{"name": "http", "containerPort": 8080}, {"name": "metrics", "containerPort": 9090}],
    "endpoint": {"port": "http", "kind": "http"},
    "command": ["/bin/wiki"],
    "args": ["--listen", ":8080"],
    "volumes": [
        {"name": "data", "mountPath": "/var/lib/wiki", "sizeGiB": 5},
        {"name": "cache", "mountPath": "/var/cache/wiki"},
    ],
    "configFiles": [{"mountPath": "/etc/wiki/wiki.toml", "content": "[server]\nport = 8080\n"}],
    "health": {"http": {"path": "/healthz", "port": "http"}, "startupSeconds": 300},
    "security": {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000, "addCapabilities": ["NET_BIND_SERVICE"]},
}
SECRET = "wiki-" + "s3cr3t"


def stack_values(**deployment) -> dict[str, object]:
    """Decrypted stack config as `pulumi config --json --show-secrets` gives it (deployments as a JSON string)."""
    declared = {"name": "wiki", "duration": "24h", "secrets": {"WIKI_TOKEN": "wikiToken"}, **WORKLOAD, **deployment}
    return {"linq:deployments": json.dumps([declared]), "linq:wikiToken": SECRET}


def test_every_catalog_workload_field_is_a_stack_field() -> None:
    """Derived, not copied: the stack's deployment and the catalog's spec share WorkloadSpec's fields."""
    workload = set(WorkloadSpec.model_fields)
    assert {"volumes", "config_files", "health", "security"} <= workload
    assert workload <= set(DeploymentConfig.model_fields)
    assert workload <= set(DeploymentSpec.model_fields)
    assert issubclass(DeploymentConfig, WorkloadSpec) and issubclass(DeploymentSpec, WorkloadSpec)


def test_stack_with_volumes_config_files_health_and_security_renders_as_the_catalog_spec() -> None:
    from_stack = review(stack_values())["wiki"]
    from_catalog = render(
        DeploymentSpec.model_validate({"name": "wiki", "secrets": {"WIKI_TOKEN": SECRET}, **WORKLOAD}), load_catalog()
    )
    # The stack's lifecycle step always gives the pod template an annotations map (empty when unused).
    for manifest in from_catalog:
        if manifest["kind"] == "StatefulSet":
            manifest["spec"]["template"]["metadata"].setdefault("annotations", {})
    assert from_stack == from_catalog
    for manifest in from_stack:
        validate_manifest(manifest)
    # The fields the stack used to drop are in what `up` applies.
    workload = one(from_stack, "StatefulSet")  # volumes make it a StatefulSet
    pod = workload["spec"]["template"]["spec"]
    container = pod["containers"][0]
    claims = {
        c["metadata"]["name"]: c["spec"]["resources"]["requests"]["storage"]
        for c in workload["spec"]["volumeClaimTemplates"]
    }
    assert set(claims) == {"data", "cache"}
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/var/lib/wiki", "/var/cache/wiki", "/etc/wiki/wiki.toml"} <= mounts
    assert any("port = 8080" in "".join(cm.get("data", {}).values()) for cm in by_kind(from_stack, "ConfigMap"))
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["failureThreshold"] * container["startupProbe"]["periodSeconds"] == 300
    assert container["securityContext"]["capabilities"]["add"] == ["NET_BIND_SERVICE"]
    assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["fsGroup"]) == (1000, 1000)


def test_stack_lifecycle_fields_apply_on_top_of_the_same_render() -> None:
    stopped = review(stack_values(state="stopped", restartedAt="2026-12-05T10:00:00Z"))["wiki"]
    workload = one(stopped, "StatefulSet")
    assert workload["spec"]["replicas"] == 0
    assert workload["spec"]["template"]["metadata"]["annotations"][ANNOTATION_RESTARTED_AT] == "2026-12-05T10:00:00Z"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"template": "open-webui"}, "exactly one of template, image or vm"),
        ({"image": None, "template": "open-webui"}, "volumes, config_files, health, security apply to custom images"),
        ({"health": {"http": {"path": "/healthz", "port": "http"}, "tcp": "http"}}, "exactly one of http or tcp"),
        ({"security": {"addCapabilities": ["SYS_ADMIN"]}}, "linq:deployments.0.security.addCapabilities.0"),
        ({"volumes": [{"name": "data", "mountPath": "relative"}]}, "linq:deployments.0.volumes.0.mountPath"),
    ],
)
def test_bad_workload_fields_fail_at_load_naming_the_field(change: dict, message: str) -> None:
    declared = {"name": "wiki", "duration": "24h", **WORKLOAD, **change}
    with pytest.raises(ConfigError, match=message):
        load_stack_config({"deployments": [{k: v for k, v in declared.items() if v is not None}]})


def test_render_stack_path_imports_no_pulumi_component() -> None:
    """`linq render --stack` reviews a stack with the core library only (no `components`, no Pulumi SDK)."""
    code = (
        "import sys, linq.cli.catalog, linq.stackrender as r; "
        f"r.review({stack_values()!r}); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('components', 'pulumi', 'pulumi_kubernetes')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# ----- through a provider gateway ----------------------------------------------------------------------------
P1, P2, P3 = "0x" + "1" * 40, "0x" + "2" * 40, "0x" + "3" * 40


def test_gateway_split_gives_the_provider_the_isolation_objects_and_the_requestor_the_workload() -> None:
    from linq.stackrender import owner_summary, render_app, split_by_owner, tenant_objects

    config = load_stack_config({"deployments": [{"name": "chat", "template": "uptime-kuma", "duration": "1h"}]})
    manifests = render_app(config.deployments[0], {}).manifests
    provider, requestor = split_by_owner(manifests)
    assert {m["kind"] for m in provider} == {"Namespace", "ResourceQuota", "LimitRange", "NetworkPolicy"}
    assert {m["kind"] for m in requestor} == {"ServiceAccount", "Service", "StatefulSet"}
    tenant = tenant_objects(manifests)
    assert [m["kind"] for m in tenant] == [m["kind"] for m in requestor]
    assert all("namespace" not in m["metadata"] for m in tenant)  # they land in the lease namespace
    assert all("namespace" in m["metadata"] for m in requestor)  # the render itself is untouched
    summary = owner_summary(manifests)
    assert "applied by the provider" in summary and "ResourceQuota/plan-quota" in summary.splitlines()[0]
    assert "StatefulSet/chat" in summary.splitlines()[1]


def test_providers_entries_are_optional_and_shape_matching() -> None:
    from linq.placement import requirements_for

    config = load_stack_config(
        {
            "providers": {P1: {"clusterId": "prod", "kubeconfigSecret": "kube"}, P2: {"deny": True}, P3: {}},
            "deployments": [{"name": "kuma", "template": "uptime-kuma", "duration": "1h"}],
        }
    )
    assert list(config.direct_access()) == [P1]
    req = requirements_for(config.deployments[0], config.providers)
    assert req.require_gateway and req.direct == (P1,) and req.deny == (P2,) and req.allow == ()
    allowed = load_stack_config({"providers": {P1: {"clusterId": "prod", "devnet": True}, P3: {"allow": True}}})
    assert set(requirements_for(config.deployments[0], allowed.providers).allow) == {P1, P3}
    assert requirements_for(config.deployments[0]).require_gateway  # no linq:providers at all


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"kubeconfigSecret": "k"}, "needs clusterId"),
        ({"clusterId": "c", "kubeconfigSecret": "k", "devnet": True}, "at most one of kubeconfigSecret"),
        ({"deny": True, "allow": True}, "deny: true cannot be combined"),
        ({"clusterId": "c", "devnet": True, "deny": True}, "deny: true cannot be combined"),
    ],
)
def test_bad_provider_entries_name_the_fix(entry: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_stack_config({"providers": {P1: entry}})


def test_matching_skips_gatewayless_providers_unless_reached_directly() -> None:
    from linq.gateway.meta import GatewayInfo
    from linq.market.match import match
    from linq.market.models import ReasonCode, Requirements
    from tests.unit.test_market_match import addr
    from tests.unit.test_market_match import provider as record

    gw = GatewayInfo(url="https://gw.example", tls_spki_sha256="a" * 64)
    providers = [record(1), record(2).model_copy(update={"gateway": gw}), record(3)]
    result = match(providers, Requirements(cpu_millis=100, require_gateway=True, direct=(addr(3),)))
    assert {c.provider for c in result.candidates} == {addr(2), addr(3)}
    assert [(r.provider, r.codes) for r in result.rejected] == [(addr(1), (ReasonCode.NO_GATEWAY,))]
