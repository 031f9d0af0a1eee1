"""The manifests of a stack's deployments: what `pulumi up` applies and `linq render --stack` shows.

Pure functions from the `linq:*` stack config (linq.stackconfig) to Kubernetes manifests: the catalog's
render (the same one `linq render` uses), then the stack's lifecycle fields and patches. The Pulumi
component (components/app_deployment.py) applies exactly these; the only differences are that secret values
are Pulumi secrets there and masked in the review, and that `up` marks the objects it need not wait for
(`for_pulumi`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from linq.catalog import DeploymentSpec, RenderOptions, apply_patches, load_catalog, parse_patches, render
from linq.catalog.admission import stack_problems
from linq.catalog.names import ANNOTATION_ENDPOINT, namespace_for, workload_name
from linq.stackconfig import ConfigError, DeploymentConfig, ProviderAccess, load_stack_values

# What a change of these stack fields does to the workload's pod template (restart/redeploy are rollouts).
ANNOTATION_RESTARTED_AT = "linq.network/restarted-at"
ANNOTATION_REDEPLOY = "linq.network/redeploy"

GENERATED_PLACEHOLDER = "generated-at-deploy-time"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "VirtualMachine")
# Objects that shape isolation: through a gateway the provider applies them (linq.gateway.bundle, from the
# escrow's on-chain terms) and the requestor's credential may not touch them; with direct access `up` does.
PROVIDER_KINDS = ("Namespace", "ResourceQuota", "LimitRange", "NetworkPolicy", "Role", "RoleBinding")

# pulumi-kubernetes waits for every object to be "ready" before it reports the step done. Only the workload's
# readiness means anything for an app (a Service is "ready" when its endpoints are, i.e. when the workload's pods
# are: ~10 s of polling for what the workload's own await already proves). The Namespace stays awaited so that
# `destroy` returns only once it, and everything in it, is gone.
SKIP_AWAIT = "pulumi.com/skipAwait"
# `up` waits at most this long for the workload to be ready, then fails with the pods' state (stacks/README.md
# "How long up waits"); pulumi-kubernetes reads the annotation.
READY_TIMEOUT = "pulumi.com/timeoutSeconds"
READY_TIMEOUT_SECONDS = 600
AWAITED_KINDS = (*WORKLOAD_KINDS, "Namespace")


@dataclass(frozen=True)
class RenderedApp:
    """The reviewed manifests plus where the secret values go."""

    manifests: list[dict[str, Any]]
    namespace: str
    workload: str
    workload_kind: str
    endpoint: str  # "<kind>:<port name>:<port>" from the render, or ""


def deployment_spec(
    config: DeploymentConfig, secret_values: dict[str, str] | None = None, generated: dict[str, str] | None = None
) -> DeploymentSpec:
    """The catalog's DeploymentSpec of a stack deployment: every workload field as declared, the secret values."""
    return DeploymentSpec.model_validate(
        {**config.workload_fields(), "name": config.name, "secrets": secret_values or {}, "generated": generated or {}}
    )


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
    manifests = apply_lifecycle(manifests, config)
    if config.patches:
        patched = apply_patches(
            manifests, parse_patches(yaml.safe_dump(config.patches), source=f"{config.name}.patches")
        )
        problems = stack_problems(manifests, patched)
        if problems:
            raise ConfigError(
                f"linq:deployments.{config.name}.patches: the patched manifests would be refused by the provider "
                "(nothing was funded):\n  " + "\n  ".join(problems)
            )
        manifests = patched
    workload = next(m for m in manifests if m["kind"] in WORKLOAD_KINDS)
    return RenderedApp(
        manifests=manifests,
        namespace=namespace_for(config.name),
        workload=workload_name(config.name),
        workload_kind=workload["kind"],
        endpoint=workload["metadata"].get("annotations", {}).get(ANNOTATION_ENDPOINT, ""),
    )


def apply_lifecycle(manifests: list[dict[str, Any]], config: DeploymentConfig) -> list[dict[str, Any]]:
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


