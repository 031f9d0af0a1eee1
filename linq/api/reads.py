"""The public read endpoints. Each handler takes the context and the request's parts and returns JSON data;
every rule comes from the library (matching, pricing, money math, escrow reads, the catalog's rendering) and
the CLI's own readers where the CLI composes them (requirements, escrow ids, the escrow JSON)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.datastructures import QueryParams

from linq.api.context import ApiContext, View
from linq.api.errors import ApiError
from linq.catalog import DeploymentSpec, RenderOptions, generate_secrets, mask_secrets, render
from linq.catalog.errors import UnknownTemplate
from linq.chain import escrows as ops
from linq.contracts.terms import Terms
from linq.market.encoding import EncodingError, checksum
from linq.market.estimate import estimate_json
from linq.market.match import match
from linq.market.models import Candidate, ProviderRecord, Requirements
from linq.market.requirements import read_requirements
from linq.protocol.money import end_time, runway_seconds
from linq.protocol.status import EscrowStatus
from linq.units import UnitError, format_duration, format_lnq, parse_amount

MAX_PAGE = 1000
REJECTED_PAGE = ("rejected_offset", "rejected_limit")
# The query parameters of /match and /estimate (and the resource fields of /escrow/create): the CLI's
# requirement flags, named as parameters.
REQUIREMENT_PARAMS = (
    "plan",
    "cpu",
    "memory",
    "storage",
    "gpu",
    "duration",
    "max_price",
    "max_total",
    "region",
    "min_reputation",
    "allow",
    "deny",
    "weights",
    "limit",
)


def address(value: Any, field: str) -> str:
    """A checksummed address, or a refusal naming the field (linq.market.encoding.checksum decides)."""
    try:
        return checksum(value, field=field)
    except EncodingError:
        raise ApiError(
            400, "bad_address", field, value, "is not an Ethereum address", "give 0x followed by 40 hex digits"
        ) from None


@dataclass(frozen=True)
class Call:
    """One request as handlers see it."""

    path: dict[str, str]
    query: QueryParams
    body: Any = None
    key_id: str | None = None


def _int(query: QueryParams, name: str, default: int, low: int, high: int) -> int:
    text = query.get(name)
    if text is None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise ApiError(
            400, "bad_parameter", name, text, f"is not a whole number in {low}…{high}", f"e.g. {name}={default}"
        )
    return int(text)


def _bool(query: QueryParams, name: str) -> bool:
    text = (query.get(name) or "false").lower()
    if text not in ("true", "false", "1", "0"):
        raise ApiError(400, "bad_parameter", name, text, "is not a boolean", f"give {name}=true or {name}=false")
    return text in ("true", "1")


def requirements(query: QueryParams, extra: tuple[str, ...] = ()) -> Requirements:
    """Requirements from query parameters named like the CLI's flags (cpu, max_price, region, …), read by the
    CLI's own reader, so both refuse the same inputs with the same sentences."""
    known = {*REQUIREMENT_PARAMS, "provider", *extra}
    for name in query:
        if name not in known:
            raise ApiError(
                400,
                "unknown_parameter",
                name,
                query.get(name),
                "is not a parameter here",
                f"use {', '.join(sorted(known))}",
            )
    text = query.get("min_reputation", "0")
    try:
        min_rep = float(text)
    except ValueError:
        raise UnitError("min_reputation", text, "is not a number", "give a score in [0, 1], e.g. 0.5") from None
    limit = _int(query, "limit", 0, 1, 10_000) if query.get("limit") else None
    return read_requirements(
        plan=query.get("plan"),
        cpu=query.get("cpu"),
        memory=query.get("memory"),
        storage=query.get("storage"),
        gpu=query.get("gpu"),
        duration=query.get("duration", "1h"),
        max_price=query.get("max_price"),
        max_total=query.get("max_total"),
        regions=tuple(query.getlist("region")),
        min_reputation=min_rep,
        allow=tuple(query.getlist("allow")),
        deny=tuple(query.getlist("deny")),
        weights=query.get("weights"),
        limit=limit,
    )


# ---- registry ----------------------------------------------------------------------------------------
def providers_list(ctx: ApiContext, call: Call) -> dict[str, Any]:
    view = ctx.view()
    offset = _int(call.query, "offset", 0, 0, 10**9)
    limit = _int(call.query, "limit", 100, 1, MAX_PAGE)
    if _bool(call.query, "full"):
        page = [p.model_dump(mode="json") for p in view.snapshot.providers[offset : offset + limit]]
    else:
        page = view.rows[offset : offset + limit]
    return {"index": view.meta(), "total": len(view.rows), "offset": offset, "providers": page}


def _provider(ctx: ApiContext, call: Call) -> tuple[ProviderRecord, dict[str, Any]]:
    wanted = address(call.path["address"], "address")
    view = ctx.view()
    record = view.by_address.get(wanted)
    if record is None:
        raise ApiError(
            404,
            "not_found",
            "address",
            wanted,
            f"is not registered in {view.snapshot.registry}",
            "list providers with GET /api/v1/registry/providers",
        )
    return record, view.meta()


