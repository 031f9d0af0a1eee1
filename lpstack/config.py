"""LPStackConfig: what a provider chooses about its cluster. Strict (extra=forbid), so a typo or an
inline secret is an error at load time rather than a silently ignored key."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from linq.contracts import AddressBook

DNS_LABEL = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
DNS_NAME = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$"
DATA_KEY = r"^[-._a-zA-Z0-9]+$"  # a key of a Secret's data map
LABEL_KEY = r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(_Strict):
    """A key of a Kubernetes Secret the provider creates out of band (never a value in this config)."""

    name: str = Field(pattern=DNS_LABEL)
    key: str = Field(pattern=DATA_KEY)


class Features(_Strict):
    observability: bool = True
    istio: bool = True
    cloudflared: bool = False
    kubevirt: bool = False
    gpu: bool = False
    sandbox_runtime: bool = True
    gateway: bool = True  # the provider gateway (docs/gateway.md): requestors need no kubeconfig


class Namespaces(_Strict):
    """System namespaces. `ingress` must equal the catalog's RenderOptions.ingress_namespace, because the
    tenant network policy admits traffic from that namespace only."""

    system: str = Field(default="lpstack-system", pattern=DNS_LABEL)
    ingress: str = Field(default="linq-ingress", pattern=DNS_LABEL)
    monitoring: str = Field(default="monitoring", pattern=DNS_LABEL)
    istio: str = Field(default="istio-system", pattern=DNS_LABEL)
    kubevirt: str = Field(default="kubevirt", pattern=DNS_LABEL)
    gpu: str = Field(default="gpu-operator", pattern=DNS_LABEL)

    @model_validator(mode="after")
    def _distinct(self) -> Namespaces:
        names = list(self.model_dump().values())
        if len(set(names)) != len(names) or "kube-system" in names or "default" in names:
            raise ValueError(
                f"namespaces must be distinct and not kube-system/default (got {names}); give each one its own name"
            )
        return self


class ChartSource(_Strict):
    """Where k3s's helm-controller gets each chart.

    repository: from the chart's repository in versions.yaml (or `repository_overrides[chart name]`).
    local: from `<local_url>/<chart>-<version>.tgz`, by default k3s's own static file server, which serves
    the servers' /var/lib/rancher/k3s/server/static/charts directory (air-gapped installs). When
    `local_dir` names a directory on the machine that renders, each archive must be there and its
    Chart.yaml must match the pin.
    """

    source: Literal["repository", "local"] = "repository"
    repository_overrides: dict[str, str] = Field(default_factory=dict)
    local_url: str = Field(default="https://%{KUBERNETES_API}%/static/charts", pattern=r"^https?://")
    local_dir: str | None = None

    @field_validator("repository_overrides")
    @classmethod
    def _urls(cls, overrides: dict[str, str]) -> dict[str, str]:
        for chart, url in overrides.items():
            if not re.match(r"^(https|oci)://", url):
                raise ValueError(f"repository_overrides[{chart}]={url!r} must start with https:// or oci://")
        return overrides


class Size(_Strict):
    cpu_millis: int = Field(gt=0, le=256_000)
    memory_mib: int = Field(gt=0, le=1_048_576)


class Resources(_Strict):
    prometheus: Size = Size(cpu_millis=500, memory_mib=2048)
    prometheus_storage_gib: int = Field(default=20, ge=1)
    prometheus_retention: str = Field(default="15d", pattern=r"^\d+[hdwy]$")
    loki: Size = Size(cpu_millis=500, memory_mib=1024)
    loki_storage_gib: int = Field(default=20, ge=1)
    alloy: Size = Size(cpu_millis=200, memory_mib=256)
    agent: Size = Size(cpu_millis=100, memory_mib=256)
    cloudflared: Size = Size(cpu_millis=100, memory_mib=128)
    gateway: Size = Size(cpu_millis=250, memory_mib=256)


class TenantLimits(_Strict):
    """Per-tenant guards: Prometheus caps every scrape of a tenant's monitor; Loki caps each org."""

    sample_limit: int = Field(default=50_000, gt=0)
    target_limit: int = Field(default=50, gt=0)
    label_limit: int = Field(default=64, gt=0)
    log_ingestion_rate_mb: int = Field(default=4, gt=0)
    log_streams: int = Field(default=5_000, gt=0)
    log_retention: str = Field(default="168h", pattern=r"^\d+[hdwy]$")


