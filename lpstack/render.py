"""LPStackConfig -> the ordered Kubernetes objects a provider cluster runs, plus the API server's
PodSecurity AdmissionConfiguration file. Pure and deterministic: the same config gives the same bytes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml
from pydantic import ValidationError

from lpstack import charts
from lpstack.config import LPStackConfig, Size
from lpstack.errors import from_validation
from lpstack.metadata import prometheus_url
from lpstack.versions import Versions, load

Manifest = dict[str, Any]

PACKAGE_DIR = Path(__file__).parent
TEMPLATES = PACKAGE_DIR / "templates"
VALUES = PACKAGE_DIR / "values"

# Apply order: what others depend on first (namespaces before what lives in them, RBAC before the
# Deployment that uses it, CRs last). Objects of one kind keep the order they were rendered in.
KIND_ORDER = (
    "Namespace",
    "PriorityClass",
    "RuntimeClass",
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "ConfigMap",
    "Service",
    "Deployment",
    "HelmChart",
    "PeerAuthentication",
    "KubeVirt",
)

MANAGED_BY = "linq"


@dataclass(frozen=True)
class SystemNamespace:
    name: str
    component: str
    level: str  # PodSecurity enforce level
    reason: str

    @property
    def warn(self) -> str:
        return "restricted" if self.level == "restricted" else self.level

    def labels(self, psv: str) -> dict[str, str]:
        return {
            "linq.network/system": "true",
            "pod-security.kubernetes.io/enforce": self.level,
            "pod-security.kubernetes.io/enforce-version": psv,
            "pod-security.kubernetes.io/warn": self.warn,
            "pod-security.kubernetes.io/warn-version": psv,
            "pod-security.kubernetes.io/audit": "restricted",
            "pod-security.kubernetes.io/audit-version": psv,
        }


def load_config(data: dict[str, Any], source: str = "config") -> LPStackConfig:
    """Validate a mapping (YAML file, stack config, CLI flags) into an LPStackConfig, or raise an error
    that lists every bad field with its value and the fix."""
    try:
        return LPStackConfig.model_validate(data)
    except ValidationError as error:
        raise from_validation(error, source) from None


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(TEMPLATES), str(VALUES)]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701 - YAML, not HTML; every user string goes through `tojson`
    )
    env.policies["json.dumps_kwargs"] = {"sort_keys": True}
    return env


def size(value: Size) -> dict[str, str]:
    return {"cpu": f"{value.cpu_millis}m", "memory": f"{value.memory_mib}Mi"}


def gateway_command(config: LPStackConfig) -> list[str]:
    """The gateway container's command: `linq provider gateway` and the flags this config chooses. With
    observability on, /v1/metrics reads the LPStack's own Prometheus; without it, it answers 501."""
    g = config.gateway
    command = ["linq", "provider", "gateway", "--listen", f"0.0.0.0:{g.port}", "--tls-host", config.gateway_host]
    if g.tenant_server:
        command += ["--tenant-server", g.tenant_server]
    public_url = config.gateway_public_url
    if public_url:
        command += ["--tenant-access", "gateway", "--public-url", public_url]
    if not g.kube_proxy:
        command.append("--no-kube-proxy")
    if config.features.observability:
        command += ["--prometheus", prometheus_url(config)]
    return command


