"""Rendering: every template at its minimum plan gives valid, isolated, deterministic manifests."""

from __future__ import annotations

import ipaddress
import re
import subprocess
import sys

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linq.catalog import DeploymentSpec, RenderOptions, VmSpec, load_catalog, namespace_for, render, to_yaml
from linq.catalog.vm import VM_SCHEMA
from tests.unit.catalog_helpers import by_kind, example_spec, one, validate_manifest

CATALOG = load_catalog()
PLANS = CATALOG.plans
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl dev@example"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _quantity_mi(text: str) -> int:
    return int(text.removesuffix("Mi"))


@pytest.mark.parametrize("template", list(CATALOG), ids=lambda t: t.id)
def test_every_template_renders_valid_manifests_at_its_minimum_plan(template) -> None:
    manifests = render(example_spec(template))
    for manifest in manifests:
        validate_manifest(manifest)
    plan = PLANS.get(template.min_plan)
    workload = one(manifests, template.workload)
    pod = workload["spec"]["template"]["spec"]
    container = pod["containers"][0]
    # The tenant gets exactly its plan: requests == limits == plan, quota == plan.
    assert container["resources"]["requests"] == container["resources"]["limits"]
    assert container["resources"]["limits"]["cpu"] == f"{plan.cpu_millis}m"
    assert _quantity_mi(container["resources"]["limits"]["memory"]) == plan.memory_mib
    quota = one(manifests, "ResourceQuota")["spec"]["hard"]
    assert quota["limits.cpu"] == f"{plan.cpu_millis}m" and quota["limits.memory"] == f"{plan.memory_mib}Mi"
    # Hardening on every workload.
    assert pod["automountServiceAccountToken"] is False and pod["enableServiceLinks"] is False
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "startupProbe" in container and "livenessProbe" in container
    # Volumes take the plan's storage; the quota allows exactly them.
    if template.volumes:
        claims = workload["spec"]["volumeClaimTemplates"]
        total = sum(int(c["spec"]["resources"]["requests"]["storage"].removesuffix("Gi")) for c in claims)
        assert total == plan.storage_gib == int(quota["requests.storage"].removesuffix("Gi"))
        assert quota["persistentvolumeclaims"] == str(len(claims))
    # Secrets only through the Secret, never inline.
    secret_names = {s.name for s in template.secrets} | {g.name for g in template.generated_secrets}
    for env in container.get("env", []):
        if env["name"] in secret_names:
            assert "valueFrom" in env and "value" not in env


