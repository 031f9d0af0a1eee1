"""The Kubernetes API reverse proxy under `/k8s` (docs/gateway.md, "One public port"): a provider may expose the
gateway and nothing else; tenant kubeconfigs then point at `https://GATEWAY/k8s`.

The proxy adds no authority. It forwards the tenant's own bearer token and nothing of the gateway's (its
upstream session carries the API server's CA only, no client certificate, no token), so the API server's
authentication and RBAC decide every call exactly as they would for a direct one. Before forwarding it refuses,
with a Kubernetes `Status` naming the fix: a request without a bearer token (401), impersonation headers (403),
paths outside the API (`/api`, `/apis`, `/version`, `/openapi`; 404), dot segments or encoded slashes (400),
bodies over MAX_BODY (413).

Streams pass through: watches and `pods/log?follow` are relayed chunk by chunk; WebSocket upgrades (exec,
attach, cp and port-forward of kubectl >= 1.30/1.31, subprotocols `v5.channel.k8s.io`, `SPDY/3.1+portforward...`)
are relayed frame by frame with the subprotocol the API server chose. SPDY upgrades (kubectl's port-forward,
older clients' exec) cannot pass through ASGI: the server's h11 protocol hands them to a byte tunnel after the
same checks (linq.gateway.tunnel).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

PREFIX = "/k8s"
MAX_BODY = 3 * 1024 * 1024  # the API server's own request limit (3 MiB)
API_PATHS = ("/api", "/apis", "/version", "/openapi")
FORWARD = ("accept", "content-type", "user-agent", "kubectl-command", "kubectl-session")
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "content-encoding",
    }
)
WS_MAX_MESSAGE = 16 * 1024 * 1024


class Refused(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


def status(code: int, reason: str, message: str) -> dict[str, Any]:
    """A Kubernetes Status object: kubectl prints its message."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


