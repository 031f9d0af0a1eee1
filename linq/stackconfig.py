"""The `linq:*` stack configuration a platform team writes in Pulumi.<stack>.yaml, as typed models.

Everything a user can get wrong is caught here, when the program starts (so at `pulumi preview`, before
any transaction), with a message naming the field, the value and the fix.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic.alias_generators import to_camel

from linq.catalog.spec import WorkloadSpec
from linq.units import parse_amount, parse_cpu, parse_duration, parse_memory, parse_rate, parse_storage

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")


class ConfigError(ValueError):
    """A stack configuration mistake; the message names the field, the value and the fix."""


def _positive_duration(value: Any, field: str) -> int:
    seconds = parse_duration(value, field=field)
    if seconds <= 0:
        raise ValueError(f"{field}: {value!r} is not positive; give e.g. 90m, 24h or 7d")
    return seconds


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
    """How this stack reaches one provider's cluster. The kubeconfig is secret config; `clusterId` is the
    cluster's stable identity, so rotating credentials updates the provider instead of replacing every
    object deployed through it."""

    cluster_id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,63}$")
    kubeconfig_secret: str | None = Field(default=None, description="name of a secret stack config key")
    devnet: bool = Field(default=False, description="use the devnet's own cluster (local provider)")
    public_domain: str | None = Field(default=None, description="apps are served at <name>.<publicDomain>")

    @model_validator(mode="after")
    def _one_source(self) -> ProviderAccess:
        if self.devnet == bool(self.kubeconfig_secret):
            raise ValueError("give exactly one of kubeconfigSecret (a secret config key) or devnet: true")
        return self


class AutoTopUp(_Model):
    """Runway protection (opt-in): when the escrow's runway is below `below`, top up `amount`, never more than
    `cap` in total. Applied by `linq runway guard --stack …` on the requestor's side."""

    below: int
    amount: int
    cap: int

    @field_validator("below", mode="before")
    @classmethod
    def _below(cls, value: Any) -> int:
        return _positive_duration(value, "below")

    @field_validator("amount", "cap", mode="before")
    @classmethod
    def _wei(cls, value: Any, info: ValidationInfo) -> int:
        return parse_amount(value, field=str(info.field_name))

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
    max_price_per_hour: int | None = Field(default=None, description="ceiling, e.g. '0.5 LNQ/h'")
    deposit: int | None = Field(default=None, description="explicit deposit instead of price x duration, e.g. '10 LNQ'")
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
        return _positive_duration(value, "duration")

    @field_validator("max_price_per_hour", mode="before")
    @classmethod
    def _rate(cls, value: Any) -> int | None:
        return None if value is None else parse_rate(value, field="maxPricePerHour")

    @field_validator("deposit", mode="before")
    @classmethod
    def _deposit(cls, value: Any) -> int | None:
        return None if value is None else parse_amount(value, field="deposit")

    @field_validator("resources", mode="before")
    @classmethod
    def _sizes(cls, value: Any) -> Any:
        """`cpu`, `memory` and `storage` in the unit grammar ('500m', '1Gi', '10Gi') or the exact fields."""
        if not isinstance(value, dict):
            return value
        out = dict(value)
        for key, target, parse in (("cpu", "cpuMillis", parse_cpu), ("memory", "memoryMiB", parse_memory),
                                   ("storage", "storageGiB", parse_storage)):  # fmt: skip
            if key in out:
                out[target] = parse(out.pop(key), field=f"resources.{key}")
        return out

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
                if not access.devnet:
                    raise ValueError(f"providers key {LOCAL_PROVIDER!r} means the devnet's provider: set devnet: true")
            elif not _ADDRESS.match(address):
                raise ValueError(
                    f"providers key {address!r} is not an address (0x + 40 hex digits) nor {LOCAL_PROVIDER!r}"
                )
        return {address.lower(): access for address, access in providers.items()}

    @model_validator(mode="after")
    def _local_needs_devnet(self) -> StackConfig:
        if LOCAL_PROVIDER in self.providers and self.network.kind != "devnet":
            raise ValueError(f"providers.{LOCAL_PROVIDER} needs network kind 'devnet'")
        return self

    def with_local_provider(self, address: str) -> StackConfig:
        """The same config with the `local` provider key replaced by the devnet's provider address."""
        if LOCAL_PROVIDER not in self.providers:
            return self
        providers = {k: v for k, v in self.providers.items() if k != LOCAL_PROVIDER}
        providers[address.lower()] = self.providers[LOCAL_PROVIDER]
        deployments = [
            d.model_copy(update={"provider": address}) if d.provider == LOCAL_PROVIDER else d for d in self.deployments
        ]
        return self.model_copy(update={"providers": providers, "deployments": deployments})

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
