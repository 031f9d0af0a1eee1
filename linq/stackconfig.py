"""The `linq:*` stack configuration a platform team writes in Pulumi.<stack>.yaml, as typed models.

Everything a user can get wrong is caught here, when the program starts (so at `pulumi preview`, before
any transaction), with a message naming the field, the value and the fix.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any, Literal

from eth_utils import to_checksum_address
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic.alias_generators import to_camel

from linq.catalog.spec import WorkloadSpec
from linq.units import (
    format_duration,
    format_lnq,
    parse_amount,
    parse_cpu,
    parse_duration,
    parse_memory,
    parse_rate,
    parse_storage,
)

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")
_REGION = re.compile(r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")

# The `linq:*` keys the program reads; any other `linq:` key must be a secret a deployment or provider names.
PROGRAM_KEYS = (
    "network",
    "providers",
    "deployments",
    "limits",
    "devAccount",
    "signerKey",
    "keystore",
    "keystorePassword",
    "confirmations",
    "receiptTimeout",
)  # every key the program reads (components/stack_program.py, components/dynamic.py)
DEFAULT_MAX_DURATION = 90 * 86400
DEFAULT_MAX_DEPOSIT = 1000 * 10**18


def checked_address(value: Any, field: str) -> str:
    """0x + 40 hex digits; a mixed-case address must carry a valid EIP-55 checksum (a typo guard)."""
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f"{field}: YAML read the address as the number {value}; quote it: '0x…' (40 hex digits)")
    if not isinstance(value, str) or not _ADDRESS.match(value):
        raise ValueError(f"{field}: {value!r} is not an address; write 0x followed by 40 hex digits")
    if value != value.lower() and value != value.upper()[:2].lower() + value[2:].upper():
        good = to_checksum_address(value)
        if value != good:
            raise ValueError(
                f"{field}: {value} has a wrong EIP-55 checksum (a typo?); the checksummed form of these digits is "
                f"{good} — check the address, or write it all lower-case"
            )
    return value


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
            raise ValueError(
                "direct access (kubeconfigSecret or devnet: true) needs clusterId, the cluster's "
                "stable name; or drop both to reach the provider through its gateway"
            )
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
        for key, target, parse in (
            ("cpu", "cpuMillis", parse_cpu),
            ("memory", "memoryMiB", parse_memory),
            ("storage", "storageGiB", parse_storage),
        ):
            if key in out:
                out[target] = parse(out.pop(key), field=f"resources.{key}")
        return out

    @field_validator("provider", mode="before")
    @classmethod
    def _provider(cls, value: Any) -> Any:
        if value is None or value == "local":
            return value
        return checked_address(value, "provider")

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None and not _REGION.match(value):
            raise ValueError(
                f"region {value!r} is not a region name: 1-32 lowercase letters, digits or '-' (e.g. eu-west)"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DeploymentConfig:
        if self.region and self.provider:
            raise ValueError(
                f"region {self.region!r} and provider {self.provider} conflict: a pinned provider is not matched by "
                "region; drop region, or drop provider to match in that region"
            )
        if self.template and self.plan:
            from linq.catalog import load_catalog
            from linq.catalog.plans import load_plans

            plans = load_plans()
            plan = plans.plans.get(self.plan)
            if plan is not None and plan.gpu_count and load_catalog().get(self.template).gpu is None:
                raise ValueError(
                    f"plan {self.plan!r} has {plan.gpu_count} GPU(s) but template {self.template!r} uses none; "
                    "choose a CPU plan (starter, basic, standard, pro)"
                )
        return self


LOCAL_PROVIDER = "local"  # the devnet's own provider account; its address differs per devnet


class Limits(_Model):
    """The stack's sanity ceiling per deployment (linq:limits): raise it explicitly to pay for longer or more."""

    max_duration: int = DEFAULT_MAX_DURATION
    max_deposit: int = DEFAULT_MAX_DEPOSIT

    @field_validator("max_duration", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> int:
        return _positive_duration(value, "maxDuration")

    @field_validator("max_deposit", mode="before")
    @classmethod
    def _deposit(cls, value: Any) -> int:
        return parse_amount(value, field="maxDeposit")

    def deposit_problem(self, name: str, field: str, what: str, worst: int, fix: str) -> str | None:
        """The sentence when `worst` wei (what a deployment can lock) is above maxDeposit, else None."""
        if worst <= self.max_deposit:
            return None
        return (
            f"deployments.{name}.{field}: {what} can lock {format_lnq(worst)} ({worst} wei), above the stack's "
            f"limit {format_lnq(self.max_deposit)} ({self.max_deposit} wei); {fix}, or raise linq:limits.maxDeposit "
            "explicitly"
        )


class StackConfig(_Model):
    network: NetworkConfig = NetworkConfig()
    providers: dict[str, ProviderAccess] = {}
    deployments: list[DeploymentConfig] = []
    limits: Limits = Limits()

    @field_validator("providers", mode="before")
    @classmethod
    def _keys(cls, providers: Any) -> Any:
        if isinstance(providers, Mapping):
            for key in providers:
                if key != LOCAL_PROVIDER:
                    checked_address(key, f"providers key {key!r}")
        return providers

    @field_validator("providers")
    @classmethod
    def _addresses(cls, providers: dict[str, ProviderAccess]) -> dict[str, ProviderAccess]:
        for address, access in providers.items():
            if address == LOCAL_PROVIDER and access.kubeconfig_secret:
                raise ValueError(
                    f"providers key {LOCAL_PROVIDER!r} means the devnet's provider: set devnet: true "
                    "(its cluster) or nothing (its gateway)"
                )
        return {address.lower(): access for address, access in providers.items()}

    @model_validator(mode="after")
    def _within_limits(self) -> StackConfig:
        limits, problems = self.limits, []
        for d in self.deployments:
            if d.duration > limits.max_duration:
                problems.append(
                    f"deployments.{d.name}.duration: {format_duration(d.duration)} is longer than the stack's limit "
                    f"{format_duration(limits.max_duration)}; shorten it, or raise linq:limits.maxDuration explicitly"
                )
            worst = (
                d.deposit
                if d.deposit is not None
                else (d.max_price_per_hour * d.duration // 3600 if d.max_price_per_hour is not None else None)
            )
            if worst is not None:
                what = "deposit" if d.deposit is not None else "maxPricePerHour x duration"
                field = "deposit" if d.deposit is not None else "duration"
                problem = limits.deposit_problem(d.name, field, what, worst, "deposit less")
                problems.extend([problem] if problem else [])
        if problems:
            raise ValueError("\n  linq:".join(problems))
        return self

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


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model a validation error's location points into (for "did you mean")."""
    model: Any = StackConfig
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        if field is None:
            return None
        annotation = field.annotation
        args = [a for a in getattr(annotation, "__args__", ()) if isinstance(a, type) and issubclass(a, BaseModel)]
        model = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else (args[0] if args else None)
        )
    return model


def _explain(problem: Any) -> str:
    """A pydantic error as 'message; fix' in the user's key names (camelCase, as written in the YAML)."""
    kind, given, loc = problem["type"], problem.get("input"), tuple(problem["loc"])
    name = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        model = _model_at(loc)
        known = sorted(f.alias or n for n, f in model.model_fields.items()) if model else []
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else f"use one of {', '.join(known)}"
        return f"{name} is not a setting here; {hint}"
    if kind == "missing" and "resources" in loc:
        return (
            f"{name} is missing: resources need cpu, memory and storage together (e.g. {{cpu: '1', "
            "memory: '1Gi', storage: '10Gi'}), or use a plan instead"
        )
    if kind == "missing":
        return f"{name} is required here; add it (see stacks/README.md for the keys)"
    if kind == "string_type" and isinstance(given, int | float) and not isinstance(given, bool):
        return f"YAML read this as the number {given}; quote it ('{given}') if it is text"
    message = str(problem["msg"]).removeprefix("Value error, ").removeprefix(f"{name}: ")
    shown = (
        ""
        if isinstance(given, dict | list) or repr(given) in message or str(given) in message
        else (f" (got {given!r})")
    )
    return message + shown


def load_stack_config(raw: dict[str, Any]) -> StackConfig:
    """Validate raw `linq:*` config; a ConfigError lists every problem as 'linq:<path>: message'."""
    try:
        return StackConfig.model_validate(raw)
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            path = ".".join(str(p) for p in problem["loc"])
            lines.append(f"linq:{path}: {_explain(problem)}" if path else f"linq:{_explain(problem)}")
        raise ConfigError("invalid stack configuration:\n  " + "\n  ".join(lines)) from None


def load_stack_values(values: Mapping[str, Any]) -> StackConfig:
    """All of a stack's `linq:*` config ("linq:key" or "key" -> value; JSON text is decoded as
    pulumi.Config.get_object does): every key must be one the program reads or a secret a deployment or
    provider names — a typo such as linq:deploymnets is an error, not a stack that silently deploys nothing."""
    import json

    plain = {k.removeprefix("linq:"): v for k, v in values.items() if k.startswith("linq:") or ":" not in k}
    raw: dict[str, Any] = {}
    for key in ("network", "providers", "deployments", "limits"):
        value = plain.get(key)
        if value is not None:
            try:
                raw[key] = json.loads(value) if isinstance(value, str) else value
            except ValueError:
                raise ConfigError(f"linq:{key}: {value!r} is not structured YAML; write it as a mapping/list") from None
    config = load_stack_config(raw)
    named = {key for d in config.deployments for key in d.secrets.values()}
    named |= {a.kubeconfig_secret for a in config.providers.values() if a.kubeconfig_secret}
    unknown = sorted(set(plain) - set(PROGRAM_KEYS) - named)
    if unknown:
        lines = []
        for key in unknown:
            close = difflib.get_close_matches(key, [*PROGRAM_KEYS, *sorted(named)], n=1, cutoff=0.6)
            hint = (
                f"did you mean linq:{close[0]}?"
                if close
                else (
                    f"the program reads {', '.join('linq:' + k for k in PROGRAM_KEYS)} and the secrets deployments "
                    "name; remove it or reference it"
                )
            )
            lines.append(f"linq:{key}: is not a key this stack reads; {hint}")
        raise ConfigError("invalid stack configuration:\n  " + "\n  ".join(lines))
    return config