def provider_show(ctx: ApiContext, call: Call) -> dict[str, Any]:
    record, meta = _provider(ctx, call)
    data = record.model_dump(mode="json")
    detail = record.reputation.detail
    data["reputation"]["score"] = detail.score
    data["reputation"]["credited_successes"] = str(detail.successes)
    data["reputation"]["capped_by_earnings"] = detail.capped_by_earnings
    return {"index": meta, "provider": data}


def provider_used(ctx: ApiContext, call: Call) -> dict[str, Any]:
    record, meta = _provider(ctx, call)
    view = ctx.view()
    open_escrows = sorted(e for e, p in view.snapshot.open_escrows.items() if p == record.address)
    return {
        "index": meta,
        "provider": record.address,
        "used": record.used.model_dump(),
        "free": record.free.model_dump(),
        "total": record.total.model_dump(),
        "gpu_classes": [
            {"class_id": g.class_id, "used": g.used, "free": g.free, "total": g.total} for g in record.gpu_classes
        ],
        "open_escrows": open_escrows,
    }


def provider_gpu_class(ctx: ApiContext, call: Call) -> dict[str, Any]:
    record, meta = _provider(ctx, call)
    text = call.path["class_id"]
    if not text.isdigit():
        raise ApiError(400, "bad_parameter", "class_id", text, "is not a class id", "give the class's number, e.g. 1")
    gpu = record.gpu_class(int(text))
    if gpu is None:
        raise ApiError(
            404,
            "not_found",
            "class_id",
            int(text),
            f"is not a GPU class of {record.address}",
            f"use one of {list(record.gpu_class_ids) or 'none (it lists no GPU classes)'}",
        )
    return {"index": meta, "provider": record.address, "gpu_class": {**gpu.model_dump(mode="json"), "free": gpu.free}}


# ---- catalog -----------------------------------------------------------------------------------------
def templates_list(ctx: ApiContext, call: Call) -> dict[str, Any]:
    category, text = call.query.get("category"), (call.query.get("q") or "").lower()
    chosen = [
        t
        for t in ctx.catalog
        if (category is None or t.category == category)
        and (not text or text in t.id.lower() or text in t.name.lower() or text in t.description.lower())
    ]
    categories = sorted({t.category for t in ctx.catalog})
    if category is not None and category not in categories:
        raise ApiError(
            400,
            "bad_parameter",
            "category",
            category,
            "is no template's category",
            f"use one of {', '.join(categories)}",
        )
    return {"categories": categories, "templates": [t.summary() for t in chosen]}


def template_show(ctx: ApiContext, call: Call) -> dict[str, Any]:
    try:
        t = ctx.catalog.get(call.path["template_id"], field="template_id")
    except UnknownTemplate as err:
        raise ApiError(404, "not_found", err.field, err.value, err.problem, err.fix) from None
    return {"template": t.model_dump(mode="json", by_alias=True, exclude_none=True)}


def plans_list(ctx: ApiContext, call: Call) -> dict[str, Any]:
    return {"plans": [p.model_dump(by_alias=True) for p in ctx.catalog.plans.ladder()]}


def render_manifests(ctx: ApiContext, call: Call) -> dict[str, Any]:
    """The exact manifests of a template deployment (POST body, or GET query for the non-secret fields);
    secrets are masked unless show_secrets. Generated secrets are made fresh, as `linq render` makes them."""
    data: dict[str, Any] = (
        call.body if call.body is not None else {k: call.query.get(k) for k in ("template", "plan", "name")}
    )
    data = {k: v for k, v in data.items() if v is not None}
    if call.body is None:
        data["env"] = dict(item.partition("=")[::2] for item in call.query.getlist("env"))
    allowed = {"template", "plan", "name", "env", "secrets", "show_secrets"}
    for name in data:
        if name not in allowed:
            raise ApiError(
                400, "unknown_field", name, data[name], "is not a render field", f"use {', '.join(sorted(allowed))}"
            )
    template_id = data.get("template")
    if not isinstance(template_id, str) or not template_id:
        raise ApiError(
            400, "missing_field", "template", template_id, "is missing", "give a template id (GET /api/v1/templates)"
        )
    for name in ("env", "secrets"):
        value = data.get(name, {})
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise ApiError(400, "bad_field", name, value, "is not a map of strings", 'give {"KEY": "value"}')
    template = ctx.catalog.get(template_id, field="template")
    secrets: dict[str, str] = dict(data.get("secrets") or {})
    generated = generate_secrets(template, keep=secrets)
    spec = DeploymentSpec.model_validate(
        {
            "name": data.get("name") or template_id,
            "template": template_id,
            "plan": data.get("plan"),
            "env": data.get("env", {}),
            "secrets": {k: v for k, v in secrets.items() if k not in generated},
            "generated": generated,
        }
    )
    manifests = render(spec, ctx.catalog, RenderOptions())
    shown = manifests if data.get("show_secrets") is True else mask_secrets(manifests)
    return {"template": template_id, "manifests": shown}