@dataclass(frozen=True)
class Upstream:
    server: str  # the API server URL, e.g. https://127.0.0.1:6443
    ca_file: str | None = None
    verify: bool = True

    def ssl_context(self) -> ssl.SSLContext | bool:
        if not self.server.startswith("https"):
            return False
        context = ssl.create_default_context(cafile=self.ca_file)
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def is_proxied(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def target(scope: Scope) -> str:
    """The API path and query to forward, checked; Refused names what is wrong."""
    raw = scope.get("raw_path") or scope["path"].encode()
    path = raw.decode("latin-1").split("?", 1)[0][len(PREFIX) :] or "/"
    lowered = path.lower()
    if "%2f" in lowered or "%5c" in lowered or "%2e" in lowered or "\\" in path:
        raise Refused(400, "BadRequest", f"path {path!r} has encoded slashes or dots; send the plain API path")
    if any(segment in (".", "..") for segment in path.split("/")) or "//" in path:
        raise Refused(400, "BadRequest", f"path {path!r} has empty or dot segments; send the plain API path")
    if not any(path == p or path.startswith(p + "/") for p in API_PATHS):
        raise Refused(
            404, "NotFound", f"path {path!r} is not a Kubernetes API path; the proxy serves {', '.join(API_PATHS)}"
        )
    query = scope.get("query_string", b"").decode("latin-1")
    return path + (f"?{query}" if query else "")


def forwarded_headers(scope: Scope) -> dict[str, str]:
    """The tenant's bearer token and a few content headers; Refused without a token or with impersonation."""
    headers: dict[str, str] = {}
    auth = ""
    for name, value in scope["headers"]:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        if key.startswith("impersonate-"):
            raise Refused(403, "Forbidden", f"header {key} is refused by the gateway; tenants do not impersonate")
        if key == "authorization":
            auth = text
        elif key in FORWARD:
            headers[key] = text
    protocols = [p.strip() for p in header(scope, "sec-websocket-protocol").split(",") if p.strip()]
    has_ws_token = any(p.startswith("base64url.bearer.authorization.k8s.io.") for p in protocols)
    if not auth.lower().startswith("bearer ") and not has_ws_token:
        raise Refused(
            401,
            "Unauthorized",
            "no bearer token; use the kubeconfig the gateway issued (POST /v1/leases) — its token is the credential",
        )
    if auth:
        headers["authorization"] = auth
    return headers


def header(scope: Scope, wanted: str) -> str:
    for name, value in scope["headers"]:
        if name.decode("latin-1").lower() == wanted:
            return value.decode("latin-1")
    return ""


class KubeProxy:
    """ASGI app for `/k8s/...` (HTTP and WebSocket). One aiohttp session per event loop, made on first use."""

    def __init__(self, upstream: Upstream, on_event: Any = None) -> None:
        self.upstream = upstream
        self.ssl = upstream.ssl_context()
        self._session: aiohttp.ClientSession | None = None
        self.event = on_event or (lambda *a, **k: None)

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=15),
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),  # never carry state between tenants
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            path = target(scope)
            headers = forwarded_headers(scope)
        except Refused as err:
            self.event("proxy-refused", code=err.code, reason=err.reason, path=scope["path"][:200])
            if scope["type"] == "websocket":
                await WebSocket(scope, receive, send).send_denial_response(_status_response(err))
            else:
                await _status_response(err)(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send, path, headers)
        else:
            await self._http(scope, receive, send, path, headers)

    async def _http(self, scope: Scope, receive: Receive, send: Send, path: str, headers: dict[str, str]) -> None:
        request = Request(scope, receive)
        try:
            body = await _bounded_body(request)
        except Refused as err:
            self.event("proxy-refused", code=err.code, reason=err.reason, path=path[:200])
            await _status_response(err)(scope, receive, send)
            return
        try:
            upstream = await self.session().request(
                request.method,
                self.upstream.server + path,
                data=body if body else None,
                headers=headers,
                ssl=self.ssl,
                allow_redirects=False,
            )
        except (aiohttp.ClientError, OSError) as err:
            message = f"the provider's API server is unreachable ({err.__class__.__name__}); retry later"
            await _status_response(Refused(502, "ServiceUnavailable", message))(scope, receive, send)
            return
        out_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}

        async def relay() -> AsyncIterator[bytes]:
            try:
                async for chunk in upstream.content.iter_any():
                    yield chunk
            finally:
                upstream.release()

        response = StreamingResponse(relay(), status_code=upstream.status, headers=out_headers)
        await response(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send, path: str, headers: dict[str, str]) -> None:
        client = WebSocket(scope, receive, send)
        protocols = [p.strip() for p in header(scope, "sec-websocket-protocol").split(",") if p.strip()]
        headers.pop("content-type", None)
        url = self.upstream.server.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + path
        try:
            up = await self.session().ws_connect(
                url,
                protocols=protocols,
                headers=headers,
                ssl=self.ssl,
                max_msg_size=WS_MAX_MESSAGE,
                autoping=True,
                heartbeat=None,
            )
        except aiohttp.WSServerHandshakeError as err:
            self.event("proxy-upgrade-refused", status=err.status, detail=err.message, path=path.split("?", 1)[0][:200])
            code = err.status if err.status >= 400 else 502
            message = f"the API server refused the upgrade ({err.status} {err.message})"
            await client.send_denial_response(_status_response(Refused(code, "UpgradeRefused", message)))
            return
        except (aiohttp.ClientError, OSError) as err:
            message = f"the provider's API server is unreachable ({err.__class__.__name__}); retry later"
            await client.send_denial_response(_status_response(Refused(502, "ServiceUnavailable", message)))
            return
        await client.accept(subprotocol=up.protocol)
        self.event("proxy-upgrade", path=path.split("?", 1)[0][:200], protocol=up.protocol)

        async def to_upstream() -> None:
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    return
                if message.get("bytes") is not None:
                    await up.send_bytes(message["bytes"])
                elif message.get("text") is not None:
                    await up.send_str(message["text"])

        async def to_client() -> None:
            async for frame in up:
                if frame.type == aiohttp.WSMsgType.BINARY:
                    await send({"type": "websocket.send", "bytes": frame.data})
                elif frame.type == aiohttp.WSMsgType.TEXT:
                    await send({"type": "websocket.send", "text": frame.data})
                else:
                    break

        tasks = [asyncio.ensure_future(to_upstream()), asyncio.ensure_future(to_client())]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await up.close()
        if tasks[1] in done:  # the API server closed: pass its close code on
            with contextlib.suppress(RuntimeError, OSError):  # the client may have gone too
                await send({"type": "websocket.close", "code": _sendable(up.close_code)})


def _sendable(code: int | None) -> int:
    """The close code to pass on: 1005/1006/1015 describe a close and may not be sent; they become 1000."""
    if code is None or code in (1004, 1005, 1006, 1015) or not (1000 <= code < 5000):
        return 1000
    return code


async def _bounded_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise Refused(413, "RequestEntityTooLarge", f"body of {declared} bytes is over the {MAX_BODY}-byte limit")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise Refused(413, "RequestEntityTooLarge", f"body is over the {MAX_BODY}-byte limit; send less")
    return bytes(raw)


def _status_response(err: Refused) -> Response:
    return JSONResponse(status(err.code, err.reason, str(err)), status_code=err.code)


def kubeconfig_server(public_url: str) -> str:
    """The API URL tenants use when the provider exposes only the gateway."""
    return public_url.rstrip("/") + PREFIX


__all__ = ["MAX_BODY", "PREFIX", "KubeProxy", "Upstream", "is_proxied", "kubeconfig_server", "status"]
