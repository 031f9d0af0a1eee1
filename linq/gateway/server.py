"""Running the gateway: TLS on by default (the cluster-held key, linq.gateway.tls), uvicorn as the server,
graceful shutdown on SIGTERM/SIGINT (in-flight requests finish, up to GRACE seconds), a background sweep of
expired nonces."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from linq.gateway import proxy, tls, tunnel
from linq.gateway.leases import Gateway
from linq.gateway.service import build_app, configure_logging, event

GRACE = 10  # seconds in-flight requests get at shutdown
SWEEP_EVERY = 60  # seconds between expired-nonce sweeps


def serve(gateway: Gateway, host: str, port: int, *, tls_hosts: list[str], insecure_http: bool = False) -> None:
    configure_logging()
    gateway.ensure_cluster_objects()
    folder: Path | None = None
    key_path: str | None = None
    cert_path: str | None = None
    pin = None
    if not insecure_http:
        key_pem, cert_pem = tls.ensure(gateway.api, gateway.config.namespace, tls_hosts)
        folder, key_file, cert_file = tls.write_files(key_pem, cert_pem)
        key_path, cert_path = str(key_file), str(cert_file)
        pin = tls.spki_pin(cert_pem)
    kube_proxy = None
    if gateway.config.upstream:
        kube_proxy = proxy.KubeProxy(
            proxy.Upstream(gateway.config.upstream, gateway.config.upstream_ca_file),
            on_event=event,
        )
    if gateway.config.via_gateway:  # tenant kubeconfigs name the gateway (its pinned certificate as their CA)
        scheme = "http" if insecure_http else "https"
        public = gateway.config.public_url or f"{scheme}://{tls_hosts[0] if tls_hosts else host}:{port}"
        gateway.config = replace(
            gateway.config,
            tenant_server=proxy.kubeconfig_server(public),
            ca_data=None if insecure_http else base64.b64encode(cert_pem).decode(),
        )
    app = build_app(gateway, kube_proxy)
    app.router.lifespan_context = _lifespan(gateway, kube_proxy)
    event(
        "gateway-started",
        provider=gateway.provider,
        chain_id=gateway.chain_id,
        escrow=gateway.escrow_address,
        listen=f"{host}:{port}",
        tls=not insecure_http,
        tls_spki_sha256=pin,
        kube_proxy=kube_proxy is not None,
        tenant_server=gateway.config.tenant_server,
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=GRACE,
        ssl_keyfile=key_path,
        ssl_certfile=cert_path,
        http=tunnel.bind(kube_proxy) if kube_proxy is not None else "auto",  # SPDY upgrades under /k8s
    )
    try:
        uvicorn.Server(config).run()
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        event("gateway-stopped", provider=gateway.provider)


def _lifespan(
    gateway: Gateway, kube_proxy: proxy.KubeProxy | None
) -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async def sweep() -> None:
            while True:
                await asyncio.sleep(SWEEP_EVERY)
                try:
                    gone = await asyncio.to_thread(gateway.nonces.sweep)
                    if gone:
                        event("nonces-swept", deleted=gone)
                except Exception as err:  # a failed sweep is retried next time; never kill the server
                    event("nonce-sweep-failed", detail=str(err))

        task = asyncio.create_task(sweep())
        try:
            yield
        finally:
            task.cancel()
            if kube_proxy is not None:
                await kube_proxy.close()

    return lifespan
