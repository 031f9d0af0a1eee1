"""The route table: every endpoint once, with what the OpenAPI document says about it. The Starlette routes
(linq/api/app.py) and the document (`openapi()`, served at /api/v1/openapi.json) are both made from it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from linq.api import reads, txs

PREFIX = "/api/v1"

REQ = reads.REQUIREMENT_PARAMS
PARAM_HELP = {
    "plan": "plan name (GET /plans)",
    "cpu": "cores (2, 0.5) or millicores (1500m)",
    "memory": "512Mi, 4Gi",
    "storage": "20Gi, 1Ti",
    "gpu": "MODEL:COUNT (nvidia-a100:2) or #CLASS:COUNT",
    "duration": "90m, 24h, 7d (default 1h)",
    "max_price": "hourly ceiling, '0.05 LNQ/h' or '42 wei/h'",
    "max_total": "ceiling for the duration, '5 LNQ' or '42 wei'",
    "region": "wanted region, repeatable ('eu' matches eu-*)",
    "min_reputation": "score in [0, 1]",
    "allow": "only these providers, repeatable",
    "deny": "never these providers, repeatable",
    "weights": "price=0.6,reputation=0.3,headroom=0.1",
    "limit": "at most this many candidates",
    "provider": "price at this provider (default: the best match)",
    "full": "true: every field of every record",
    "offset": "first row (default 0)",
    "rejected_offset": "first rejected provider listed (default 0)",
    "rejected_limit": "rejected providers listed (default 100, at most 10,000)",
    "category": "only this category",
    "q": "search in id, name and description",
    "amount": "'1.5 LNQ' or '42 wei'",
    "from": "the payer (default: the escrow's requestor)",
    "template": "template id",
    "name": "deployment name",
    "env": "KEY=VALUE, repeatable",
}
FIELD_HELP = {
    "from": "the address that will sign and send",
    "provider": "provider address",
    "deposit": "'1.5 LNQ' or '42 wei' (default: for the duration)",
    "salt": "0x + 64 hex digits (default: random)",
    "offer": "a signed offer (the JSON `linq offer sign` writes)",
    "amount": "'1.5 LNQ' or '42 wei'",
    "raw": "0x-hex signed EIP-1559 transaction",
    "template": "template id",
    "env": "object of strings",
    "secrets": "object of strings",
    "show_secrets": "true: do not mask secret values",
}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # below PREFIX
    handler: Callable[..., dict[str, Any]]
    summary: str
    auth: bool = False
    query: tuple[str, ...] = ()
    body: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    tag: str = "read"
    extra: dict[str, Any] = field(default_factory=dict)


ESCROW = "/escrow/{escrow_id}"


def _read(path: str, handler: Callable[..., dict[str, Any]], summary: str, tag: str, *query: str) -> Endpoint:
    return Endpoint("GET", path, handler, summary, query=query, tag=tag)


def _build(
    path: str,
    handler: Callable[..., dict[str, Any]],
    summary: str,
    body: tuple[str, ...] = ("from",),
    required: tuple[str, ...] | None = None,
) -> Endpoint:
    """A transaction builder (or the relay): POST, a key needed."""
    return Endpoint(
        "POST",
        path,
        handler,
        summary,
        auth=True,
        body=body,
        required=body if required is None else required,
        tag="transactions",
    )


ENDPOINTS: tuple[Endpoint, ...] = (
    _read(
        "/registry/providers",
        reads.providers_list,
        "Registered providers (a page)",
        "registry",
        "full",
        "offset",
        "limit",
    ),
    _read("/registry/providers/{address}", reads.provider_show, "One provider in full", "registry"),
    _read(
        "/registry/providers/{address}/used",
        reads.provider_used,
        "A provider's used and free capacity, open escrows",
        "registry",
    ),
    _read(
        "/registry/providers/{address}/gpu-classes/{class_id}",
        reads.provider_gpu_class,
        "One GPU class of a provider",
        "registry",
    ),
    _read("/templates", reads.templates_list, "The app catalog", "catalog", "category", "q"),
    _read("/templates/{template_id}", reads.template_show, "One template", "catalog"),
    _read("/plans", reads.plans_list, "Resource plans, smallest first", "catalog"),
    _read(
        "/render",
        reads.render_manifests,
        "The exact manifests of a template deployment (no secrets given)",
        "catalog",
        "template",
        "plan",
        "name",
        "env",
    ),
    Endpoint(
        "POST",
        "/render",
        reads.render_manifests,
        "The exact manifests of a template deployment",
        body=("template", "plan", "name", "env", "secrets", "show_secrets"),
        required=("template",),
        tag="catalog",
    ),
    _read(
        "/estimate", reads.estimate, "Exact wei for resources at a provider for a duration", "market", *REQ, "provider"
    ),
    _read(
        "/match",
        reads.match_providers,
        "Ranked candidates; rejected providers with every reason, a page at a time",
        "market",
        *REQ,
        *reads.REJECTED_PAGE,
    ),
    _read(ESCROW, reads.escrow_show, "Every figure of one escrow, read from the chain now", "escrow"),
    _read(
        ESCROW + "/fund/preview",
        reads.fund_preview,
        "Balance, allowance and runway of a top-up",
        "escrow",
        "amount",
        "from",
    ),
    Endpoint(
        "POST",
        "/escrow/offers/verify",
        txs.verify,
        "Check a signed offer against the chain",
        body=("offer",),
        required=("offer",),
        tag="escrow",
    ),
    _build(
        "/escrow/create",
        txs.create,
        "Build [approve +] create (registry prices or an offer)",
        txs.CREATE_FIELDS,
        ("from",),
    ),
    _build(ESCROW + "/fund", txs.fund, "Build [approve +] top-up", ("from", "amount")),
    _build(
        ESCROW + "/provider/update", txs.update_provider, "Build a provider change", ("from", "provider", "max_price")
    ),
    _build(ESCROW + "/start", txs.start, "Build start (the provider)"),
    _build(ESCROW + "/withdraw", txs.withdraw, "Build withdraw (anyone)"),
    _build(ESCROW + "/stop", txs.stop, "Build stop (the requestor)"),
    _build(ESCROW + "/finalize", txs.finalize, "Build finalize (anyone, once ended)"),
    _build("/tx/submit", txs.submit, "Relay a signed transaction; the receipt with decoded events or revert", ("raw",)),
)

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string"},
        "field": {"type": ["string", "null"]},
        "value": {},
        "problem": {"type": ["string", "null"]},
        "fix": {"type": ["string", "null"]},
        "message": {"type": "string"},
    },
}
TX_SCHEMA = {
    "type": "object",
    "properties": {
        k: {"type": "string"}
        for k in (
            "description",
            "from",
            "to",
            "data",
            "value",
            "gas",
            "maxFeePerGas",
            "maxPriorityFeePerGas",
            "chainId",
            "nonce",
            "type",
        )
    },
}


ERRORS = {
    "400": "a value is wrong: field, value, problem and fix in the body",
    "401": "missing, unknown or revoked API key",
    "404": "no such provider, GPU class, template or route",
    "409": "the chain refuses (a decoded revert, no provider can run it, the balance is short)",
    "413": "body over the limit",
    "429": "rate limited (Retry-After)",
    "503": "the chain is unreachable",
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def openapi(version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for ep in ENDPOINTS:
        params: list[dict[str, Any]] = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in _path_params(ep.path)
        ]
        for q in ep.query:
            repeat = q in ("region", "allow", "deny", "env")
            schema: dict[str, Any] = {"type": "array", "items": {"type": "string"}} if repeat else {"type": "string"}
            params.append(
                {
                    "name": q,
                    "in": "query",
                    "required": q == "amount",
                    "schema": schema,
                    "description": PARAM_HELP.get(q, q),
                }
            )
        op: dict[str, Any] = {
            "operationId": f"{ep.method.lower()}_{ep.handler.__name__}",
            "summary": ep.summary,
            "tags": [ep.tag],
            "parameters": params,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                **{status: _error(text) for status, text in ERRORS.items() if status != "401" or ep.auth},
            },
        }
        if ep.tag == "transactions" and ep.path != "/tx/submit":
            op["responses"]["200"]["content"]["application/json"]["schema"] = {
                "type": "object",
                "properties": {
                    "transactions": {"type": "array", "items": {"$ref": "#/components/schemas/UnsignedTransaction"}},
                    "summary": {"type": "string"},
                },
            }
        if ep.body:
            props: dict[str, dict[str, Any]] = {}
            for f in ep.body:
                if f == "offer":
                    props[f] = {"type": "object", "description": FIELD_HELP[f]}
                elif f in ("env", "secrets"):
                    props[f] = {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                        "description": FIELD_HELP[f],
                    }
                elif f == "show_secrets":
                    props[f] = {"type": "boolean", "description": FIELD_HELP[f]}
                else:
                    props[f] = {"type": "string", "description": FIELD_HELP.get(f, PARAM_HELP.get(f, f))}
            op["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": list(ep.required),
                            "properties": props,
                        }
                    }
                },
            }
        if ep.auth:
            op["security"] = [{"bearer": []}]
        paths.setdefault(PREFIX + ep.path, {})[ep.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "LinqProtocol Blockchain API", "version": version, "description": "docs/api.md"},
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR_SCHEMA, "UnsignedTransaction": TX_SCHEMA},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "`linq api keys create`"}
            },
        },
    }
