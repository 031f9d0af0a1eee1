"""The `linq:*` stack configuration a platform team writes in Pulumi.<stack>.yaml, as typed models.

Everything a user can get wrong is caught here, when the program starts (so at `pulumi preview`, before
any transaction), with a message naming the field, the value and the fix.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from linq.catalog.spec import WorkloadSpec

WEI_PER_LNQ = 10**18
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")


class ConfigError(ValueError):
    """A stack configuration mistake; the message names the field, the value and the fix."""


def parse_duration(value: Any) -> int:
    """Seconds from '90m', '24h', '7d', '2w' or a plain integer of seconds."""
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"duration {value!r} is not understood: write e.g. '90m', '24h', '7d' or seconds")
        seconds = int(match[1]) * _SECONDS[match[2]]
    if seconds <= 0:
        raise ValueError(f"duration {value!r} must be positive")
    return seconds


def parse_lnq(value: Any) -> int:
    """LNQ wei from '12.5 LNQ', '0.002LNQ', '1500 wei' or an integer of wei. Exact: never a float."""
    if isinstance(value, bool | float):
        raise ValueError(f"amount {value!r}: write LNQ amounts as text ('12.5 LNQ') or integer wei, never a float")
    if isinstance(value, int):
        wei = value
    else:
        text = str(value).strip()
        unit = "wei"
        for suffix in ("lnq", "wei"):
            if text.lower().endswith(suffix):
                unit, text = suffix, text[: -len(suffix)].strip()
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"amount {value!r} is not a number: write e.g. '12.5 LNQ' or '1500 wei'") from None
        scaled = amount * (WEI_PER_LNQ if unit == "lnq" else 1)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"amount {value!r} has more precision than 1 wei")
        wei = int(scaled)
    if wei < 0:
        raise ValueError(f"amount {value!r} must not be negative")
    return wei


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


class NetworkConfig(_Model):
    """Which chain: the local devnet (read from its state dir) or any JSON-RPC endpoint."""

    kind: Literal["devnet", "rpc"] = "devnet"
    devnet_dir: str | None = Field(default=None, description="devnet state dir (default: $LINQ_DEVNET_DIR)")
    rpc_url: str | None = None
    chain_id: int | None = None
    addresses: str | None = Field(default=None, description="address book JSON file")

    @model_validator(mode="after")
    def _complete(self) -> NetworkConfig:
        if self.kind == "rpc":
            missing = [k for k in ("rpc_url", "chain_id", "addresses") if getattr(self, k) in (None, "")]
            if missing:
                raise ValueError(f"network kind 'rpc' needs {', '.join(to_camel(m) for m in missing)}")
        return self


class ProviderAccess(_Model):
    """What this stack says about one provider (every entry is optional; by default a deployment reaches the
    provider the registry matched through that provider's gateway, with the requestor's key alone).

    Direct access (as before gateways): a kubeconfig in secret config, or `devnet: true` for the devnet's own
    cluster; `clusterId` is then the cluster's stable identity, so rotating credentials updates the provider
    instead of replacing every object deployed through it. `deny: true` keeps matching away from the
    provider; `allow: true` on any entry makes matching consider only allowed and directly reached providers.
    """

    cluster_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,63}$")
    kubeconfig_secret: str | None = Field(default=None, description="name of a secret stack config key")
    devnet: bool = Field(default=False, description="use the devnet's own cluster (local provider)")
    public_domain: str | None = Field(default=None, description="apps are served at <name>.<publicDomain>")
    allow: bool = Field(default=False, description="allow list: match only allowed (and directly reached) providers")
    deny: bool = Field(default=False, description="never place a deployment on this provider")

    @model_validator(mode="after")
    def _one_source(self) -> ProviderAccess:
        if self.devnet and self.kubeconfig_secret:
            raise ValueError("give at most one of kubeconfigSecret (a secret config key) or devnet: true")
        if self.direct and not self.cluster_id:
            raise ValueError("direct access (kubeconfigSecret or devnet: true) needs clusterId, the cluster's "
                             "stable name; or drop both to reach the provider through its gateway")
        if self.deny and (self.direct or self.allow):
            raise ValueError("deny: true cannot be combined with allow or direct access; remove one")
        return self

    @property
    def direct(self) -> bool:
        """Reached with this stack's own credentials rather than through the provider's gateway."""
        return self.devnet or bool(self.kubeconfig_secret)


class AutoTopUp(_Model):
    """Runway protection (opt-in): when the escrow's runway is below `below`, top up `amount`, never more than
    `cap` in total. Applied by `linq runway guard --stack …` on the requestor's side."""

    below: int
    amount: int
    cap: int

    @field_validator("below", mode="before")
    @classmethod
    def _below(cls, value: Any) -> int:
        return parse_duration(value)

    @field_validator("amount", "cap", mode="before")
    @classmethod
    def _wei(cls, value: Any) -> int:
        return parse_lnq(value)

    @model_validator(mode="after")
    def _amount_within_cap(self) -> AutoTopUp:
        if self.amount <= 0 or self.amount > self.cap:
            raise ValueError(f"autoTopUp.amount must be positive and at most cap ({self.amount} > {self.cap} wei)")
        return self


