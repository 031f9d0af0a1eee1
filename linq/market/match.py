"""Explainable matching: which providers can run these requirements, in what order, and why not the rest.

`match(providers, requirements)` is a pure function. Every provider is checked against every filter
and ALL failing filters are recorded (not just the first), each as a reason code plus a sentence.

Filters (a provider passes only if none fails):
    denied by the deny list · not in the allow list (when one is given) · inactive · no gateway published
    (only when `require_gateway`: the requestor reaches providers through their gateways, except those in
    `direct`, which it reaches with its own credentials) · region not wanted
    (a wanted region also matches its sub-regions: "eu" matches "eu-west") · reputation below minimum
    · free CPU / memory / storage below the request (an exact fit passes) · GPU model/class not offered
    · not enough free GPUs in any matching class · rate above the hourly ceiling · deposit for the
    duration above the total ceiling.
Among a provider's GPU classes that match, the cheapest with enough free units is used (then lowest id).

Ranking: score = (w_price·price + w_rep·reputation + w_head·headroom) / (w_price + w_rep + w_head), where
    price      = cheapest candidate rate / this rate (1.0 for the cheapest; 1.0 when the rate is 0)
    reputation = the provider's reputation score (linq.market.reputation)
    headroom   = mean over requested dimensions of (free - requested) / total: how much room is left,
                 so load spreads instead of filling one provider to the brim
Candidates are sorted by score descending, then by address ascending (lowercase hex) — deterministic.

Speed: records are compiled once into columns (`compile_providers`, once per index snapshot); each
filter is one comprehension over a column, only failures are recorded per provider (as reason codes),
and the numbers and sentences of rejections are rendered on first access of `result.rejected`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from linq.market.encoding import normalise_region, region_matches
from linq.market.models import (
    Candidate,
    MatchResult,
    ProviderRecord,
    Reason,
    ReasonCode,
    Rejection,
    Requirements,
    ScoreBreakdown,
)
from linq.protocol.money import SECONDS_PER_HOUR, deposit_for
from linq.units import format_duration, format_lnq, format_rate


@dataclass(frozen=True, slots=True)
class CompiledProviders:
    """Providers as columns (one list per field) for the matcher; build once per index snapshot.

    Each filter is then one comprehension over one or two columns, which is several times faster in
    CPython than a per-provider loop touching every field.
    """

    address: list[str]
    lower: list[str]
    inactive: list[int]  # indices of deactivated providers
    region: list[str]
    free: tuple[list[int], list[int], list[int]]  # cpu, memory, storage
    total: tuple[list[int], list[int], list[int]]
    price: tuple[list[int], list[int], list[int]]
    reputation: list[float]
    # (class_id, model lowercase, free, total, price_per_hour) per class, per provider
    gpus: list[tuple[tuple[int, str, int, int, int], ...]]
    with_gpus: list[int]  # indices of providers that list at least one GPU class
    no_gateway: list[int]  # indices of providers that published no gateway

    def __len__(self) -> int:
        return len(self.address)


def compile_providers(providers: Sequence[ProviderRecord]) -> CompiledProviders:
    cols: tuple[list[Any], ...] = tuple([] for _ in range(13))
    (address, lower, region, fcpu, fmem, fsto, tcpu, tmem, tsto, pcpu, pmem, psto, rep) = cols
    inactive: list[int] = []
    gpus: list[tuple[tuple[int, str, int, int, int], ...]] = []
    with_gpus: list[int] = []
    no_gateway: list[int] = []
    for i, p in enumerate(providers):
        if p.gateway is None:
            no_gateway.append(i)
        total, used, prices = p.total, p.used, p.prices
        address.append(p.address)
        lower.append(p.address.lower())
        if not p.active:
            inactive.append(i)
        region.append(normalise_region(p.region))
        fcpu.append(max(total.cpu_millis - used.cpu_millis, 0))
        fmem.append(max(total.memory_mib - used.memory_mib, 0))
        fsto.append(max(total.storage_gib - used.storage_gib, 0))
        tcpu.append(total.cpu_millis)
        tmem.append(total.memory_mib)
        tsto.append(total.storage_gib)
        pcpu.append(prices.cpu_per_milli_hour)
        pmem.append(prices.memory_per_mib_hour)
        psto.append(prices.storage_per_gib_hour)
        rep.append(p.reputation.score)
        classes = tuple(
            (g.class_id, g.model.lower(), max(g.total - g.used, 0), g.total, g.price_per_hour) for g in p.gpu_classes
        )
        gpus.append(classes)
        if classes:
            with_gpus.append(i)
    return CompiledProviders(
        address,
        lower,
        inactive,
        region,
        (fcpu, fmem, fsto),
        (tcpu, tmem, tsto),
        (pcpu, pmem, psto),
        rep,
        gpus,
        with_gpus,
        no_gateway,
    )


def match(providers: Sequence[ProviderRecord] | CompiledProviders, req: Requirements) -> MatchResult:
    c = providers if isinstance(providers, CompiledProviders) else compile_providers(providers)
    n = len(c)
    fails: dict[int, list[ReasonCode]] = {}

    def fail(code: ReasonCode, indices: Iterable[int]) -> None:
        for i in indices:
            if i in fails:
                fails[i].append(code)
            else:
                fails[i] = [code]

    if req.deny:
        deny = {a.lower() for a in req.deny}
        fail(ReasonCode.DENIED, [i for i, a in enumerate(c.lower) if a in deny])
    if req.allow:
        allow = {a.lower() for a in req.allow}
        fail(ReasonCode.NOT_ALLOWED, [i for i, a in enumerate(c.lower) if a not in allow])
    fail(ReasonCode.INACTIVE, c.inactive)
    if req.require_gateway:
        direct = {a.lower() for a in req.direct}
        fail(ReasonCode.NO_GATEWAY, [i for i in c.no_gateway if c.lower[i] not in direct])
    if req.regions:
        # Few distinct regions: decide each once, then one set lookup per provider.
        ok = {r for r in set(c.region) if any(region_matches(r, want) for want in req.regions)}
        fail(ReasonCode.REGION, [i for i, r in enumerate(c.region) if r not in ok])
    if req.min_reputation > 0:
        floor = req.min_reputation
        fail(ReasonCode.REPUTATION, [i for i, r in enumerate(c.reputation) if r < floor])
    wants = (req.cpu_millis, req.memory_mib, req.storage_gib)
    for code, want, free in zip((ReasonCode.CPU, ReasonCode.MEMORY, ReasonCode.STORAGE), wants, c.free, strict=True):
        if want > 0:
            fail(code, [i for i, f in enumerate(free) if f < want])

    # GPU: choose per provider the cheapest matching class with room (then lowest id).
    chosen: dict[int, tuple[int, str, int, int, int]] = {}
    unpriceable: set[int] = set()
    gpu = req.gpu
    gpu_count = gpu.count if gpu else 0
    if gpu is not None:
        model = gpu.model.lower() if gpu.model is not None else None
        short: list[int] = []
        for i in c.with_gpus:
            offered = [g for g in c.gpus[i] if (g[1] == model if model is not None else g[0] == gpu.class_id)]
            if not offered:
                continue
            fitting = [g for g in offered if g[2] >= gpu_count]
            chosen[i] = min(fitting or offered, key=lambda g: (g[4], g[0]))
            if not fitting:
                short.append(i)
        unpriceable = set(range(n)) - chosen.keys()
        fail(ReasonCode.GPU_NOT_OFFERED, sorted(unpriceable))
        fail(ReasonCode.GPU, short)

    # Rates for every priceable provider; ceilings only when asked.
    pc, pm, ps = c.price
    cpu, mem, sto = wants
    rates = [cpu * a + mem * b + sto * d for a, b, d in zip(pc, pm, ps, strict=True)]
    if gpu is not None:
        for i, g in chosen.items():
            rates[i] += gpu_count * g[4]
    seconds = req.duration_seconds
    if req.max_price_per_hour is not None:
        ceiling = req.max_price_per_hour
        fail(ReasonCode.PRICE, [i for i, r in enumerate(rates) if r > ceiling and i not in unpriceable])
    if req.max_total is not None:
        # total > ceiling  <=>  ceilDiv(rate*s, 3600) > ceiling  <=>  rate*s > ceiling*3600
        bound = req.max_total * SECONDS_PER_HOUR
        fail(ReasonCode.TOTAL, [i for i, r in enumerate(rates) if r * seconds > bound and i not in unpriceable])

    accepted = [i for i in range(n) if i not in fails]
    ranked = _rank(c, accepted, rates, chosen, req)
    rejected = sorted(fails.items())

    def render_rejection(k: int) -> Rejection:
        i, codes = rejected[k]
        return Rejection.model_construct(
            provider=c.address[i],
            reasons=tuple(_reason(code, _data(c, i, code, rates, chosen, req), req) for code in codes),
        )

    def render_rejections() -> tuple[Rejection, ...]:
        return tuple(render_rejection(k) for k in range(len(rejected)))

    result = MatchResult.model_construct(requirements=req, considered=n)
    result._candidate_count = len(ranked.order)
    result._render_candidate = ranked.candidate
    result._render_rejections = render_rejections
    result._render_rejection = render_rejection
    result._rejected_codes = tuple((c.address[i], tuple(codes)) for i, codes in rejected)
    return result


def _data(
    c: CompiledProviders, i: int, code: ReasonCode, rates: list[int], chosen: dict[int, Any], req: Requirements
) -> Any:
    """The numbers behind one failed filter, recomputed from the columns when a sentence is wanted."""
    if code is ReasonCode.REGION:
        return c.region[i]
    if code is ReasonCode.REPUTATION:
        return c.reputation[i]
    if code in _DIMENSION:
        d = _DIMENSION[code]
        want = (req.cpu_millis, req.memory_mib, req.storage_gib)[d]
        return (want - c.free[d][i], c.free[d][i])
    if code is ReasonCode.GPU:
        assert req.gpu is not None
        model = req.gpu.model.lower() if req.gpu.model is not None else None
        offered = [g for g in c.gpus[i] if (g[1] == model if model is not None else g[0] == req.gpu.class_id)]
        best_free = max(g[2] for g in offered)
        return (req.gpu.count - best_free, best_free)
    if code is ReasonCode.PRICE:
        return (rates[i] - (req.max_price_per_hour or 0), rates[i])
    if code is ReasonCode.TOTAL:
        total = deposit_for(rates[i], req.duration_seconds)
        return (total - (req.max_total or 0), total)
    return None


_DIMENSION = {ReasonCode.CPU: 0, ReasonCode.MEMORY: 1, ReasonCode.STORAGE: 2}


@dataclass(frozen=True, slots=True)
class _Ranked:
    """Ranked candidates as parallel columns; Candidate objects are made only when asked for."""

    c: CompiledProviders
    order: list[int]  # provider indices, best first
    rates: list[int]
    chosen: dict[int, tuple[int, str, int, int, int]]
    price: dict[int, float]
    headroom: dict[int, float]
    score: dict[int, float]
    seconds: int

    def candidate(self, k: int) -> Candidate:
        i = self.order[k]
        g = self.chosen.get(i)
        reputation = self.c.reputation[i]
        return Candidate.model_construct(
            rank=k + 1,
            provider=self.c.address[i],
            region=self.c.region[i],
            gpu_class_id=g[0] if g is not None else None,
            rate_per_hour=self.rates[i],
            total_cost=deposit_for(self.rates[i], self.seconds),
            reputation=reputation,
            score=ScoreBreakdown.model_construct(
                price=self.price[i], reputation=reputation, headroom=self.headroom[i], total=self.score[i]
            ),
        )


def _rank(
    c: CompiledProviders,
    accepted: list[int],
    rates: list[int],
    chosen: dict[int, tuple[int, str, int, int, int]],
    req: Requirements,
) -> _Ranked:
    weights = req.weights
    w_sum = weights.price + weights.reputation + weights.headroom
    cheapest = min((rates[i] for i in accepted), default=0)
    price = [1.0 if rates[i] == 0 else cheapest / rates[i] for i in accepted]
    reputation = [c.reputation[i] for i in accepted]
    headroom = _headroom(c, accepted, (req.cpu_millis, req.memory_mib, req.storage_gib), chosen, req)
    wp, wr, wh = weights.price / w_sum, weights.reputation / w_sum, weights.headroom / w_sum
    score = [wp * p + wr * r + wh * h for p, r, h in zip(price, reputation, headroom, strict=True)]
    lower = c.lower
    order = sorted(range(len(accepted)), key=lambda k: (-score[k], lower[accepted[k]]))
    if req.limit is not None:
        order = order[: req.limit]
    return _Ranked(
        c=c,
        order=[accepted[k] for k in order],
        rates=rates,
        chosen=chosen,
        price={accepted[k]: price[k] for k in order},
        headroom={accepted[k]: headroom[k] for k in order},
        score={accepted[k]: score[k] for k in order},
        seconds=req.duration_seconds,
    )


def _headroom(
    c: CompiledProviders,
    accepted: list[int],
    wants: tuple[int, int, int],
    chosen: dict[int, tuple[int, str, int, int, int]],
    req: Requirements,
) -> list[float]:
    """Per accepted provider: mean fraction of capacity left after placement over the requested
    dimensions (all dimensions if none is requested). Accepted providers have free >= want, so a
    requested dimension always has total > 0."""
    parts: list[list[float]] = []
    for d, want in enumerate(wants):
        if want > 0:
            free, total = c.free[d], c.total[d]
            parts.append([(free[i] - want) / total[i] for i in accepted])
    if req.gpu is not None:
        n = req.gpu.count
        parts.append([(chosen[i][2] - n) / chosen[i][3] for i in accepted])
    if parts:
        k = len(parts)
        return [sum(col) / k for col in zip(*parts, strict=True)]
    out = []  # nothing requested: how empty the provider is
    for i in accepted:
        fr = [c.free[d][i] / c.total[d][i] for d in range(3) if c.total[d][i] > 0]
        out.append(sum(fr) / len(fr) if fr else 0.0)
    return out


def _reason(code: ReasonCode, data: Any, req: Requirements) -> Reason:
    """The sentence and the machine-readable detail for one failed filter."""
    message: str
    detail: dict[str, Any]
    if code is ReasonCode.DENIED:
        message, detail = "denied by list", {}
    elif code is ReasonCode.NOT_ALLOWED:
        message, detail = "not in allow list", {}
    elif code is ReasonCode.INACTIVE:
        message, detail = "inactive", {}
    elif code is ReasonCode.NO_GATEWAY:
        message, detail = "no gateway published (`linq provider update --gateway URL`)", {}
    elif code is ReasonCode.REGION:
        message = f"region {data or '(none)'} not in [{', '.join(req.regions)}]"
        detail = {"region": data, "wanted": list(req.regions)}
    elif code is ReasonCode.REPUTATION:
        message = f"reputation {_fmt_score(data)} below {_fmt_score(req.min_reputation)}"
        detail = {"reputation": data, "minimum": req.min_reputation}
    elif code in _SHORTFALL_UNITS:
        short, free = data
        what, unit = _SHORTFALL_UNITS[code]
        message = f"insufficient {what} by {short} {unit}"
        detail = {"short": short, "free": free, "unit": unit}
    elif code is ReasonCode.GPU_NOT_OFFERED:
        label = req.gpu.label if req.gpu else "?"
        message, detail = f"GPU class {label} not offered", {"gpu": label}
    elif code is ReasonCode.GPU:
        short, free = data
        label = req.gpu.label if req.gpu else "?"
        message = f"insufficient GPU {label} by {short} ({free} free)"
        detail = {"gpu": label, "short": short, "free": free, "unit": "GPUs"}
    elif code is ReasonCode.PRICE:
        over, rate = data
        message = f"price above ceiling by {format_rate(over)}"
        detail = {
            "over_wei": str(over),
            "rate_per_hour_wei": str(rate),
            "ceiling_wei": str(req.max_price_per_hour),
        }
    else:  # ReasonCode.TOTAL
        over, total = data
        message = f"total cost above ceiling by {format_lnq(over)} for {format_duration(req.duration_seconds)}"
        detail = {"over_wei": str(over), "total_wei": str(total), "ceiling_wei": str(req.max_total)}
    return Reason.model_construct(code=code, message=message, detail=detail)


_SHORTFALL_UNITS = {
    ReasonCode.CPU: ("CPU", "millicores"),
    ReasonCode.MEMORY: ("memory", "MiB"),
    ReasonCode.STORAGE: ("storage", "GiB"),
}


def _fmt_score(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") if value else "0"