class Sandbox(_Strict):
    runtime_class: str = Field(default="gvisor", pattern=DNS_LABEL)
    handler: str = Field(default="runsc", pattern=DNS_LABEL)
    # Only nodes with runsc installed carry this label (the playbooks set it), so sandboxed pods land there.
    node_selector: dict[str, str] = Field(default_factory=lambda: {"linq.network/sandbox": "gvisor"})

    @field_validator("node_selector")
    @classmethod
    def _labels(cls, selector: dict[str, str]) -> dict[str, str]:
        for key in selector:
            if not re.match(LABEL_KEY, key):
                raise ValueError(f"node_selector key {key!r} is not a valid label key (e.g. linq.network/sandbox)")
        return selector


class Gpu(_Strict):
    mode: Literal["operator", "device-plugin"] = "operator"
    # false: the host already has the NVIDIA driver (the common case for rented GPU machines).
    install_driver: bool = False


class Cloudflared(_Strict):
    token_secret: SecretRef | None = None
    replicas: int = Field(default=2, ge=1, le=10)


class Gateway(_Strict):
    """`linq provider gateway` next to the agent (same key Secret and address book): replicas share their
    state (nonces, TLS key) through the cluster. `host` goes into its certificate and the published URL.

    Tenant access: `direct` (default) gives tenants kubeconfigs naming the Kubernetes API server
    (`tenant_server`, default: the in-cluster one); `gateway` names the gateway's own /k8s reverse proxy at
    `public_url` (the https URL tenants reach the gateway at), so the provider exposes the gateway's port and
    nothing else. `kube_proxy: false` turns the proxy off (direct access only)."""

    replicas: int = Field(default=2, ge=1, le=10)
    port: int = Field(default=8443, ge=1024, le=65535)
    # ClusterIP: expose it through the ingress / tunnel (or choose LoadBalancer where the cloud assigns one).
    service_type: Literal["ClusterIP", "LoadBalancer", "NodePort"] = "ClusterIP"
    host: str | None = Field(default=None, max_length=253, pattern=DNS_NAME)
    tenant_server: str | None = Field(default=None, pattern=r"^https://")
    tenant_access: Literal["direct", "gateway"] = "direct"
    public_url: str | None = None
    kube_proxy: bool = True

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from linq.errors import FieldError
        from linq.gateway.meta import normalise_url

        try:
            return normalise_url(value, field="gateway.public_url")
        except FieldError as err:  # the gateway's own rule for its URL; the message names the fix
            raise ValueError(f"{err.problem}; {err.fix}") from None


class Agent(_Strict):
    rpc_url: str = Field(default="http://127.0.0.1:8545", pattern=r"^(https?|wss?)://")
    key_secret: SecretRef = SecretRef(name="lpstack-agent-key", key="private-key")
    # The contracts' address book, the same JSON `linq devnet` writes (chain_id, lnq, registry, escrow,
    # deployed_block): the agent reads it from its ConfigMap. None: the agent reads its own configuration.
    addresses: AddressBook | None = None
    withdraw_interval_seconds: int = Field(default=3600, ge=60)

    @field_validator("addresses")
    @classmethod
    def _addresses(cls, book: AddressBook | None) -> AddressBook | None:
        if book is not None:
            for name in ("lnq", "registry", "escrow"):
                value = getattr(book, name)
                if not ADDRESS.match(value):
                    raise ValueError(f"addresses.{name}={value!r} is not a 0x-prefixed 20-byte hex address")
        return book


class PodSecurity(_Strict):
    """The cluster-wide PodSecurity default for namespaces that carry no label of their own."""

    enforce: Literal["baseline", "restricted"] = "baseline"
    warn: Literal["baseline", "restricted"] = "restricted"
    exempt_namespaces: list[str] = Field(default_factory=lambda: ["kube-system"])

    @field_validator("exempt_namespaces")
    @classmethod
    def _system_only(cls, names: list[str]) -> list[str]:
        allowed = {"kube-system", "kube-public", "kube-node-lease"}
        extra = sorted(set(names) - allowed)
        if extra:
            raise ValueError(
                f"only system namespaces may be exempt (got {extra}); label the namespace "
                "pod-security.kubernetes.io/enforce=privileged instead if it truly needs it"
            )
        return sorted(set(names))


