"""The gateway's HTTP API on Starlette (docs/gateway.md):

    GET  /healthz                 liveness + readiness (the cluster answers)
    GET  /v1/info                 provider, chain id, Escrow contract, EIP-712 domain, API server URL
    POST /v1/leases               a signed lease request -> namespace-scoped kubeconfig (application/json)
    GET  /v1/leases/{escrowId}    the lease's public state (chain status, namespace, credentials valid/revoked)
    *    /k8s/...                 the Kubernetes API reverse proxy, HTTP and WebSocket (linq.gateway.proxy)
    POST /v1/metrics[?window=2m]  a signed request (action "metrics") -> the escrow's usage (linq.gateway.metrics)

Every answer is JSON; a refusal is {"error": code, "message": sentence naming the field and the fix} with
the HTTP status of the failure. One structured log line per request (JSON on stderr): method, path, status,
escrow id, outcome code, milliseconds — never a token, signature or key.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route

from linq.gateway import kubeapi, metrics
from linq.gateway.leases import Gateway
from linq.gateway.message import MAX_BODY, RequestRefused
from linq.gateway.proxy import PREFIX, KubeProxy
from linq.jsonlog import JsonLog

_json_log = JsonLog("linq.gateway")
log = _json_log.logger
configure_logging = _json_log.configure
event = _json_log.event


def _refusal(err: RequestRefused) -> JSONResponse:
    return JSONResponse({"error": err.code, "message": str(err)}, status_code=err.status)


def build_app(gateway: Gateway, proxy: KubeProxy | None = None) -> Starlette:
    async def healthz(request: Request) -> JSONResponse:
        try:
            await run_in_threadpool(kubeapi.call, gateway.api, "GET", "/version")
        except kubeapi.KubeError as err:
            return JSONResponse({"ok": False, "detail": str(err)}, status_code=503)
        return JSONResponse({"ok": True, "provider": gateway.provider})

    async def info(request: Request) -> JSONResponse:
        return JSONResponse(gateway.info())

    async def create_lease(request: Request) -> JSONResponse:
        started = time.perf_counter()
        result = await _admit(request, "lease", gateway.lease)
        if isinstance(result, JSONResponse):
            return result
        event(
            "lease-granted",
            escrow_id=result["escrowId"],
            namespace=result["namespace"],
            status=result["status"],
            expires_at=result["expiresAt"],
            client=_client(request),
            ms=_ms(started),
        )
        return JSONResponse(result, status_code=201)

    async def lease_status(request: Request) -> JSONResponse:
        try:
            data = await run_in_threadpool(gateway.status, request.path_params["escrow_id"])
        except RequestRefused as err:
            return _refusal(err)
        return JSONResponse(data)

    async def tenant_metrics(request: Request) -> JSONResponse:
        started = time.perf_counter()
        window = request.query_params.get("window", metrics.DEFAULT_WINDOW)
        result = await _admit(request, "metrics", lambda raw, ct: metrics.tenant_metrics(gateway, raw, ct, window))
        if isinstance(result, JSONResponse):
            return result
        event("metrics-served", escrow_id=result["escrowId"], client=_client(request), ms=_ms(started))
        return JSONResponse(result)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/v1/info", info, methods=["GET"]),
        Route("/v1/leases", create_lease, methods=["POST"]),
        Route("/v1/leases/{escrow_id}", lease_status, methods=["GET"]),
        Route("/v1/metrics", tenant_metrics, methods=["POST"]),
    ]
    if proxy is not None:
        routes.append(Mount(PREFIX, app=proxy))
    return Starlette(routes=routes)


async def _admit(
    request: Request, name: str, work: Callable[[bytes, str], dict[str, Any]]
) -> dict[str, Any] | JSONResponse:
    """A signed request's common path: the bounded body read, then `work(body, content type)` in the thread pool
    (it runs Gateway.authorize first). A refusal or a cluster failure becomes its JSON answer and one log line
    (`<name>-refused`, `<name>-failed`); otherwise `work`'s result."""
    started = time.perf_counter()
    try:
        raw = await _read_body(request)
        return await run_in_threadpool(work, raw, request.headers.get("content-type", ""))
    except RequestRefused as err:
        event(
            f"{name}-refused",
            code=err.code,
            status=err.status,
            detail=str(err),
            client=_client(request),
            ms=_ms(started),
        )
        return _refusal(err)
    except kubeapi.KubeError as err:
        event(f"{name}-failed", status=502, detail=str(err), ms=_ms(started))
        return JSONResponse(
            {"error": "cluster", "message": f"the provider's cluster refused: {err}; retry"}, status_code=502
        )


async def _read_body(request: Request) -> bytes:
    """The body of a signed request, refused (413) past MAX_BODY without ever buffering more than that."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise RequestRefused(
            413, "too_large", f"body of {declared} bytes is over {MAX_BODY}; send only {{request, signature}}"
        )
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise RequestRefused(413, "too_large", f"body is over {MAX_BODY} bytes; send only {{request, signature}}")
    return raw


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
