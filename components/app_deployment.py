"""AppDeployment: one app on one provider's cluster, in its own isolated tenant namespace, paid by an escrow.

The manifests are exactly what `linq render --stack` prints for review (linq.stackrender.render_app); the
only difference is that secret values are Pulumi secrets here and masked there. Through a provider's gateway
(the default: no access entry needed) the gateway applies the namespace and its isolation bundle and this
component only the namespaced workload objects, with the lease credential (components/lease.py); with direct
access (a kubeconfig under `linq:providers`) it applies all of them with the stack's credentials.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.escrow import Escrow
from components.generated_secrets import GeneratedSecrets
from components.lease import LeaseAccess
from linq.catalog import RenderOptions, load_catalog
from linq.catalog.names import ANNOTATION_ESCROW_ID, ANNOTATION_PROVIDER
from linq.placement import Placement, size_of
from linq.stackconfig import DeploymentConfig, ProviderAccess
from linq.stackrender import GENERATED_PLACEHOLDER, endpoint_url, for_pulumi, render_app, tenant_objects


def _pick(key: str):
    def pick(values: dict[str, str]) -> str:
        return values[key]

    return pick


class AppDeployment(pulumi.ComponentResource):
    """One deployment: its escrow (funded on chain), and its workload in an isolated tenant namespace on the
    provider's cluster. Outputs: namespace, endpoint, state (Running / Stopped), provider, escrow figures.

    `state: stopped` stops paying: the workload scales to zero and the escrow is settled early (the provider
    keeps what it earned, the rest is refunded); `running` again funds a new escrow.
    """

    namespace: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    state: pulumi.Output[str]
    provider: pulumi.Output[str]
    escrow: pulumi.Output[dict[str, Any]]

    def __init__(
        self,
        name: str,
        config: DeploymentConfig,
        *,
        placement: Placement,
        providers: dict[str, ProviderAccess],
        cluster_for: Any,  # (address Output, access Output) -> k8s.Provider
        secret_values: dict[str, str],
        render_options: RenderOptions | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("linq:index:AppDeployment", name, None, opts)
        rendered = render_app(config, secret_values, render_options)
        child = pulumi.ResourceOptions(parent=self)

        escrow = None if config.state == "stopped" else self._escrow(name, config, placement)
        # A matched escrow keeps its provider (ignore_changes), so the cluster follows the escrow, not a re-match.
        provider: pulumi.Output[str] = (
            escrow.terms.apply(lambda t: str(t["provider"]).lower())
            if escrow is not None
            else pulumi.Output.from_input(placement.provider)
        )

        generated_rules = load_catalog().get(config.template).generated_secrets if config.template else []
        generated = GeneratedSecrets(f"{name}-generated", generated_rules, opts=child) if generated_rules else None
        direct = placement.provider in providers and providers[placement.provider].direct
        if direct:  # this stack's own credentials: it applies the isolation objects too, as rendered
            access: pulumi.Output[ProviderAccess | None] = provider.apply(lambda a: _direct(providers, a))
            cluster = cluster_for(provider, access)
            manifests, namespace = rendered.manifests, pulumi.Output.from_input(rendered.namespace)
        elif escrow is not None:  # through the provider's gateway: it applies the bundle, we the workload objects
            lease = LeaseAccess(f"{name}-lease", escrow_id=escrow.escrow_id, provider=provider, opts=child)
            access = provider.apply(lambda a: providers.get(a.lower()))
            cluster, manifests, namespace = lease.k8s_provider, tenant_objects(rendered.manifests), lease.namespace
        else:  # stopped through a gateway: the escrow is settled, the provider reclaims the namespace
            access, cluster, manifests = pulumi.Output.from_input(None), None, []
            namespace = pulumi.Output.from_input("")
        objects = [self._with_secret_outputs(m, secret_values, generated) for m in manifests]
        objects = [self._with_escrow_annotations(for_pulumi(m), escrow, provider) for m in objects]

        group = k8s.yaml.v2.ConfigGroup(
            f"{name}-app", objs=objects, opts=pulumi.ResourceOptions(parent=self, provider=cluster)
        )
        self.namespace = namespace
        self.provider = provider
        self.endpoint = pulumi.Output.all(group.resources, access, namespace).apply(
            lambda args: endpoint_url(rendered, args[1], args[2]) if args[2] else ""
        )
        # The workload keeps the provider's await (ready replicas, rollout complete), so `Running` resolves only
        # once it runs; the other objects are not awaited (linq.stackrender.for_pulumi).
        self.state = group.resources.apply(lambda _: "Stopped" if config.state == "stopped" else "Running")
        self.escrow = (
            pulumi.Output.all(
                escrow.escrow_id,
                escrow.status,
                escrow.deposited,
                escrow.earned,
                escrow.withdrawn,
                escrow.remaining,
                escrow.end,
                escrow.runway,
                escrow.rate_per_hour,
            ).apply(lambda v: dict(zip(ESCROW_FIELDS, v, strict=True)))
            if escrow is not None
            else pulumi.Output.from_input({})
        )
        # None of these is a secret, but each waits on (or is computed next to) a value that is: the app's Secret
        # objects make `group.resources` secret, and Pulumi marks whatever is derived from a secret as secret, so
        # `state` and `endpoint` would print as [secret]. They are computed from the config, the escrow and the
        # namespace, never from a secret's value, so they are unmarked here; the Secret objects stay secret.
        self.namespace = pulumi.Output.unsecret(self.namespace)
        self.endpoint = pulumi.Output.unsecret(self.endpoint)
        self.state = pulumi.Output.unsecret(self.state)
        self.provider = pulumi.Output.unsecret(self.provider)
        self.escrow = pulumi.Output.unsecret(self.escrow)
        self.register_outputs(
            {
                "namespace": self.namespace,
                "endpoint": self.endpoint,
                "state": self.state,
                "provider": self.provider,
                "escrow": self.escrow,
            }
        )

    def _escrow(self, name: str, config: DeploymentConfig, placement: Placement) -> Escrow:
        size = size_of(config)
        resources = {
            "cpu_millis": size.cpu_millis,
            "memory_mib": size.memory_mib,
            "storage_gib": size.reserved_storage_gib,
            "gpu_class": placement.gpu_class_id if size.gpu_count else 0,
            "gpu_count": size.gpu_count,
        }
        return Escrow(
            f"{name}-escrow",
            provider=placement.provider,
            resources=resources,
            duration=config.duration,
            # wei as text with its unit: Pulumi numbers are doubles and would round them
            deposit=None if config.deposit is None else f"{config.deposit} wei",
            max_rate_per_hour=None if config.max_price_per_hour is None else f"{config.max_price_per_hour} wei/h",
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=None if placement.pinned else ["provider"]),
        )

    @staticmethod
    def _with_escrow_annotations(
        manifest: dict[str, Any], escrow: Escrow | None, provider: pulumi.Output[str]
    ) -> dict[str, Any]:
        if manifest["kind"] != "Namespace" or escrow is None:
            return manifest
        metadata = dict(manifest["metadata"])
        metadata["annotations"] = {
            **metadata.get("annotations", {}),
            ANNOTATION_ESCROW_ID: escrow.escrow_id,
            ANNOTATION_PROVIDER: provider,
        }
        return {**manifest, "metadata": metadata}

    @staticmethod
    def _with_secret_outputs(
        manifest: dict[str, Any], secret_values: dict[str, str], generated: GeneratedSecrets | None
    ) -> dict[str, Any]:
        """The Secret object's values as Pulumi secrets: user secrets from secret config, generated ones
        from the encrypted state of GeneratedSecrets. Plain text never reaches outputs or logs."""
        if manifest["kind"] != "Secret":
            return manifest
        data: dict[str, Any] = {}
        for key, value in manifest.get("stringData", {}).items():
            if value == GENERATED_PLACEHOLDER and generated is not None:
                data[key] = generated.values.apply(_pick(key))
            else:
                data[key] = pulumi.Output.secret(secret_values.get(key, value))
        return {**manifest, "stringData": data}


def _direct(providers: dict[str, ProviderAccess], address: str) -> ProviderAccess:
    access = providers.get(address.lower())
    if access is None or not access.direct:
        raise ValueError(
            f"the escrow is with {address}, which this stack reaches through its gateway, but the "
            "deployment was placed on a provider with direct access; pin linq:deployments[].provider"
        )
    return access


ESCROW_FIELDS = ("id", "status", "deposited", "earned", "withdrawn", "remaining", "end", "runway", "ratePerHour")
