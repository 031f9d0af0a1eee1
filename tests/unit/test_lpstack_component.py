"""ProviderCluster under Pulumi's mocks: what it creates, in which stages, with which parents and secrets."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from lpstack import crds, render
from tests.unit.lpstack_helpers import full_config

CREATED: list[Any] = []


class _Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        CREATED.append(args)
        return args.name + "-id", args.inputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        return {}


pulumi.runtime.set_mocks(_Mocks(), preview=False)

from components.provider_cluster import ProviderCluster, resource_name, stage_of  # noqa: E402


def _resolve(output: pulumi.Output) -> Any:
    box: list[Any] = []
    output.apply(box.append)
    return box


@pulumi.runtime.test
def test_component_outputs_and_children() -> pulumi.Output:
    CREATED.clear()
    config = full_config()
    cluster = ProviderCluster("pc", config, kubeconfig="apiVersion: v1\nkind: Config\n", agent_private_key="0xkey")

    def check(values: list[Any]) -> None:
        address, endpoints, count = values
        assert address == config.provider_address
        assert endpoints["apps"] == "https://*.apps.example.com"
        expected = crds() + render(config)
        assert count == len(expected) + 1  # + the agent key Secret
        k8s = [a for a in CREATED if a.typ.startswith("kubernetes:") and a.typ != "pulumi:providers:kubernetes"]
        names = {a.name for a in k8s}
        for obj in expected:
            assert resource_name("pc", obj) in names
        secret = next(a for a in k8s if a.typ == "kubernetes:core/v1:Secret")
        # Sent to the engine as a secret (Pulumi's secret signature wraps the value).
        string_data = secret.inputs["stringData"]
        assert string_data["4dabf18193072939515e22adb298388d"] == "1b47061264138c4ac30d75fd1eb44270"
        assert string_data["value"] == {"private-key": "0xkey"}
        assert any(a.typ == "pulumi:providers:kubernetes" for a in CREATED)
        # CRs through the generic CustomResource with their real type tokens.
        assert {a.typ for a in k8s} >= {
            "kubernetes:helm.cattle.io/v1:HelmChart",
            "kubernetes:security.istio.io/v1:PeerAuthentication",
            "kubernetes:kubevirt.io/v1:KubeVirt",
        }

    urns = [r.urn for r in cluster.resources]  # resolved once every child is registered
    return pulumi.Output.all(cluster.provider_address, cluster.endpoints, cluster.object_count, *urns).apply(
        lambda values: check(values[:3])
    )


def test_stages_put_crds_first_and_workloads_last() -> None:
    objects = crds() + render(full_config())
    stages = {o["kind"]: stage_of(o) for o in objects}
    assert stages["CustomResourceDefinition"] == 0
    assert stages["Namespace"] == stages["ClusterRole"] == stages["PriorityClass"] == 1
    assert stages["ServiceAccount"] == stages["ConfigMap"] == stages["ClusterRoleBinding"] == 2
    assert stages["Deployment"] == stages["HelmChart"] == stages["PeerAuthentication"] == stages["KubeVirt"] == 3


def test_exactly_one_cluster_access_is_required() -> None:
    with pytest.raises(ValueError, match=r"exactly one of kubeconfig= .* or k8s_provider="):
        ProviderCluster("none", full_config())


def test_bad_config_fails_at_construction_with_field_and_fix() -> None:
    with pytest.raises(ValueError, match=r"bad: region: .*\(got ''\)"):
        ProviderCluster(
            "bad",
            {"cluster_name": "c", "provider_address": "0x" + "ab" * 20, "region": "", "public_domain": "a.example.com"},
            kubeconfig="x",
        )


@pulumi.runtime.test
def test_registration_is_a_child_with_this_clusters_region_and_meta_hash() -> pulumi.Output:
    from lpstack.metadata import metadata_hash

    CREATED.clear()
    config = full_config()
    spec = {
        "cpu": 16000,
        "memory": 65536,
        "storage": 500,
        "price_cpu": "1000",
        "price_memory": "10",
        "price_storage": "100",
    }
    cluster = ProviderCluster("reg", config, kubeconfig="x", registration=spec)
    assert cluster.registration is not None

    def check(_: Any) -> None:
        (registration,) = [
            a
            for a in CREATED
            if a.typ == "pulumi-python:dynamic:ProviderRegistration" or a.typ.endswith("ProviderRegistration")
        ]
        assert registration.inputs["region"] == "eu-west"
        assert registration.inputs["meta"] == metadata_hash(config)
        assert registration.inputs["cpu"] == 16000

    return cluster.registration.urn.apply(check)


def test_a_registration_signed_by_another_wallet_is_refused() -> None:
    from components.provider_cluster import _same_provider

    configured = full_config().provider_address
    assert _same_provider("pc", configured, configured.lower()) == configured
    with pytest.raises(
        ValueError,
        match=r"provider_address is 0x.* but the registration was signed by 0x1111.*"
        r"set provider_address to the signer's address",
    ):
        _same_provider("pc", configured, "0x" + "11" * 20)