def split_by_owner(manifests: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(what the provider's gateway applies, what the requestor applies) when the deployment goes through a
    gateway: the isolation objects are the provider's, the namespaced workload objects the requestor's."""
    provider = [m for m in manifests if m["kind"] in PROVIDER_KINDS]
    return provider, [m for m in manifests if m["kind"] not in PROVIDER_KINDS]


def tenant_objects(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The requestor's objects for a lease: without a namespace (they land in the lease namespace, the cluster
    provider's default, named from the escrow id by the gateway). VMs need KubeVirt rights tenants lack."""
    if any(m["kind"] == "VirtualMachine" for m in manifests):
        raise ConfigError(
            "a VM deployment cannot go through a provider gateway yet (tenants get no KubeVirt "
            "rights); give the provider direct access under linq:providers"
        )
    objects = copy.deepcopy(split_by_owner(manifests)[1])
    for manifest in objects:
        manifest["metadata"].pop("namespace", None)
    return objects


def owner_summary(manifests: list[dict[str, Any]]) -> str:
    """One comment line per owner, for the review (`linq render`)."""
    provider, requestor = split_by_owner(manifests)

    def names(objs: list[dict[str, Any]]) -> str:
        return ", ".join(f"{m['kind']}/{m['metadata']['name']}" for m in objs) or "nothing"

    return (
        f"# applied by the provider (through its gateway: its own bundle sized from the escrow on chain, in place "
        f"of these): {names(provider)}\n"
        f"# applied by the requestor (into the lease namespace): {names(requestor)}\n"
        "# with direct access (a kubeconfig under linq:providers) the requestor applies them all\n"
    )


def for_pulumi(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest as `up` applies it: the workload is awaited for at most READY_TIMEOUT_SECONDS; objects
    other than the workload and the Namespace are not awaited."""
    if manifest["kind"] == "Namespace":
        return manifest
    added = {READY_TIMEOUT: str(READY_TIMEOUT_SECONDS)} if manifest["kind"] in AWAITED_KINDS else {SKIP_AWAIT: "true"}
    metadata = dict(manifest["metadata"])
    metadata["annotations"] = {**metadata.get("annotations", {}), **added}
    return {**manifest, "metadata": metadata}


def endpoint_url(rendered: RenderedApp, access: ProviderAccess | None, namespace: str | None = None) -> str:
    if not rendered.endpoint:
        return ""
    ns = namespace or rendered.namespace
    kind, _port_name, port = rendered.endpoint.split(":")
    if access is not None and access.public_domain and kind == "http":
        return f"https://{rendered.workload}-{ns}.{access.public_domain}"
    scheme = "http" if kind == "http" else kind
    return f"{scheme}://{rendered.workload}.{ns}.svc.cluster.local:{port}"


def secret_values_for(deployment: DeploymentConfig, lookup: Callable[[str, str], str]) -> dict[str, str]:
    """env name -> plaintext of the secret config key it names; `lookup(key, field)` raises if unset."""
    return {
        env_name: lookup(key, f"linq:deployments.{deployment.name}.secrets.{env_name}")
        for env_name, key in deployment.secrets.items()
    }


def missing_secret(key: str, field: str) -> ConfigError:
    return ConfigError(
        f"{field}: secret config key linq:{key} is not set; run `pulumi config set --secret linq:{key} <value>`"
    )


def review(values: dict[str, Any], only: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """What `up` applies for each deployment of a stack whose decrypted config is `values` ("linq:key" ->
    value): the same render, lifecycle fields and patches (`linq render --stack`). `up` adds only the escrow
    id and provider annotations on the Namespace, which exist once the escrow does."""
    config = load_stack_values(values)  # exactly the program's validation (components/stack_program.read_config)
    names = [d.name for d in config.deployments]
    if only is not None and only not in names:
        raise ConfigError(
            f"--deployment {only!r}: the stack has no such deployment; it has {', '.join(names) or 'none'}"
        )

    def lookup(key: str, field: str) -> str:
        if values.get(f"linq:{key}") is None:
            raise missing_secret(key, field)
        return str(values[f"linq:{key}"])

    return {
        d.name: render_app(d, secret_values_for(d, lookup)).manifests
        for d in config.deployments
        if only in (None, d.name)
    }
