"""AppDeployment: one app on one provider's cluster, in its own isolated tenant namespace, paid by an escrow.

The manifests are exactly what `linq render` prints for review (same render function, same patches); the
only difference is that secret values are Pulumi secrets here and masked there. Children are applied
through the provider's own `pulumi_kubernetes.Provider`, so each provider's cluster is reached with that
provider's credentials.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.escrow import Escrow
from components.generated_secrets import GeneratedSecrets
from linq.catalog import DeploymentSpec, RenderOptions, apply_patches, load_catalog, parse_patches, render
from linq.catalog.names import (
    ANNOTATION_ENDPOINT,
    ANNOTATION_ESCROW_ID,
    ANNOTATION_PROVIDER,
    namespace_for,
    workload_name,
)
from linq.placement import Placement, size_of
from linq.stackconfig import DeploymentConfig, ProviderAccess

# What a change of these stack fields does to the workload's pod template (restart/redeploy are rollouts).
ANNOTATION_RESTARTED_AT = "linq.network/restarted-at"
ANNOTATION_REDEPLOY = "linq.network/redeploy"

GENERATED_PLACEHOLDER = "generated-at-deploy-time"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "VirtualMachine")


@dataclass(frozen=True)
class RenderedApp:
    """The reviewed manifests plus where the secret values go."""

    manifests: list[dict[str, Any]]
    namespace: str
    workload: str
    workload_kind: str
    endpoint: str  # "<kind>:<port name>:<port>" from the render, or ""


def deployment_spec(
    config: DeploymentConfig, secret_values: dict[str, str], generated: dict[str, str]
) -> DeploymentSpec:
    fields: dict[str, Any] = {
        "name": config.name, "template": config.template, "image": config.image, "vm": config.vm,
        "plan": config.plan, "resources": config.resources, "env": config.env,
        "secrets": secret_values, "generated": generated,
    }  # fmt: skip
    if config.image:
        fields.update(ports=config.ports, endpoint=config.endpoint, command=config.command, args=config.args)
    return DeploymentSpec.model_validate({k: v for k, v in fields.items() if v is not None})


def render_app(
    config: DeploymentConfig,
    secret_values: dict[str, str],
    options: RenderOptions | None = None,
) -> RenderedApp:
    """Render the app as `linq render` does, then apply the stack's lifecycle fields and patches.

    Generated secrets are placeholders here: their real values exist only in the stack's encrypted state.
    """
    catalog = load_catalog()
    generated: dict[str, str] = {}
    if config.template:
        template = catalog.get(config.template)
        generated = {rule.name: GENERATED_PLACEHOLDER for rule in template.generated_secrets}
    manifests = render(deployment_spec(config, secret_values, generated), catalog, options)
    manifests = _apply_lifecycle(manifests, config)
    if config.patches:
        manifests = apply_patches(manifests, parse_patches(_yaml_list(config.patches), source=f"{config.name}.patches"))
    workload = next(m for m in manifests if m["kind"] in WORKLOAD_KINDS)
    return RenderedApp(
        manifests=manifests,
        namespace=namespace_for(config.name),
        workload=workload_name(config.name),
        workload_kind=workload["kind"],
        endpoint=workload["metadata"].get("annotations", {}).get(ANNOTATION_ENDPOINT, ""),
    )


def _yaml_list(patches: list[dict[str, Any]]) -> str:
    import yaml

    return yaml.safe_dump(patches)


def _apply_lifecycle(manifests: list[dict[str, Any]], config: DeploymentConfig) -> list[dict[str, Any]]:
    """stopped -> zero replicas (the escrow keeps running until stopped on chain); restartedAt and redeploy
    -> pod-template annotations, so changing either rolls the pods."""
    result = copy.deepcopy(manifests)
    for manifest in result:
        if manifest["kind"] not in ("Deployment", "StatefulSet"):
            continue
        if config.state == "stopped":
            manifest["spec"]["replicas"] = 0
        annotations = manifest["spec"]["template"]["metadata"].setdefault("annotations", {})
        if config.restarted_at:
            annotations[ANNOTATION_RESTARTED_AT] = config.restarted_at
        if config.redeploy:
            annotations[ANNOTATION_REDEPLOY] = config.redeploy
    return result


def endpoint_url(rendered: RenderedApp, access: ProviderAccess) -> str:
    if not rendered.endpoint:
        return ""
    kind, _port_name, port = rendered.endpoint.split(":")
    if access.public_domain and kind == "http":
        return f"https://{rendered.workload}-{rendered.namespace}.{access.public_domain}"
    scheme = "http" if kind == "http" else kind
    return f"{scheme}://{rendered.workload}.{rendered.namespace}.svc.cluster.local:{port}"


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
            escrow.terms.apply(lambda t: str(t["provider"]).lower()) if escrow is not None
            else pulumi.Output.from_input(placement.provider)
        )  # fmt: skip
        access = provider.apply(lambda address: providers[address.lower()])
        cluster = cluster_for(provider, access)

        generated_rules = load_catalog().get(config.template).generated_secrets if config.template else []
        generated = GeneratedSecrets(f"{name}-generated", generated_rules, opts=child) if generated_rules else None
        objects = [self._with_secret_outputs(m, secret_values, generated) for m in rendered.manifests]
        objects = [self._with_escrow_annotations(m, escrow, provider) for m in objects]

        group = k8s.yaml.v2.ConfigGroup(f"{name}-app", objs=objects,
                                        opts=pulumi.ResourceOptions(parent=self, provider=cluster))  # fmt: skip
        self.namespace = pulumi.Output.from_input(rendered.namespace)
        self.provider = provider
        self.endpoint = pulumi.Output.all(group.resources, access).apply(lambda args: endpoint_url(rendered, args[1]))
        self.state = group.resources.apply(lambda _: "Stopped" if config.state == "stopped" else "Running")
        self.escrow = (
            pulumi.Output.all(
                escrow.escrow_id, escrow.status, escrow.deposited, escrow.earned, escrow.withdrawn,
                escrow.remaining, escrow.end, escrow.runway, escrow.rate_per_hour,
            ).apply(lambda v: dict(zip(ESCROW_FIELDS, v, strict=True)))
            if escrow is not None else pulumi.Output.from_input({})
        )  # fmt: skip
        self.register_outputs({"namespace": self.namespace, "endpoint": self.endpoint, "state": self.state,
                               "provider": self.provider, "escrow": self.escrow})  # fmt: skip

    def _escrow(self, name: str, config: DeploymentConfig, placement: Placement) -> Escrow:
        size = size_of(config)
        resources = {
            "cpu_millis": size.cpu_millis, "memory_mib": size.memory_mib, "storage_gib": size.reserved_storage_gib,
            "gpu_class": placement.gpu_class_id if size.gpu_count else 0, "gpu_count": size.gpu_count,
        }  # fmt: skip
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
        metadata["annotations"] = {**metadata.get("annotations", {}), ANNOTATION_ESCROW_ID: escrow.escrow_id,
                                   ANNOTATION_PROVIDER: provider}  # fmt: skip
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


ESCROW_FIELDS = ("id", "status", "deposited", "earned", "withdrawn", "remaining", "end", "runway", "ratePerHour")
