"""Explainable matching: which providers can run these requirements, in what order, and why not the rest.

`match(providers, requirements)` is a pure function. Every provider is checked against every filter
and ALL failing filters are recorded (not just the first), each as a reason code plus a sentence.

Filters (a provider passes only if none fails):
    denied by the deny list · not in the allow list (when one is given) · inactive · region not wanted
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

Speed: records are compiled once into plain tuples (`compile_providers`, cached per list object);
the loop does integer comparisons only, and sentences are built after the loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from linq.market.encoding import normalise_region
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
from linq.market.pricing import SECONDS_PER_HOUR, format_rate
from linq.market.units import format_duration, format_lnq

# One compiled provider: indices of the tuple (kept as a tuple for speed in the hot loop).
(
    _ADDR,
    _LOWER,
    _ACTIVE,
    _REGION,
    _FCPU,
    _FMEM,
    _FSTO,
    _TCPU,
    _TMEM,
    _TSTO,
    _PCPU,
    _PMEM,
    _PSTO,
    _REP,
    _GPUS,
) = range(15)
# A compiled GPU class: (class_id, model, free, total, price_per_hour)


@dataclass(frozen=True, slots=True)
class CompiledProviders:
    """Providers flattened to tuples for the hot loop; build once per index snapshot and reuse."""

    rows: tuple[tuple[Any, ...], ...]

    def __len__(self) -> int:
        return len(self.rows)


def compile_providers(providers: Sequence[ProviderRecord]) -> CompiledProviders:
    rows = []
    for p in providers:
        total, used, prices = p.total, p.used, p.prices
        gpus = tuple(
            (g.class_id, g.model.lower(), max(g.total - g.used, 0), g.total, g.price_per_hour) for g in p.gpu_classes
        )
        rows.append((
            p.address, p.address.lower(), p.active, normalise_region(p.region),
            max(total.cpu_millis - used.cpu_millis, 0),
            max(total.memory_mib - used.memory_mib, 0),
            max(total.storage_gib - used.storage_gib, 0),
            total.cpu_millis, total.memory_mib, total.storage_gib,
            prices.cpu_per_milli_hour, prices.memory_per_mib_hour, prices.storage_per_gib_hour,
            p.reputation.score, gpus,
        ))  # fmt: skip
    return CompiledProviders(tuple(rows))


def match(providers: Sequence[ProviderRecord] | CompiledProviders, req: Requirements) -> MatchResult:
    compiled = providers if isinstance(providers, CompiledProviders) else compile_providers(providers)
    rows = compiled.rows

    deny = {a.lower() for a in req.deny}
    allow = {a.lower() for a in req.allow}
    regions = req.regions
    region_prefixes = tuple(r + "-" for r in regions)
    min_rep = req.min_reputation
    cpu, mem, sto = req.cpu_millis, req.memory_mib, req.storage_gib
    gpu = req.gpu
    gpu_count = gpu.count if gpu else 0
    gpu_model = gpu.model.lower() if gpu and gpu.model is not None else None
    gpu_class_id = gpu.class_id if gpu else None
    max_rate = req.max_price_per_hour
    max_total = req.max_total
    seconds = req.duration_seconds

    # Accepted: (row, rate, total, gpu) ; rejected: (row, [(code, data), ...]); data holds raw numbers.
    accepted: list[tuple[tuple[Any, ...], int, int, tuple[Any, ...] | None]] = []
    rejected: list[tuple[tuple[Any, ...], list[tuple[ReasonCode, Any]]]] = []
    for row in rows:
        why: list[tuple[ReasonCode, Any]] = []
        lower = row[_LOWER]
        if lower in deny:
            why.append((ReasonCode.DENIED, None))
        if allow and lower not in allow:
            why.append((ReasonCode.NOT_ALLOWED, None))
        if not row[_ACTIVE]:
            why.append((ReasonCode.INACTIVE, None))
        if regions:
            region = row[_REGION]
            if region not in regions and not region.startswith(region_prefixes):
                why.append((ReasonCode.REGION, region))
        if row[_REP] < min_rep:
            why.append((ReasonCode.REPUTATION, row[_REP]))
        if row[_FCPU] < cpu:
            why.append((ReasonCode.CPU, (cpu - row[_FCPU], row[_FCPU])))
        if row[_FMEM] < mem:
            why.append((ReasonCode.MEMORY, (mem - row[_FMEM], row[_FMEM])))
        if row[_FSTO] < sto:
            why.append((ReasonCode.STORAGE, (sto - row[_FSTO], row[_FSTO])))

        chosen: tuple[Any, ...] | None = None
        priceable = True
        if gpu_count:
            offered = [
                g for g in row[_GPUS]
                if (g[1] == gpu_model if gpu_model is not None else g[0] == gpu_class_id)
            ]  # fmt: skip
            if not offered:
                why.append((ReasonCode.GPU_NOT_OFFERED, None))
                priceable = False
            else:
                fitting = [g for g in offered if g[2] >= gpu_count]
                pool = fitting or offered
                chosen = min(pool, key=lambda g: (g[4], g[0]))
                if not fitting:
                    best_free = max(g[2] for g in offered)
                    why.append((ReasonCode.GPU, (gpu_count - best_free, best_free)))

        rate = total = 0
        if priceable:
            rate = cpu * row[_PCPU] + mem * row[_PMEM] + sto * row[_PSTO]
            if chosen is not None:
                rate += gpu_count * chosen[4]
            total = -(-rate * seconds // SECONDS_PER_HOUR)
            if max_rate is not None and rate > max_rate:
                why.append((ReasonCode.PRICE, (rate - max_rate, rate)))
            if max_total is not None and total > max_total:
                why.append((ReasonCode.TOTAL, (total - max_total, total)))

        if why:
            rejected.append((row, why))
        else:
            accepted.append((row, rate, total, chosen))

    candidates = _rank(accepted, req)
    if req.limit is not None:
        candidates = candidates[: req.limit]

    def render_rejections() -> tuple[Rejection, ...]:
        return tuple(
            Rejection.model_construct(
                provider=row[_ADDR], reasons=tuple(_reason(code, data, req) for code, data in why)
            )
            for row, why in rejected
        )

    result = MatchResult.model_construct(requirements=req, considered=len(rows), candidates=tuple(candidates))
    result._render_rejections = render_rejections
    return result


def _rank(
    accepted: list[tuple[tuple[Any, ...], int, int, tuple[Any, ...] | None]], req: Requirements
) -> list[Candidate]:
    if not accepted:
        return []
    weights = req.weights
    w_sum = weights.price + weights.reputation + weights.headroom
    cheapest = min(rate for _, rate, _, _ in accepted)
    wants = (req.cpu_millis, req.memory_mib, req.storage_gib)
    gpu_count = req.gpu.count if req.gpu else 0

    scored = []
    for row, rate, total, chosen in accepted:
        price = 1.0 if rate == 0 else cheapest / rate
        reputation = row[_REP]
        headroom = _headroom(row, wants, chosen, gpu_count)
        score = (weights.price * price + weights.reputation * reputation + weights.headroom * headroom) / w_sum
        scored.append((-score, row[_LOWER], row, rate, total, chosen, price, reputation, headroom, score))
    scored.sort(key=lambda s: (s[0], s[1]))

    return [
        Candidate.model_construct(
            rank=i,
            provider=row[_ADDR],
            region=row[_REGION],
            gpu_class_id=chosen[0] if chosen is not None else None,
            rate_per_hour=rate,
            total_cost=total,
            reputation=reputation,
            score=ScoreBreakdown.model_construct(price=price, reputation=reputation, headroom=headroom, total=score),
        )
        for i, (_, _, row, rate, total, chosen, price, reputation, headroom, score) in enumerate(scored, start=1)
    ]


def _headroom(row: tuple[Any, ...], wants: tuple[int, int, int], chosen: tuple[Any, ...] | None, gpus: int) -> float:
    """Mean fraction of capacity left after placement over the requested dimensions (all if none asked)."""
    dims = [
        (row[_FCPU], row[_TCPU], wants[0]),
        (row[_FMEM], row[_TMEM], wants[1]),
        (row[_FSTO], row[_TSTO], wants[2]),
    ]
    if chosen is not None:
        dims.append((chosen[2], chosen[3], gpus))
    asked = [d for d in dims if d[2] > 0] or dims
    parts = [(free - want) / total for free, total, want in asked if total > 0]
    return sum(parts) / len(parts) if parts else 0.0


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
