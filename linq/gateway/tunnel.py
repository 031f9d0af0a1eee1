"""SPDY upgrades through the /k8s proxy (kubectl's port-forward, and exec/attach/cp of clients before WebSockets).

ASGI has no way to hand over a connection for a protocol other than WebSocket, so this is a small extension of
uvicorn's h11 protocol: a request under /k8s with `Upgrade: SPDY/3.1` is taken off the ASGI path and becomes a
byte tunnel. The same checks as every proxied request run first (linq.gateway.proxy: API path, bearer token,
no impersonation); the request is rewritten with only the forwarded headers plus the upgrade's own
(`Connection`, `Upgrade`, `X-Stream-Protocol-Version`) and sent to the API server, whose answer — 101 and then
SPDY frames, or a refusal from authentication or RBAC — is relayed back byte for byte. The gateway never
parses SPDY; the API server decides, as for a direct connection.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from linq.gateway.proxy import KubeProxy, Refused, forwarded_headers, header, is_proxied, status, target

UPGRADE_HEADERS = ("x-stream-protocol-version",)
MAX_RESPONSE_HEAD = 64 * 1024
CONNECT_TIMEOUT = 15.0


def is_spdy(upgrade: bytes | None) -> bool:
    return upgrade is not None and upgrade.startswith(b"spdy/")


class TunnelingH11(H11Protocol):
    """uvicorn's h11 protocol, with SPDY upgrades under /k8s passed to a Tunnel (set per server, see `bind`)."""

    kube_proxy: KubeProxy | None = None

    def _should_upgrade(self) -> bool:
        if self.kube_proxy is not None and is_spdy(self._get_upgrade()) and is_proxied(self.scope["path"]):
            return True
        return super()._should_upgrade()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        if not is_spdy(self._get_upgrade()) or self.kube_proxy is None:
            super().handle_websocket_upgrade(event)
            return
        self.connections.discard(self)
        tunnel = Tunnel(self.kube_proxy, dict(self.scope), event.method.decode("ascii"))
        self.transport.set_protocol(tunnel)
        tunnel.connection_made(self.transport)


def bind(kube_proxy: KubeProxy) -> type[TunnelingH11]:
    """The protocol class for uvicorn.Config(http=...), tunnelling to this proxy's API server."""
    return type("BoundTunnelingH11", (TunnelingH11,), {"kube_proxy": kube_proxy})


class Tunnel(asyncio.Protocol):
    def __init__(self, kube_proxy: KubeProxy, scope: dict[str, Any], method: str) -> None:
        self.proxy = kube_proxy
        self.scope = scope
        self.method = method
        self.transport: asyncio.Transport | None = None
        self.upstream: asyncio.StreamWriter | None = None
        self.pending: list[bytes] = []  # client bytes that arrive before the upstream is connected
        self.task: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.task = asyncio.get_running_loop().create_task(self._run())

    def data_received(self, data: bytes) -> None:
        if self.upstream is not None:
            self.upstream.write(data)
        else:
            self.pending.append(data)

    def eof_received(self) -> bool | None:
        if self.upstream is not None and self.upstream.can_write_eof():
            self.upstream.write_eof()
        return None  # TLS cannot half-close: the connection ends (SPDY clients close, they do not half-close)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.upstream is not None:
            self.upstream.close()
        if self.task is not None and not self.task.done():
            self.task.cancel()

    def _refuse(self, err: Refused) -> None:
        assert self.transport is not None
        body = json.dumps(status(err.code, err.reason, str(err))).encode()
        head = (
            f"HTTP/1.1 {err.code} {err.reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        self.transport.write(head.encode() + body)
        self.transport.close()

    async def _run(self) -> None:
        assert self.transport is not None
        try:
            path = target(self.scope)
            headers = forwarded_headers(self.scope)
        except Refused as err:
            self.proxy.event("proxy-refused", code=err.code, reason=err.reason, path=self.scope["path"][:200])
            self._refuse(err)
            return
        upstream = urlsplit(self.proxy.upstream.server)
        host = upstream.hostname or ""
        port = upstream.port or (443 if upstream.scheme == "https" else 80)
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    host, port, ssl=self.proxy.ssl or None, server_hostname=host if self.proxy.ssl else None
                ),
                CONNECT_TIMEOUT,
            )
        except (OSError, TimeoutError) as err:
            self._refuse(Refused(502, "ServiceUnavailable", f"the API server is unreachable ({err}); retry later"))
            return
        lines = [f"{self.method} {path} HTTP/1.1", f"Host: {upstream.netloc}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        for name, value in self.scope["headers"]:
            if name.decode("latin-1").lower() in UPGRADE_HEADERS:
                lines.append(f"{name.decode('latin-1')}: {value.decode('latin-1')}")
        lines += ["Connection: Upgrade", f"Upgrade: {header(self.scope, 'upgrade')}", "Content-Length: 0", "", ""]
        writer.write("\r\n".join(lines).encode("latin-1"))
        self.upstream = writer
        for chunk in self.pending:
            writer.write(chunk)
        self.pending.clear()
        self.proxy.event("proxy-upgrade", path=path.split("?", 1)[0][:200], protocol="spdy")
        try:
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                self.transport.write(chunk)
                if self.transport.get_write_buffer_size() > 1024 * 1024:
                    await asyncio.sleep(0.01)  # let a slow client catch up
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            self.transport.close()
