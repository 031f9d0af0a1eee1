"""The API's Starlette app and its server. Per request: the API key (if one is presented), the rate limit
(per key, else per client address), auth for writes, the bounded body read, the handler in a worker thread,
and one JSON log line (method, path, status, key id, ms; never a key, a body or a signature). Every refusal
is JSON with field, value, problem, fix and message (linq/api/errors.py). CORS is off unless origins are
configured (a browser page on another origin then may call the API; same-origin needs nothing)."""

from __future__ import annotations

import json
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from linq.api.context import ApiContext
from linq.api.errors import ApiError, payload
from linq.api.keys import KeyInfo, KeyStore
from linq.api.limits import RateLimiter, read_body
from linq.api.reads import Call
from linq.api.routes import ENDPOINTS, PREFIX, Endpoint, openapi
from linq.jsonlog import JsonLog

_json_log = JsonLog("linq.api")
log = _json_log.logger
configure_logging = _json_log.configure
_event = _json_log.event
GRACE = 10  # seconds in-flight requests get at shutdown


def error_response(error: BaseException) -> JSONResponse:
    found = payload(error)
    if found is None:
        _event("api-error", error=type(error).__name__, detail=str(error)[:500])
        return JSONResponse(
            {
                "error": "internal",
                "field": None,
                "value": None,
                "problem": None,
                "fix": None,
                "message": "the API failed on this request (logged); retry, and report it if it persists",
            },
            status_code=500,
        )
    status, body = found
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimited) else None
    return JSONResponse(body, status_code=status, headers=headers)


class RateLimited(ApiError):
    def __init__(self, client: str, wait: float) -> None:
        self.retry_after = max(int(wait + 0.999), 1)
        super().__init__(
            429,
            "rate_limited",
            "client",
            client,
            "sent more requests than its limit allows",
            f"wait {self.retry_after} s and retry, or send fewer requests",
        )


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def build_app(ctx: ApiContext, keys: KeyStore) -> Starlette:
    settings = ctx.settings
    limiter = RateLimiter(settings.rate, settings.burst)
    document = openapi(version("linq-toolkit"))

    def endpoint(ep: Endpoint) -> Any:
        async def handle(request: Request) -> Response:
            started = time.perf_counter()
            key: KeyInfo | None = None
            status = 500
            try:
                presented = _bearer(request)
                if presented:
                    key = await run_in_threadpool(keys.check, presented)
                client = f"key:{key.id}" if key else f"ip:{request.client.host if request.client else '?'}"
                wait = limiter.allow(client)
                if wait:
                    raise RateLimited(client, wait)
                if ep.auth and key is None:
                    raise ApiError(
                        401,
                        "unauthorized",
                        "Authorization",
                        "(no header)" if presented is None else "Bearer …",
                        "is missing" if presented is None else "is not a valid, unrevoked API key",
                        "send `Authorization: Bearer <key>` with a key from `linq api keys create`",
                    )
                body = None
                if ep.method == "POST":
                    raw = await read_body(request, settings.max_body)
                    try:
                        body = json.loads(raw) if raw else None
                    except (json.JSONDecodeError, UnicodeDecodeError) as err:
                        raise ApiError(
                            400,
                            "bad_json",
                            "body",
                            raw[:80].decode(errors="replace"),
                            f"is not JSON ({err})",
                            "send a JSON object",
                        ) from None
                    if not isinstance(body, dict):
                        raise ApiError(
                            400,
                            "bad_body",
                            "body",
                            body,
                            "is not a JSON object",
                            "send a JSON object with the fields named in the OpenAPI document",
                        )
                call = Call(dict(request.path_params), request.query_params, body, key.id if key else None)
                data = await run_in_threadpool(ep.handler, ctx, call)
                status = 200
                return JSONResponse(data)
            except Exception as err:
                response = error_response(err)
                status = response.status_code
                return response
            finally:
                _event(
                    "api-request",
                    method=ep.method,
                    path=request.url.path,
                    status=status,
                    key=key.id if key else None,
                    ms=round((time.perf_counter() - started) * 1000, 1),
                )

        return handle

    async def openapi_json(request: Request) -> JSONResponse:
        return JSONResponse(document)

    async def healthz(request: Request) -> JSONResponse:
        try:
            block = await run_in_threadpool(lambda: int(ctx.chain.w3.eth.block_number))
        except Exception as err:
            return JSONResponse({"ok": False, "detail": str(err)[:200]}, status_code=503)
        return JSONResponse({"ok": True, "chain_id": ctx.chain.chain_id, "block": block})

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            err = ApiError(
                405,
                "method_not_allowed",
                "method",
                request.method,
                f"is not served at {request.url.path}",
                "see /api/v1/openapi.json",
            )
        else:
            err = ApiError(
                exc.status_code, "not_found", "path", request.url.path, "is not an endpoint", "see /api/v1/openapi.json"
            )
        return error_response(err)

    routes = [Route(PREFIX + ep.path, endpoint(ep), methods=[ep.method]) for ep in ENDPOINTS]
    # Fixed paths before templated ones: /escrow/offers/verify and /escrow/create are not escrow ids.
    routes.sort(key=lambda r: "{" in r.path)
    routes += [
        Route(PREFIX + "/openapi.json", openapi_json, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    middleware = []
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type"],
            )
        )
    return Starlette(routes=routes, middleware=middleware, exception_handlers={HTTPException: http_error})


def serve(
    ctx: ApiContext,
    keys: KeyStore,
    host: str,
    port: int,
    *,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT (in-flight requests get GRACE seconds). TLS when a certificate is given."""
    configure_logging()
    app = build_app(ctx, keys)
    _event(
        "api-started",
        listen=f"{host}:{port}",
        chain_id=ctx.chain.chain_id,
        escrow=ctx.chain.escrow.address,
        tls=tls_cert is not None,
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=GRACE,
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
    )
    try:
        uvicorn.Server(config).run()
    finally:
        _event("api-stopped")