def _labeller(config: LPStackConfig):
    def labels(component: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {
            "app.kubernetes.io/part-of": "lpstack",
            "app.kubernetes.io/component": component,
            "app.kubernetes.io/managed-by": MANAGED_BY,
            "linq.network/cluster": config.cluster_name,
            **(extra or {}),
        }

    return labels


class _Renderer:
    def __init__(self, config: LPStackConfig, versions: Versions) -> None:
        self.config = config
        self.versions = versions
        self.psv = versions.kubernetes.pod_security_version
        self.env = _environment()
        self.context = {
            "config": config,
            "versions": versions,
            "psv": self.psv,
            "labels": _labeller(config),
            "size": size,
            "charts": config.charts,
        }

    def text(self, template: str, **extra: Any) -> str:
        return self.env.get_template(template).render(**self.context, **extra)

    def objects(self, template: str, **extra: Any) -> list[Manifest]:
        return [doc for doc in yaml.safe_load_all(self.text(template, **extra)) if doc]

    def namespaces(self) -> list[SystemNamespace]:
        c, ns = self.config, self.config.namespaces
        out = [
            SystemNamespace(ns.system, "agent", "restricted", "the provider agent runs as non-root"),
            SystemNamespace(
                ns.ingress,
                "ingress",
                "restricted",
                "ingress connectors; tenant network policies admit traffic from here only",
            ),
        ]
        if c.features.gateway:
            from linq.gateway.bundle import GATEWAY_NAMESPACE

            out.append(
                SystemNamespace(
                    GATEWAY_NAMESPACE,
                    "gateway",
                    "restricted",
                    "the gateway's state: nonces, TLS key, tenant session accounts (no pods)",
                )
            )
        if c.features.observability:
            out.append(
                SystemNamespace(
                    ns.monitoring,
                    "observability",
                    "privileged",
                    "node-exporter reads the host (hostNetwork, hostPID, hostPath)",
                )
            )
        if c.features.istio:
            out.append(
                SystemNamespace(
                    ns.istio, "mesh", "privileged", "the Istio CNI node agent configures pod networking on each node"
                )
            )
        if c.features.kubevirt:
            out.append(SystemNamespace(ns.kubevirt, "vm", "privileged", "virt-handler manages VMs on each node"))
        if c.features.gpu:
            out.append(
                SystemNamespace(
                    ns.gpu, "gpu", "privileged", "the GPU operator installs the container toolkit on each node"
                )
            )
        return out

    def helm_chart(self, name: str, component: str, namespace: str) -> Manifest:
        pin = self.versions.chart(name)
        values_text = self.text(f"{name}.yaml.j2")
        values = yaml.safe_load(values_text) or {}
        # Normalized so formatting in the template never changes the rendered object.
        normalized = yaml.dump(values, Dumper=_Dumper, sort_keys=True, default_flow_style=False, width=1000)
        repo = self.config.charts.repository_overrides.get(name, pin.repository)
        (obj,) = self.objects(
            "helmchart.yaml.j2",
            release=name,
            component=component,
            pin=pin,
            repo=repo,
            namespace=namespace,
            values=normalized,
        )
        return obj

    def groups(self) -> dict[str, list[Manifest]]:
        c, ns = self.config, self.config.namespaces
        groups: dict[str, list[Manifest]] = {}
        groups["namespaces"] = self.objects(
            "namespaces.yaml.j2",
            namespaces=[
                {"name": n.name, "component": n.component, "labels": n.labels(self.psv), "reason": n.reason}
                for n in self.namespaces()
            ],
        )
        groups["scheduling"] = self.objects("scheduling.yaml.j2")
        groups["agent"] = self.objects(
            "agent.yaml.j2",
            addresses_json=(c.agent.addresses.model_dump_json(indent=2) if c.agent.addresses else "{}") + "\n",
        )
        if c.features.gateway:
            from linq.gateway.bundle import GATEWAY_NAMESPACE, TENANT_BINDING, tenant_cluster_role

            role = tenant_cluster_role()
            role["metadata"]["labels"].update(_labeller(c)("gateway"))
            groups["gateway"] = [
                *self.objects(
                    "gateway.yaml.j2",
                    gateway_ns=GATEWAY_NAMESPACE,
                    tenant_role=role["metadata"]["name"],
                    tenant_binding=TENANT_BINDING,
                    command=gateway_command(c),
                ),
                role,
            ]
        if c.features.cloudflared:
            groups["ingress"] = self.objects("cloudflared.yaml.j2")
        if c.features.observability:
            groups["observability"] = [
                self.helm_chart("kube-prometheus-stack", "observability", ns.monitoring),
                self.helm_chart("loki", "observability", ns.monitoring),
                self.helm_chart("alloy", "observability", ns.monitoring),
            ]
        if c.features.istio:
            groups["mesh"] = [
                self.helm_chart("istio-base", "mesh", ns.istio),
                self.helm_chart("istiod", "mesh", ns.istio),
                self.helm_chart("istio-cni", "mesh", ns.istio),
                *self.objects("istio.yaml.j2"),
            ]
        if c.features.kubevirt:
            groups["vm"] = self.objects("kubevirt.yaml.j2")
        if c.features.gpu:
            chart = "gpu-operator" if c.gpu.mode == "operator" else "nvidia-device-plugin"
            groups["gpu"] = [self.helm_chart(chart, "gpu", ns.gpu)]
        return groups


def render_groups(config: LPStackConfig, versions: Versions | None = None) -> dict[str, list[Manifest]]:
    """The LPStack by component, in install order (the file layout of `linq lpstack render --out`)."""
    versions = versions or load()
    if config.charts.source == "local" and config.charts.local_dir:
        charts.check_local_archives(config, versions)
    return _Renderer(config, versions).groups()


def render(config: LPStackConfig, versions: Versions | None = None) -> list[Manifest]:
    """Every LPStack object, ordered for applying (KIND_ORDER, stable within a kind)."""
    objects = [obj for group in render_groups(config, versions).values() for obj in group]
    return sorted(objects, key=lambda obj: KIND_ORDER.index(obj["kind"]))


def admission_configuration(config: LPStackConfig, versions: Versions | None = None) -> Manifest:
    """The kube-apiserver AdmissionConfiguration file content (a file on the servers, not an API object)."""
    text = _Renderer(config, versions or load()).text("admission.yaml.j2")
    return dict(yaml.safe_load(text))


def crds() -> list[Manifest]:
    """The CRDs of the custom kinds the LPStack emits (ours, minimal), sorted by name."""
    docs: list[Manifest] = []
    for path in sorted((PACKAGE_DIR / "crds").glob("*.yaml")):
        docs.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return sorted(docs, key=lambda d: d["metadata"]["name"])


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (chart values, JSON files) as literal blocks, so the output reads as YAML."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(objects: list[Manifest]) -> str:
    return yaml.dump_all(
        objects, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000, explicit_start=True
    )


def to_json(objects: list[Manifest]) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}, indent=2) + "\n"


