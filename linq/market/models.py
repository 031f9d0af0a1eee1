"""Pydantic models of the market: what the registry says (ProviderRecord), what a requestor asks for
(Requirements) and what matching answers (MatchResult, with a reason for every rejection).

Money is LNQ wei as Python ints; in JSON it is written as a decimal string so no consumer rounds it.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    computed_field,
    field_validator,
    model_validator,
)

from linq.contracts.terms import Resources
from linq.gateway.meta import GatewayInfo
from linq.market.encoding import checksum, normalise_region
from linq.market.pricing import UnitPrices, rate_per_hour
from linq.market.reputation import ReputationScore, score_reputation
from linq.protocol.money import deposit_for
from linq.units import parse_rate


def _int_from_text(value: Any) -> Any:
    """Wei as our JSON writes it (a decimal string of wei), or text in the unit grammar ('1.5 LNQ', '42 wei/h');
    floats are refused outright."""
    if isinstance(value, float):
        raise ValueError(f"{value!r} is a float; money is exact — give an int or a decimal string of wei")
    if isinstance(value, str):
        text = value.strip()
        return int(text) if text.isdigit() else parse_rate(text, field="amount")
    return value


def _address(value: Any) -> str:
    return checksum(value)


Wei = Annotated[int, BeforeValidator(_int_from_text), Field(ge=0), PlainSerializer(str, when_used="json")]
Uint32 = Annotated[int, Field(ge=0, le=2**32 - 1)]
Uint16 = Annotated[int, Field(ge=0, le=2**16 - 1)]
Address = Annotated[str, BeforeValidator(_address)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Capacity(_Frozen):
    cpu_millis: Uint32 = 0
    memory_mib: Uint32 = 0
    storage_gib: Uint32 = 0


class BaseRanges(_Frozen):
    """Registry prices, LNQ wei per unit-hour."""

    cpu_per_milli_hour: Wei = 0
    memory_per_mib_hour: Wei = 0
    storage_per_gib_hour: Wei = 0

    def unit_prices(self) -> UnitPrices:
        return UnitPrices(self.cpu_per_milli_hour, self.memory_per_mib_hour, self.storage_per_gib_hour)


class GpuClassRecord(_Frozen):
    class_id: Uint16
    model: str
    total: Uint32
    used: Uint32
    price_per_hour: Wei

    @property
    def free(self) -> int:
        return max(self.total - self.used, 0)


class ReputationCounters(_Frozen):
    completed: Uint32 = 0
    stopped_early: Uint32 = 0
    cancelled: Uint32 = 0
    total_earned: Wei = 0

    @cached_property
    def detail(self) -> ReputationScore:  # computed once per record
        return score_reputation(self.completed, self.stopped_early, self.cancelled, self.total_earned)

    @property
    def score(self) -> float:
        return self.detail.score


class ProviderRecord(_Frozen):
    """Everything the registry's ProviderView holds, with the GPU classes resolved and text decoded."""

    address: Address
    active: bool
    registered_at: int = Field(ge=0, description="unix time of registration")
    region: str = Field(description="decoded from bytes32; 0x-hex if it was not text")
    meta_hash: str = Field(pattern=r"^0x[0-9a-f]{64}$")
    total: Capacity
    used: Capacity
    prices: BaseRanges
    reputation: ReputationCounters = ReputationCounters()
    gpu_classes: tuple[GpuClassRecord, ...] = ()
    gateway: GatewayInfo | None = Field(default=None, description="from the document behind meta_hash, if published")

    @property
    def free(self) -> Capacity:
        # Saturating: a registry should never report used > total, but a cache must not go negative.
        return Capacity(
            cpu_millis=max(self.total.cpu_millis - self.used.cpu_millis, 0),
            memory_mib=max(self.total.memory_mib - self.used.memory_mib, 0),
            storage_gib=max(self.total.storage_gib - self.used.storage_gib, 0),
        )

    @property
    def gpu_class_ids(self) -> tuple[int, ...]:
        return tuple(g.class_id for g in self.gpu_classes)

    def gpu_class(self, class_id: int) -> GpuClassRecord | None:
        return next((g for g in self.gpu_classes if g.class_id == class_id), None)