# ---- market ------------------------------------------------------------------------------------------
def match_providers(ctx: ApiContext, call: Call) -> dict[str, Any]:
    """Every candidate ranked; the rejected providers a page at a time (each with all its reasons), and how
    many were rejected for each reason."""
    req = requirements(call.query, REJECTED_PAGE)
    offset = _int(call.query, "rejected_offset", 0, 0, 10**9)
    limit = _int(call.query, "rejected_limit", 100, 1, 10_000)
    view = ctx.view()
    result = match(view.compiled, req)
    counts = sorted(result.rejection_counts().items(), key=lambda item: -item[1])
    return {
        "index": view.meta(),
        "requirements": req.model_dump(mode="json"),
        "considered": result.considered,
        "candidates": [c.model_dump(mode="json") for c in result.candidates],
        "rejected_total": result.rejected_count,
        "rejection_counts": {code.value: n for code, n in counts},
        "rejected_offset": offset,
        "rejected": [r.model_dump(mode="json") for r in result.rejected_page(offset, limit)],
    }


def estimate(ctx: ApiContext, call: Call) -> dict[str, Any]:
    """Exact wei for resources (a plan or explicit), at a provider (given, else the best match), for a duration."""
    req = requirements(call.query)
    view = ctx.view()
    provider = call.query.get("provider")
    best: Candidate | None
    if provider:
        best = at_provider(view, req, address(provider, "provider"))
    else:
        result = match(view.compiled, req)
        if not result.candidate_count:
            raise ApiError(
                409,
                "no_match",
                "requirements",
                dict(call.query),
                f"match no provider ({len(result.rejected)} rejected)",
                "GET /api/v1/match with the same parameters lists every reason",
            )
        best = result.best
    assert best is not None
    return {"index": view.meta(), **estimate_json(best, req, ctx.min_prepaid_seconds)}


def at_provider(view: View, req: Requirements, provider: str) -> Candidate:
    """The requirements priced at one provider, or a refusal with every reason it cannot run them."""
    result = match(view.compiled, req.model_copy(update={"allow": (provider,), "deny": ()}))
    best = result.best
    if best is None:
        rejection = result.rejection(provider)
        why = "; ".join(r.message for r in rejection.reasons) if rejection else "it is not registered"
        raise ApiError(
            409,
            "no_match",
            "provider",
            provider,
            f"cannot run this: {why}",
            "choose another provider (GET /api/v1/match)",
        )
    return best


# ---- escrows -----------------------------------------------------------------------------------------
def terms_of(ctx: ApiContext, escrow_id: str) -> Terms:
    return ops.terms_by_id(ctx.chain, escrow_id)


def escrow_show(ctx: ApiContext, call: Call) -> dict[str, Any]:
    terms = terms_of(ctx, call.path["escrow_id"])
    state = ops.read_state(ctx.chain, terms)
    settled = ops.settlement(ctx.chain, terms.escrow_id) if state.status.is_settled else None
    return {"escrow": state.status_json(settled)}


def fund_preview(ctx: ApiContext, call: Call) -> dict[str, Any]:
    """What a top-up of `amount` from `from` (default: the requestor) would do: balance, allowance, whether an
    approve is needed, and the runway and end before and after."""
    terms = terms_of(ctx, call.path["escrow_id"])
    text = call.query.get("amount")
    if text is None:
        raise ApiError(400, "missing_parameter", "amount", None, "is missing", "give amount='1.5 LNQ' or '42 wei'")
    amount = parse_amount(text, field="amount")
    payer = address(call.query.get("from") or terms.requestor, "from")
    state = ops.read_state(ctx.chain, terms)
    balance, allowance = ctx.chain.lnq_balance(payer), ctx.chain.allowance(payer)
    rate = terms.rate_per_hour
    after_deposit = state.deposited + amount
    if state.status == EscrowStatus.ACTIVE:
        end_after = end_time(after_deposit, rate, state.start)
        runway_after = max(end_after - state.now, 0)
    elif state.status == EscrowStatus.CREATED:
        end_after, runway_after = 0, runway_seconds(rate, after_deposit) or 0
    else:
        end_after, runway_after = state.end, 0
    return {
        "escrow_id": state.escrow_id,
        "status": state.status.value,
        "payer": payer,
        "amount_wei": str(amount),
        "balance_wei": str(balance),
        "allowance_wei": str(allowance),
        "enough_balance": balance >= amount,
        "needs_approve": allowance < amount,
        "runway_seconds": state.runway,
        "runway_after_seconds": runway_after,
        "end": state.end,
        "end_after": end_after,
        "summary": (
            f"top up by {format_lnq(amount)}: runway {format_duration(state.runway)} -> {format_duration(runway_after)}"
            + ("" if balance >= amount else f"; {payer} holds only {format_lnq(balance)}")
        ),
    }