def test_isolation_bundle() -> None:
    spec = example_spec(CATALOG.get("open-webui"), name="Team Chat", plan="standard")
    options = RenderOptions(ingress_namespace="edge", extra_denied_cidrs=["10.96.0.0/12", "fd00:10::/64"])
    manifests = render(spec, options=options)
    kinds = [m["kind"] for m in manifests]
    assert kinds[:4] == ["Namespace", "ServiceAccount", "ResourceQuota", "LimitRange"]
    ns = one(manifests, "Namespace")
    name = ns["metadata"]["name"]
    assert all(m["metadata"].get("namespace", name) == name for m in manifests)
    labels = ns["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["pod-security.kubernetes.io/warn"] == labels["pod-security.kubernetes.io/audit"] == "restricted"
    assert labels["pod-security.kubernetes.io/enforce-version"] == "v1.33"
    assert labels["linq.network/deployment"] == "team-chat"
    quota = one(manifests, "ResourceQuota")["spec"]["hard"]
    assert quota["services.nodeports"] == "0" and quota["services.loadbalancers"] == "0"
    assert quota["requests.nvidia.com/gpu"] == "0"
    assert one(manifests, "ServiceAccount")["automountServiceAccountToken"] is False
    policies = {p["metadata"]["name"]: p["spec"] for p in by_kind(manifests, "NetworkPolicy")}
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    dns = policies["allow-dns"]["egress"][0]
    assert dns["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "kube-system"}
    assert {(p["protocol"], p["port"]) for p in dns["ports"]} == {("UDP", 53), ("TCP", 53)}
    ingress = policies["allow-ingress-endpoint"]["ingress"][0]
    assert ingress["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "edge"}
    assert ingress["ports"] == [{"protocol": "TCP", "port": "http"}]
    v4, v6 = policies["allow-internet-egress"]["egress"][0]["to"]
    denied = [ipaddress.ip_network(c) for c in v4["ipBlock"]["except"]]
    for private in ("10.1.2.3", "172.20.0.1", "192.168.1.1", "100.64.0.1", "169.254.169.254", "10.96.0.10"):
        assert any(ipaddress.ip_address(private) in net for net in denied), private
    assert not any(ipaddress.ip_address("1.1.1.1") in net for net in denied)
    assert "fd00:10::/64" in v6["ipBlock"]["except"] and "fe80::/10" in v6["ipBlock"]["except"]


def test_gpu_template_asks_for_gpus_and_lands_on_the_chosen_model() -> None:
    spec = example_spec(CATALOG.get("vllm"), plan="gpu-large", gpu_model="nvidia-a100")
    manifests = render(spec)
    pod = one(manifests, "StatefulSet")["spec"]["template"]["spec"]
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert pod["nodeSelector"] == {"nvidia.com/gpu.product": "nvidia-a100"}
    assert pod["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert one(manifests, "ResourceQuota")["spec"]["hard"]["requests.nvidia.com/gpu"] == "4"


def test_custom_container_gets_the_same_isolation() -> None:
    spec = DeploymentSpec(
        name="api",
        image="ghcr.io/example/api:1.4.2",
        plan="basic",
        ports=[{"name": "http", "containerPort": 8000}, {"name": "metrics", "containerPort": 9100}],
        env={"LOG_LEVEL": "info"},
        secrets={"DATABASE_URL": "postgres://u:p@h/db"},
        volumes=[{"name": "data", "mountPath": "/var/lib/api", "sizeGiB": 2}],
    )
    manifests = render(spec, options=RenderOptions(runtime_class="gvisor"))
    for manifest in manifests:
        validate_manifest(manifest)
    workload = one(manifests, "StatefulSet")
    pod = workload["spec"]["template"]["spec"]
    assert pod["runtimeClassName"] == "gvisor"
    assert pod["containers"][0]["image"] == "ghcr.io/example/api:1.4.2"
    assert [p["containerPort"] for p in pod["containers"][0]["ports"]] == [8000, 9100]
    assert one(manifests, "Secret")["stringData"] == {"DATABASE_URL": "postgres://u:p@h/db"}
    assert len(by_kind(manifests, "NetworkPolicy")) == 5
    assert workload["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "25Gi"


def test_virtual_machine_with_ssh() -> None:
    spec = DeploymentSpec(
        name="dev box",
        plan="standard",
        vm=VmSpec(image="quay.io/containerdisks/ubuntu:24.04", ssh_public_keys=[SSH_KEY]),
    )
    manifests = render(spec)
    for manifest in manifests:
        validate_manifest(manifest)
    vm = one(manifests, "VirtualMachine")
    template = vm["spec"]["template"]["spec"]
    user_data = next(v for v in template["volumes"] if "cloudInitNoCloud" in v)["cloudInitNoCloud"]["userData"]
    assert SSH_KEY in user_data and "ssh_pwauth: false" in user_data
    requests = template["domain"]["resources"]["requests"]
    plan = PLANS.get("standard")
    # Guest + launcher overhead fits the quota, which is the plan.
    assert _quantity_mi(requests["memory"]) + RenderOptions().vm_overhead_mib == plan.memory_mib
    service = one(manifests, "Service")
    assert service["spec"]["ports"] == [{"name": "ssh", "port": 22, "targetPort": "ssh", "protocol": "TCP"}]
    assert one(manifests, "PersistentVolumeClaim")["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert service["spec"]["selector"].items() <= vm["spec"]["template"]["metadata"]["labels"].items()


def test_vm_schema_rejects_a_structure_kubevirt_would_not_take() -> None:
    spec = DeploymentSpec(name="box", vm=VmSpec(image="quay.io/containerdisks/fedora:41", ssh_public_keys=[SSH_KEY]))
    vm = one(render(spec), "VirtualMachine")
    vm["spec"]["template"]["spec"]["domain"]["devices"]["disks"][0]["disk"]["bus"] = "floppy"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(vm, VM_SCHEMA)
    vm["spec"]["running"] = True
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(vm, VM_SCHEMA)


def test_same_input_gives_byte_identical_yaml() -> None:
    template = CATALOG.get("erpnext")
    spec = example_spec(template, name="erp")
    first = to_yaml(render(spec))
    assert first == to_yaml(render(spec.model_copy(deep=True)))
    # … across processes too (no hash seeds, no set ordering, no clock).
    program = (
        "from linq.catalog import DeploymentSpec, render, to_yaml; import sys, json;"
        "print(to_yaml(render(DeploymentSpec.model_validate_json(sys.argv[1]))), end='')"
    )
    other = subprocess.run(
        [sys.executable, "-c", program, spec.model_dump_json(by_alias=True)],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345"},
    ).stdout
    assert other == first
    changed = to_yaml(render(spec.model_copy(update={"plan": "pro"})))
    assert changed != first


@given(st.text(min_size=1, max_size=100).filter(lambda s: s.strip()))
@settings(max_examples=200, deadline=None)
def test_namespace_names_are_dns_labels_and_deterministic(name: str) -> None:
    namespace = namespace_for(name)
    assert len(namespace) <= 63 and DNS_LABEL.match(namespace)
    assert namespace == namespace_for(name)
    assert namespace != namespace_for(name + "x")