def rate_at(resources: Resources, provider: ProviderRecord) -> int:
    """The escrow rate (wei/h) of these resources at the provider's registry prices."""
    gpu_price = 0
    if resources.gpu_count:
        gpu = provider.gpu_class(resources.gpu_class)
        if gpu is None:
            raise ValueError(
                f"gpu_class {resources.gpu_class} is not offered by {provider.address}; "
                f"it offers {list(provider.gpu_class_ids) or 'no GPU classes'}"
            )
        gpu_price = gpu.price_per_hour
    return rate_per_hour(
        resources.cpu_millis,
        resources.memory_mib,
        resources.storage_gib,
        provider.prices.unit_prices(),
        gpu_count=resources.gpu_count,
        gpu_price_per_hour=gpu_price,
    )


class GpuRequirement(_Frozen):
    """GPUs wanted: by model name (any class of that model) or by the provider's class id."""

    model: str | None = None
    class_id: Uint16 | None = None
    count: Annotated[int, Field(ge=1, le=2**16 - 1)] = 1

    @model_validator(mode="after")
    def _one_selector(self) -> GpuRequirement:
        if (self.model is None) == (self.class_id is None):
            raise ValueError("gpu: give exactly one of model (e.g. nvidia-a100) or class_id (e.g. 1)")
        return self

    @property
    def label(self) -> str:
        return self.model if self.model is not None else f"#{self.class_id}"


class RankingWeights(_Frozen):
    """Relative weights of the three score components (normalised by their sum)."""

    price: float = Field(default=0.6, ge=0)
    reputation: float = Field(default=0.3, ge=0)
    headroom: float = Field(default=0.1, ge=0)

    @model_validator(mode="after")
    def _not_all_zero(self) -> RankingWeights:
        if self.price + self.reputation + self.headroom <= 0:
            raise ValueError("weights: price, reputation and headroom are all 0; give at least one a positive weight")
        return self


class Requirements(_Frozen):
    """What a requestor asks the matcher for. Ceilings are optional; every filter is explained."""

    cpu_millis: Uint32 = 0
    memory_mib: Uint32 = 0
    storage_gib: Uint32 = 0
    gpu: GpuRequirement | None = None
    duration_seconds: int = Field(default=3600, ge=1, le=2**64 - 1)
    max_price_per_hour: Wei | None = None
    max_total: Wei | None = None
    regions: tuple[str, ...] = ()
    min_reputation: float = Field(default=0.0, ge=0.0, le=1.0)
    allow: tuple[Address, ...] = ()
    deny: tuple[Address, ...] = ()
    weights: RankingWeights = RankingWeights()
    limit: int | None = Field(default=None, ge=1, description="keep at most this many ranked candidates")
    require_gateway: bool = Field(default=False, description="only providers that published a gateway on chain")
    direct: tuple[Address, ...] = Field(default=(), description="reached without a gateway (no require_gateway)")

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        out = tuple(normalise_region(r) for r in value)
        if any(not r for r in out):
            raise ValueError("regions: an empty region name was given; remove it or name a region like eu-west")
        return out

    def resources(self, gpu_class_id: int = 0) -> Resources:
        return Resources(
            cpu_millis=self.cpu_millis,
            memory_mib=self.memory_mib,
            storage_gib=self.storage_gib,
            gpu_class=gpu_class_id if self.gpu else 0,
            gpu_count=self.gpu.count if self.gpu else 0,
        )


class ReasonCode(StrEnum):
    INACTIVE = "inactive"
    DENIED = "denied"
    NOT_ALLOWED = "not_in_allow_list"
    REGION = "region_not_allowed"
    REPUTATION = "reputation_below_minimum"
    CPU = "insufficient_cpu"
    MEMORY = "insufficient_memory"
    STORAGE = "insufficient_storage"
    GPU_NOT_OFFERED = "gpu_class_not_offered"
    GPU = "insufficient_gpu"
    PRICE = "price_above_ceiling"
    TOTAL = "total_above_ceiling"
    NO_GATEWAY = "no_gateway"