class DeploymentConfig(WorkloadSpec):
    """One app deployment, as a platform team declares it: the catalog's workload fields (WorkloadSpec: template,
    image or vm, plan or resources, env, and for custom images ports, endpoint, command, args, volumes,
    configFiles, health, security), plus what the stack adds (secrets by config key, payment, placement,
    lifecycle, patches)."""

    name: str
    secrets: dict[str, str] = Field(default={}, description="env var -> name of a secret stack config key")
    duration: int = Field(description="prepaid runtime: '24h', '7d', …")
    max_price_per_hour: int | None = Field(default=None, description="ceiling, e.g. '0.5 LNQ'")
    deposit: int | None = Field(default=None, description="explicit deposit instead of price x duration")
    region: str | None = None
    min_reputation: float | None = Field(default=None, ge=0, le=1)
    provider: str | None = Field(default=None, description="pin a provider address instead of matching")
    state: Literal["running", "stopped"] = "running"
    restarted_at: str | None = Field(default=None, description="change it to roll the pods (restart)")
    redeploy: str | None = Field(default=None, description="change it to replace the workload (redeploy)")
    patches: list[dict[str, Any]] = []
    auto_top_up: AutoTopUp | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError(
                f"name {name!r} must be 1-40 lowercase letters, digits or '-', starting and ending alphanumeric"
            )
        return name

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> int:
        return parse_duration(value)

    @field_validator("max_price_per_hour", "deposit", mode="before")
    @classmethod
    def _amount(cls, value: Any) -> int | None:
        return None if value is None else parse_lnq(value)

    @field_validator("provider")
    @classmethod
    def _provider(cls, value: str | None) -> str | None:
        if value is not None and value != "local" and not _ADDRESS.match(value):
            raise ValueError(f"provider {value!r} is not an address: write 0x followed by 40 hex digits, or 'local'")
        return value


LOCAL_PROVIDER = "local"  # the devnet's own provider account; its address differs per devnet


class StackConfig(_Model):
    network: NetworkConfig = NetworkConfig()
    providers: dict[str, ProviderAccess] = {}
    deployments: list[DeploymentConfig] = []

    @field_validator("providers")
    @classmethod
    def _addresses(cls, providers: dict[str, ProviderAccess]) -> dict[str, ProviderAccess]:
        for address, access in providers.items():
            if address == LOCAL_PROVIDER:
                if access.kubeconfig_secret:
                    raise ValueError(f"providers key {LOCAL_PROVIDER!r} means the devnet's provider: set devnet: true "
                                     "(its cluster) or nothing (its gateway)")
            elif not _ADDRESS.match(address):
                raise ValueError(
                    f"providers key {address!r} is not an address (0x + 40 hex digits) nor {LOCAL_PROVIDER!r}"
                )
        return {address.lower(): access for address, access in providers.items()}

    @model_validator(mode="after")
    def _local_needs_devnet(self) -> StackConfig:
        local = LOCAL_PROVIDER in self.providers or any(d.provider == LOCAL_PROVIDER for d in self.deployments)
        if local and self.network.kind != "devnet":
            raise ValueError(f"providers.{LOCAL_PROVIDER} needs network kind 'devnet'")
        return self

    def with_local_provider(self, address: str) -> StackConfig:
        """The same config with the `local` provider key (and `provider: local` pins) replaced by the devnet's
        provider address."""
        providers = {k: v for k, v in self.providers.items() if k != LOCAL_PROVIDER}
        if LOCAL_PROVIDER in self.providers:
            providers[address.lower()] = self.providers[LOCAL_PROVIDER]
        deployments = [
            d.model_copy(update={"provider": address}) if d.provider == LOCAL_PROVIDER else d for d in self.deployments
        ]
        return self.model_copy(update={"providers": providers, "deployments": deployments})

    def uses_local_provider(self) -> bool:
        return LOCAL_PROVIDER in self.providers or any(d.provider == LOCAL_PROVIDER for d in self.deployments)

    def direct_access(self) -> dict[str, ProviderAccess]:
        """The providers this stack reaches with its own credentials (kubeconfig or the devnet's cluster)."""
        return {address: access for address, access in self.providers.items() if access.direct}

    @model_validator(mode="after")
    def _unique(self) -> StackConfig:
        names = [d.name for d in self.deployments]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"deployment names must be unique; repeated: {', '.join(duplicates)}")
        return self


def load_stack_config(raw: dict[str, Any]) -> StackConfig:
    """Validate raw `linq:*` config; a ConfigError lists every problem as 'linq:<path>: message'."""
    try:
        return StackConfig.model_validate(raw)
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            path = ".".join(str(p) for p in problem["loc"])
            given = problem.get("input")
            shown = "" if isinstance(given, dict | list) else f" (got {given!r})"
            lines.append(f"linq:{path}: {problem['msg'].removeprefix('Value error, ')}{shown}")
        raise ConfigError("invalid stack configuration:\n  " + "\n  ".join(lines)) from None
