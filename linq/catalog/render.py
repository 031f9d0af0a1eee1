"""render(): a DeploymentSpec -> the plain Kubernetes manifests of one tenant namespace.

A pure function of its inputs (spec, catalog files, options): no clock, no randomness, no I/O beyond
reading the catalog, so the same input gives byte-identical YAML and a review of it means something.
Objects come in apply order: namespace and its guards first, then config, then the workload."""

from __future__ import annotations

import hashlib
import json
import re

from linq.catalog import isolation, workload
from linq.catalog.catalog import Catalog, load_catalog
from linq.catalog.errors import InvalidSpec
from linq.catalog.imageref import parse_image
from linq.catalog.isolation import Manifest
from linq.catalog.names import (
    ANNOTATION_ENDPOINT,
    ANNOTATION_NAME,
    ANNOTATION_RESOURCES,
    ANNOTATION_SPEC_HASH,
    LABEL_DEPLOYMENT,
    LABEL_KIND,
    LABEL_PLAN,
    LABEL_TEMPLATE,
    LABEL_TENANT_NAMESPACE,
    MANAGED_BY,
    namespace_for,
    workload_name,
)
from linq.catalog.plans import Resources
from linq.catalog.resolve import Workload, resolve_custom, resolve_size, resolve_template
from linq.catalog.spec import DeploymentSpec, RenderOptions
from linq.catalog.vm import SSH_PORT, data_claim, virtual_machine

_LABEL_VALUE = re.compile(r"[^-A-Za-z0-9_.]+")


def label_value(text: str) -> str:
    return _LABEL_VALUE.sub("-", text)[:63].strip("-_.")


def spec_hash(spec: DeploymentSpec, options: RenderOptions) -> str:
    """A digest of what was asked, without secret values (only their names), so a change is visible
    on the objects without leaking anything."""
    public = spec.model_dump(mode="json", by_alias=True, exclude={"secrets", "generated"})
    public["secretNames"] = sorted(spec.secrets)
    public["generatedNames"] = sorted(spec.generated)
    canonical = json.dumps({"spec": public, "options": options.model_dump(mode="json")}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _labels(spec: DeploymentSpec, name: str, app: str, plan: str, version: str | None) -> dict[str, str]:
    labels = {
        "app.kubernetes.io/name": app,
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    if version:
        labels["app.kubernetes.io/version"] = label_value(version)
    labels[LABEL_DEPLOYMENT] = name
    labels[LABEL_KIND] = spec.kind
    if spec.template:
        labels[LABEL_TEMPLATE] = spec.template
    labels[LABEL_PLAN] = label_value(plan)
    return labels


def render(
    spec: DeploymentSpec, catalog: Catalog | None = None, options: RenderOptions | None = None
) -> list[Manifest]:
    """All manifests of the deployment; raises a CatalogError subclass for any user mistake."""
    catalog = catalog or load_catalog()
    options = options or RenderOptions()
    if spec.kind == "vm":
        return _render_vm(spec, catalog, options)
    w = resolve_template(spec, catalog) if spec.kind == "template" else resolve_custom(spec, catalog)
    return _render_container(spec, w, options)


def _common(
    spec: DeploymentSpec,
    app: str,
    plan: str,
    version: str | None,
    endpoint: str,
    resources: str,
    options: RenderOptions,
) -> tuple[str, str, dict[str, str], dict[str, str], dict[str, str]]:
    ns, name = namespace_for(spec.name), workload_name(spec.name)
    labels = _labels(spec, name, app, plan, version)
    selector = {LABEL_DEPLOYMENT: name}
    annotations = {
        ANNOTATION_NAME: spec.name,
        ANNOTATION_ENDPOINT: endpoint,
        ANNOTATION_RESOURCES: resources,
        ANNOTATION_SPEC_HASH: spec_hash(spec, options),
    }
    return ns, name, labels, selector, annotations


def _bundle(
    ns: str,
    name: str,
    labels: dict[str, str],
    selector: dict[str, str],
    annotations: dict[str, str],
    w_size: Resources,
    pvcs: int,
    storage: int,
    public: list[tuple[str, str]],
    options: RenderOptions,
) -> list[Manifest]:
    ns_labels = {**labels, LABEL_TENANT_NAMESPACE: "true"}
    return [
        isolation.namespace(ns, ns_labels, annotations, options),
        isolation.service_account(name, ns, labels),
        isolation.resource_quota(ns, labels, w_size, pvcs, storage, options),
        isolation.limit_range(ns, labels, w_size, storage),
        *isolation.network_policies(ns, labels, selector, public, options),
    ]


def _render_container(spec: DeploymentSpec, w: Workload, options: RenderOptions) -> list[Manifest]:
    port = next(p for p in w.ports if p.name == w.endpoint.port)
    ns, name, labels, selector, annotations = _common(
        spec,
        w.app,
        w.plan_name,
        w.version,
        f"{w.endpoint.kind}:{port.name}:{port.container_port}",
        w.resources.describe(),
        options,
    )
    storage = sum(v.size_gib for v in w.volumes)
    out = _bundle(
        ns,
        name,
        labels,
        selector,
        annotations,
        w.resources,
        len(w.volumes),
        storage,
        [(port.name, port.protocol)],
        options,
    )
    if w.secret_data:
        out.append(workload.secret(workload.secret_name(name), ns, labels, w.secret_data))
    if w.config_files:
        out.append(workload.config_map(workload.files_name(name), ns, labels, w))
    out.append(
        workload.service(
            name, ns, labels, selector, annotations, [(p.name, p.container_port, p.protocol) for p in w.ports]
        )
    )
    out.append(workload.workload(name, ns, labels, selector, annotations, w, options))
    return out


def _render_vm(spec: DeploymentSpec, catalog: Catalog, options: RenderOptions) -> list[Manifest]:
    assert spec.vm is not None
    parse_image(spec.vm.image, field="vm.image")
    if spec.env or spec.secrets or spec.generated:
        raise InvalidSpec(
            "env",
            sorted({*spec.env, *spec.secrets}),
            "a VM takes no environment or secrets",
            "configure the VM over SSH, or deploy a container instead",
        )
    plan, size = resolve_size(spec, catalog)
    ns, name, labels, selector, annotations = _common(
        spec, "vm", plan, None, f"tcp:ssh:{SSH_PORT}", size.describe(), options
    )
    out = _bundle(
        ns,
        name,
        labels,
        selector,
        annotations,
        size,
        1 if size.storage_gib else 0,
        size.storage_gib,
        [("ssh", "TCP")],
        options,
    )
    if size.storage_gib:
        out.append(data_claim(name, ns, labels, size.storage_gib, options))
    out.append(workload.service(name, ns, labels, selector, annotations, [("ssh", SSH_PORT, "TCP")]))
    out.append(virtual_machine(name, ns, labels, annotations, spec.vm, size, options))
    return out
