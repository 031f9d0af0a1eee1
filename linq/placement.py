"""Where a deployment runs: the provider it pins, or the best match from the on-chain registry.

Candidates are the registered, active providers the stack can reach: every provider that published a gateway
on chain (the requestor's key is all it needs there), plus those it holds direct access to under
`linq:providers` (a kubeconfig, or the devnet's cluster). `deny: true` entries are never chosen; `allow: true`
entries, when any exist, narrow matching to themselves (and the directly reached ones). When nothing fits, the
error lists every provider and why it was rejected — the answer to the "no bids and no explanation"
complaint of peer networks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from linq.catalog import load_catalog
from linq.catalog.resolve import resolve_size
from linq.contracts.terms import Resources
from linq.market.match import match
from linq.market.models import GpuRequirement, MatchResult, ProviderRecord, Requirements, rate_at
from linq.protocol.money import deposit_for
from linq.stackconfig import ConfigError, DeploymentConfig, Limits, NetworkConfig, ProviderAccess
from linq.stackrender import deployment_spec
from linq.units import format_duration, format_rate


class Registry:
    """The on-chain provider registry as one run sees it: read on first use, then shared by every deployment
    the run places (one index build per `up`, not one per deployment). Make a new one per run: a cached
    registry never sees a provider that registered after it was read."""

    def __init__(self, network_config: NetworkConfig) -> None:
        self.network_config = network_config

    @cached_property
    def providers(self) -> tuple[ProviderRecord, ...]:
        from linq.chain import ChainError, connect
        from linq.chain.network import profile_for
        from linq.market.index import RegistryIndex

        try:
            profile = profile_for(self.network_config.model_dump(by_alias=True, exclude_none=True))
            w3 = connect(profile)
        except ChainError as err:
            raise ConfigError(f"linq:network: {err}") from None
        index = RegistryIndex(w3, profile.book.registry, escrow_address=profile.book.escrow)
        index.build()
        return index.providers


@dataclass(frozen=True)
class Placement:
    provider: str
    pinned: bool
    rate_per_hour: int | None = None  # at registry prices, when matched
    gpu_class_id: int = 0
    explanation: list[str] = field(default_factory=list)


def size_of(deployment: DeploymentConfig):  # -> linq.catalog.plans.Resources
    """The resources the deployment reserves: its plan's, its explicit ones, or its template's minimum plan."""
    catalog = load_catalog()
    spec = deployment_spec(deployment)
    min_plan = catalog.get(deployment.template).min_plan if deployment.template else "starter"
    return resolve_size(spec, catalog, min_plan)[1]


def requirements_for(
    deployment: DeploymentConfig, providers: Mapping[str, ProviderAccess] | None = None
) -> Requirements:
    """The matcher's requirements: the deployment's size, price, region and reputation, and the stack's
    provider policy (`linq:providers`: direct access, allow and deny entries)."""
    providers = providers or {}
    direct = tuple(a for a, p in providers.items() if p.direct)
    allowed = tuple(a for a, p in providers.items() if p.allow)
    catalog = load_catalog()
    size = size_of(deployment)
    gpu = None
    if size.gpu_count:
        need = catalog.get(deployment.template).gpu if deployment.template else None
        if need is None or not need.model:
            raise ConfigError(
                f"linq:deployments.{deployment.name}: GPUs requested but no GPU model is known to match on; "
                "pin a provider (linq:deployments[].provider) that offers the GPU you need"
            )
        gpu = GpuRequirement(model=need.model, count=size.gpu_count)
    return Requirements(
        cpu_millis=size.cpu_millis,
        memory_mib=size.memory_mib,
        storage_gib=size.reserved_storage_gib,
        gpu=gpu,
        duration_seconds=deployment.duration,
        max_price_per_hour=deployment.max_price_per_hour,
        regions=(deployment.region,) if deployment.region else (),
        min_reputation=deployment.min_reputation or 0.0,
        allow=(*allowed, *direct) if allowed else (),
        deny=tuple(a for a, p in providers.items() if p.deny),
        require_gateway=True,
        direct=direct,
    )


def place(
    deployment: DeploymentConfig,
    providers: Mapping[str, ProviderAccess],
    network_config: NetworkConfig,
    registry: Registry | None = None,
) -> Placement:
    """The pinned provider, or the top-ranked match among the reachable ones (a gateway, or direct access), from
    `registry`, read once per run; without one, the registry is read for this call."""
    if deployment.provider:
        return Placement(provider=deployment.provider.lower(), pinned=True, explanation=["pinned in the stack"])
    records = (registry or Registry(network_config)).providers
    result: MatchResult = match(records, requirements_for(deployment, providers))
    if not result.candidates:
        reasons = [f"{r.provider}: {'; '.join(reason.message for reason in r.reasons)}" for r in result.rejected]
        listing = "\n    ".join(reasons or ["no provider is registered"])
        raise ConfigError(
            f"linq:deployments.{deployment.name}: no provider fits ({result.considered} considered). "
            f"Why each was rejected:\n    {listing}\n"
            "  Fix: raise maxPricePerHour, choose a smaller plan, widen the region, or allow more providers "
            "(linq:providers allow/deny entries)"
        )
    best = result.candidates[0]
    return Placement(
        provider=best.provider.lower(),
        pinned=False,
        rate_per_hour=best.rate_per_hour,
        gpu_class_id=best.gpu_class_id or 0,
        explanation=[f"matched {best.provider} at {best.rate_per_hour} wei/h (score {best.score.total:.3f})"],
    )


def registry_rate(deployment: DeploymentConfig, placement: Placement, registry: Registry) -> int | None:
    """The rate the escrow would get at registry prices now: the match's, or the pinned provider's quote.
    None when it cannot be known here (not registered, no such GPU class): the escrow's own checks say why."""
    if placement.rate_per_hour is not None:
        return placement.rate_per_hour
    record = next((p for p in registry.providers if p.address.lower() == placement.provider.lower()), None)
    if record is None:
        return None
    size = size_of(deployment)
    resources = Resources(
        size.cpu_millis, size.memory_mib, size.reserved_storage_gib, placement.gpu_class_id, size.gpu_count
    )
    try:
        return rate_at(resources, record)
    except ValueError:
        return None


def check_priced_deposit(
    deployment: DeploymentConfig, placement: Placement, limits: Limits, registry: Registry
) -> None:
    """A deployment with neither `deposit` nor `maxPricePerHour` pays the registry price for its duration: at
    preview, that deposit must be within linq:limits.maxDeposit too (the stack's sanity ceiling)."""
    if deployment.deposit is not None or deployment.max_price_per_hour is not None:
        return  # bounded by the config alone (StackConfig checks it)
    rate = registry_rate(deployment, placement, registry)
    if not rate:
        return
    worst = deposit_for(rate, deployment.duration)
    what = (
        f"{format_duration(deployment.duration)} at {placement.provider}'s registry price "
        f"{format_rate(rate)} ({rate} wei/h)"
    )
    fix = "shorten duration, set maxPricePerHour or deposit"
    problem = limits.deposit_problem(deployment.name, "duration", what, worst, fix)
    if problem:
        raise ConfigError(f"linq:{problem}")