class LPStackConfig(_Strict):
    cluster_name: str = Field(pattern=DNS_LABEL)
    provider_address: str
    region: str = Field(min_length=1, max_length=32, pattern=r"^[ -~]+$")
    public_domain: str = Field(max_length=253, pattern=DNS_NAME)
    features: Features = Features()
    namespaces: Namespaces = Namespaces()
    charts: ChartSource = ChartSource()
    resources: Resources = Resources()
    tenant_limits: TenantLimits = TenantLimits()
    sandbox: Sandbox = Sandbox()
    gpu: Gpu = Gpu()
    cloudflared: Cloudflared = Cloudflared()
    agent: Agent = Agent()
    gateway: Gateway = Gateway()
    pod_security: PodSecurity = PodSecurity()

    @field_validator("provider_address")
    @classmethod
    def _address(cls, value: str) -> str:
        if not ADDRESS.match(value):
            raise ValueError("must be a 0x-prefixed 20-byte hex address (the provider's wallet)")
        from eth_utils import to_checksum_address

        return str(to_checksum_address(value))

    @model_validator(mode="after")
    def _cloudflared_token(self) -> LPStackConfig:
        if self.features.cloudflared and self.cloudflared.token_secret is None:
            raise ValueError(
                "cloudflared.token_secret: required when features.cloudflared is true (got None); create a Secret "
                "holding the tunnel token and set cloudflared.token_secret: {name: <secret>, key: <key>}"
            )
        return self

    @property
    def gateway_host(self) -> str:
        """The name in the gateway's certificate (made at its first start, then kept)."""
        return self.gateway.host or f"gateway.{self.public_domain}"

    @property
    def gateway_public_url(self) -> str | None:
        """The URL tenant kubeconfigs name with `tenant_access: gateway` (None: direct access). Without
        `public_url`, a LoadBalancer Service answers at the certificate's name and the Service port."""
        g = self.gateway
        if g.tenant_access != "gateway":
            return None
        return g.public_url or f"https://{self.gateway_host}:{g.port}"

    @model_validator(mode="after")
    def _gateway_access(self) -> LPStackConfig:
        g = self.gateway
        if g.tenant_access == "gateway":
            if not g.kube_proxy:
                raise ValueError(
                    "gateway.kube_proxy: must be true when gateway.tenant_access is gateway (got false); tenant "
                    "kubeconfigs then name the gateway's /k8s proxy: set kube_proxy: true, or tenant_access: direct"
                )
            if g.tenant_server is not None:
                raise ValueError(
                    f"gateway.tenant_server: is for direct access only (got {g.tenant_server!r} with tenant_access: "
                    "gateway, whose kubeconfigs name gateway.public_url); remove tenant_server, or set "
                    "tenant_access: direct"
                )
            if g.public_url is None and g.service_type != "LoadBalancer":
                raise ValueError(
                    f"gateway.public_url: required when gateway.tenant_access is gateway and service_type is "
                    f"{g.service_type} (got None): tenants cannot reach a {g.service_type} Service at its own port; "
                    f"set public_url to the https URL your ingress or tunnel serves the gateway at, e.g. "
                    f"https://{self.gateway_host}"
                )
        elif g.public_url is not None:
            raise ValueError(
                f"gateway.public_url: is used only with tenant_access: gateway (got {g.public_url!r} with "
                "tenant_access: direct); set gateway.tenant_access: gateway, or remove public_url"
            )
        if g.public_url is not None:
            from urllib.parse import urlsplit

            host = urlsplit(g.public_url).hostname
            if host != self.gateway_host:
                raise ValueError(
                    f"gateway.public_url: its host {host!r} is not the name in the gateway's certificate "
                    f"({self.gateway_host!r}), so kubectl would refuse the connection (got {g.public_url!r}); set "
                    f"gateway.host: {host}, or use https://{self.gateway_host}[:PORT]"
                )
        return self