ADMISSION_FILE = "admission/pod-security.yaml"
# A fixed number per component, so a file keeps its name when other components are switched on or off.
GROUP_FILES = {
    "namespaces": 0,
    "scheduling": 10,
    "agent": 20,
    "gateway": 25,
    "ingress": 30,
    "observability": 40,
    "mesh": 50,
    "vm": 60,
    "gpu": 70,
}


def group_file(group: str) -> str:
    return f"{GROUP_FILES[group]:02d}-{group}.yaml"


def write_dir(config: LPStackConfig, out: Path, versions: Versions | None = None) -> list[Path]:
    """Write one manifest file per component (NN-<component>.yaml) for k3s's auto-deploy directory, and
    the PodSecurity AdmissionConfiguration under admission/ (a subdirectory, so k3s never tries to apply
    it). Files of components that are now disabled are removed, so the directory is exactly the stack."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    groups = render_groups(config, versions)
    keep = {group_file(name) for name in groups}
    for stale in out.glob("[0-9][0-9]-*.yaml"):
        if stale.name not in keep:
            stale.unlink()
    for name, objects in groups.items():
        path = out / group_file(name)
        path.write_text(to_yaml(objects))
        written.append(path)
    admission = out / ADMISSION_FILE
    admission.parent.mkdir(exist_ok=True)
    admission.write_text(to_yaml([admission_configuration(config, versions)]))
    written.append(admission)
    return written
