"""ProviderCluster: installs the LPStack on a provider's Kubernetes cluster and (optionally) registers the
provider on chain. The objects are exactly what `linq lpstack render` prints.

Apply order: our CRDs for the custom kinds (unless the cluster already has them), then cluster-scoped
objects and namespaces, then what lives in the namespaces, then workloads and custom resources; each stage
depends on the one before, because the Kubernetes provider does not order objects by itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from lpstack import LPStackConfig, crds, load_config, render
from lpstack.metadata import endpoints, metadata_hash
from lpstack.render import Manifest

COMPONENT_TYPE = "linq:index:ProviderCluster"

# Built-in kinds the LPStack emits, created as their typed resources (anything else is a CustomResource).
_TYPED: dict[tuple[str, str], Any] = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "Secret"): k8s.core.v1.Secret,
    ("v1", "Service"): k8s.core.v1.Service,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): k8s.rbac.v1.ClusterRole,
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): k8s.rbac.v1.ClusterRoleBinding,
    ("rbac.authorization.k8s.io/v1", "Role"): k8s.rbac.v1.Role,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): k8s.rbac.v1.RoleBinding,
    ("scheduling.k8s.io/v1", "PriorityClass"): k8s.scheduling.v1.PriorityClass,
    ("node.k8s.io/v1", "RuntimeClass"): k8s.node.v1.RuntimeClass,
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): k8s.apiextensions.v1.CustomResourceDefinition,
}
_CLUSTER_STAGE = {"Namespace", "PriorityClass", "RuntimeClass", "ClusterRole"}
_NAMESPACE_STAGE = {"ServiceAccount", "ClusterRoleBinding", "Role", "RoleBinding", "ConfigMap", "Secret"}


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def resource_name(component: str, obj: Manifest) -> str:
    meta = obj["metadata"]
    parts = [component, obj["kind"].lower(), meta.get("namespace", ""), meta["name"]]
    return "-".join(p for p in parts if p)


def stage_of(obj: Manifest) -> int:
    kind = obj["kind"]
    if kind == "CustomResourceDefinition":
        return 0
    if kind in _CLUSTER_STAGE:
        return 1
    if kind in _NAMESPACE_STAGE:
        return 2
    return 3


class ProviderCluster(pulumi.ComponentResource):
    """The LPStack on one cluster.

    Inputs: `config` (an LPStackConfig or its mapping); exactly one of `kubeconfig` (made a secret) or
    `k8s_provider`; `agent_private_key` (optional secret: creates the agent's key Secret, otherwise the
    provider creates it out of band); `registration` (optional keyword arguments for the on-chain
    ProviderRegistration, see `_create_registration`); `install_crds` (False when the cluster already
    has the HelmChart/PeerAuthentication/KubeVirt CRDs, e.g. k3s with the charts installed).

    Outputs: provider_address, endpoints, meta_hash, namespaces, object_count.
    """

    provider_address: pulumi.Output[str]
    endpoints: pulumi.Output[dict[str, str]]
    meta_hash: pulumi.Output[str]
    namespaces: pulumi.Output[list[str]]
    object_count: pulumi.Output[int]

    def __init__(
        self,
        name: str,
        config: LPStackConfig | Mapping[str, Any],
        *,
        kubeconfig: pulumi.Input[str] | None = None,
        k8s_provider: k8s.Provider | None = None,
        agent_private_key: pulumi.Input[str] | None = None,
        registration: Mapping[str, Any] | None = None,
        install_crds: bool = True,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        # Bad input fails here, at preview, with the field, value and fix.
        stack_config = config if isinstance(config, LPStackConfig) else load_config(dict(config), source=name)
        if (kubeconfig is None) == (k8s_provider is None):
            raise ValueError(
                f"ProviderCluster {name}: give exactly one of kubeconfig= (the cluster's kubeconfig, "
                "as a secret) or k8s_provider= (a pulumi_kubernetes.Provider)"
            )
        provider = k8s_provider
        if provider is None:
            assert kubeconfig is not None
            provider = k8s.Provider(
                f"{name}-k8s", kubeconfig=pulumi.Output.secret(kubeconfig), opts=pulumi.ResourceOptions(parent=self)
            )

        objects = (crds() if install_crds else []) + render(stack_config)
        if agent_private_key is not None:
            objects.append(self._agent_key_secret(stack_config))
        self.resources = self._apply(name, objects, provider, agent_private_key)

        self.registration = (
            self._create_registration(name, stack_config, registration) if registration is not None else None
        )

        self.provider_address = pulumi.Output.from_input(stack_config.provider_address)
        if self.registration is not None:
            # The wallet that signed the registration must be the one the cluster's agent acts for.
            self.provider_address = self.registration.provider.apply(  # type: ignore[attr-defined]
                lambda signer: _same_provider(name, stack_config.provider_address, signer)
            )
        self.endpoints = pulumi.Output.from_input(endpoints(stack_config))
        self.meta_hash = pulumi.Output.from_input(metadata_hash(stack_config))
        self.namespaces = pulumi.Output.from_input([o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"])
        self.object_count = pulumi.Output.from_input(len(objects))
        self.register_outputs(
            {
                "provider_address": self.provider_address,
                "endpoints": self.endpoints,
                "meta_hash": self.meta_hash,
                "namespaces": self.namespaces,
                "object_count": self.object_count,
            }
        )

    @staticmethod
    def _agent_key_secret(config: LPStackConfig) -> Manifest:
        ref = config.agent.key_secret
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": ref.name,
                "namespace": config.namespaces.system,
                "labels": {"app.kubernetes.io/part-of": "lpstack", "app.kubernetes.io/component": "agent"},
            },
            "type": "Opaque",
            "stringData": {ref.key: ""},  # the value is the agent_private_key secret, filled in at apply
        }

    def _apply(
        self, name: str, objects: list[Manifest], provider: k8s.Provider, agent_key: pulumi.Input[str] | None
    ) -> list[pulumi.CustomResource]:
        created: list[pulumi.CustomResource] = []
        previous: list[pulumi.Resource] = []
        for stage in range(4):
            current: list[pulumi.Resource] = []
            for obj in (o for o in objects if stage_of(o) == stage):
                opts = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=list(previous))
                resource = self._resource(resource_name(name, obj), obj, opts, agent_key)
                current.append(resource)
                created.append(resource)
            previous = current or previous
        return created

    @staticmethod
    def _resource(
        resource: str, obj: Manifest, opts: pulumi.ResourceOptions, agent_key: pulumi.Input[str] | None
    ) -> pulumi.CustomResource:
        cls = _TYPED.get((obj["apiVersion"], obj["kind"]))
        if cls is None:
            return k8s.apiextensions.CustomResource(
                resource,
                api_version=obj["apiVersion"],
                kind=obj["kind"],
                metadata=obj["metadata"],
                spec=obj.get("spec"),
                opts=opts,
            )
        kwargs = {_snake(k): v for k, v in obj.items() if k not in ("apiVersion", "kind")}
        if obj["kind"] == "Secret" and agent_key is not None:
            kwargs["string_data"] = {key: pulumi.Output.secret(agent_key) for key in obj["stringData"]}
            opts = pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(additional_secret_outputs=["data", "stringData"])
            )
        created: pulumi.CustomResource = cls(resource, opts=opts, **kwargs)
        return created

    def _create_registration(self, name: str, config: LPStackConfig, spec: Mapping[str, Any]) -> pulumi.CustomResource:
        """The on-chain record: a ProviderRegistration (components/registration.py) child, with `spec` as its
        arguments (cpu, memory, storage, price_cpu, price_memory, price_storage, gpu_classes) and this
        cluster's region and metadata hash unless `spec` sets them. The signer comes from the stack's
        linq:* config, as for every chain write."""
        from components.registration import ProviderRegistration

        arguments = {"region": config.region, "meta": metadata_hash(config), **spec}
        created: pulumi.CustomResource = ProviderRegistration(
            f"{name}-registration", **arguments, opts=pulumi.ResourceOptions(parent=self, depends_on=self.resources)
        )
        return created


def _same_provider(name: str, configured: str, signer: str | None) -> str:
    if signer is not None and signer.lower() != configured.lower():
        raise ValueError(
            f"ProviderCluster {name}: provider_address is {configured} but the registration was signed by {signer}; "
            "set provider_address to the signer's address or sign with the provider's key (linq:signerKey)"
        )
    return configured