class Reason(_Frozen):
    code: ReasonCode
    message: str
    # Machine-readable numbers behind the sentence (e.g. {"short": 1500, "unit": "millicores"}).
    detail: dict[str, Any] = {}


class Rejection(_Frozen):
    provider: Address
    reasons: tuple[Reason, ...]

    @property
    def codes(self) -> tuple[ReasonCode, ...]:
        return tuple(r.code for r in self.reasons)


class ScoreBreakdown(_Frozen):
    price: float
    reputation: float
    headroom: float
    total: float


class Candidate(_Frozen):
    rank: int
    provider: Address
    region: str
    gpu_class_id: int | None
    rate_per_hour: Wei
    total_cost: Wei = Field(description="deposit for the requested duration: ceilDiv(rate * seconds, 3600)")
    reputation: float
    score: ScoreBreakdown

    def resources(self, requirements: Requirements) -> Resources:
        return requirements.resources(self.gpu_class_id or 0)


class MatchResult(BaseModel):
    """Ranked candidates and every rejected provider with all its reasons.

    Matching decides everything in its hot loop (ranking, and each rejection's reason codes); the
    Candidate and Rejection objects and the sentences are made on first access of `candidates` /
    `rejected` (or on model_dump), and `best` makes only the first candidate. A caller that wants the
    best provider of 10,000 does not pay for 10,000 objects.
    """

    model_config = ConfigDict(frozen=True)

    requirements: Requirements
    considered: int
    _candidate_count: int = PrivateAttr(default=0)
    _render_candidate: Callable[[int], Candidate] | None = PrivateAttr(default=None)
    _render_rejections: Callable[[], tuple[Rejection, ...]] = PrivateAttr(default=tuple)
    # (provider, reason codes) of every rejected provider, and one Rejection made on demand by position.
    _rejected_codes: tuple[tuple[str, tuple[ReasonCode, ...]], ...] = PrivateAttr(default=())
    _render_rejection: Callable[[int], Rejection] | None = PrivateAttr(default=None)

    @computed_field  # type: ignore[prop-decorator]
    @cached_property
    def candidates(self) -> tuple[Candidate, ...]:
        make = self._render_candidate
        return tuple(make(k) for k in range(self._candidate_count)) if make else ()

    @computed_field  # type: ignore[prop-decorator]
    @cached_property
    def rejected(self) -> tuple[Rejection, ...]:
        return self._render_rejections()

    @property
    def rejected_count(self) -> int:
        return len(self._rejected_codes) if self._render_rejection else len(self.rejected)

    def rejection_counts(self) -> dict[ReasonCode, int]:
        """How many providers each reason rejected (a provider counts once per reason it fails), no sentences made."""
        counts: dict[ReasonCode, int] = {}
        codes = self._rejected_codes if self._render_rejection else tuple((r.provider, r.codes) for r in self.rejected)
        for _provider, provider_codes in codes:
            for code in provider_codes:
                counts[code] = counts.get(code, 0) + 1
        return counts

    def rejected_page(self, offset: int, limit: int) -> tuple[Rejection, ...]:
        """Rejections offset … offset+limit, in the order of `rejected`, making only those objects."""
        if self._render_rejection is None:
            return self.rejected[offset : offset + limit]
        end = min(offset + limit, len(self._rejected_codes))
        return tuple(self._render_rejection(k) for k in range(offset, end))

    @property
    def candidate_count(self) -> int:
        return self._candidate_count

    @property
    def best(self) -> Candidate | None:
        if self._candidate_count == 0 or self._render_candidate is None:
            return None
        return self._render_candidate(0)

    def rejection(self, address: str) -> Rejection | None:
        wanted = checksum(address)
        return next((r for r in self.rejected if r.provider == wanted), None)


def total_cost(rate: int, requirements: Requirements) -> int:
    return deposit_for(rate, requirements.duration_seconds)
