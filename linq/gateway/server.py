"""Running the gateway: TLS on by default (the cluster-held key, linq.gateway.tls), uvicorn as the server,
graceful shutdown on SIGTERM/SIGINT (in-flight requests finish, up to GRACE seconds), a background sweep of
expired nonces."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from linq.gateway import tls
from linq.gateway.leases import Gateway
from linq.gateway.service import build_app, configure_logging, event

GRACE = 10  # seconds in-flight requests get at shutdown
SWEEP_EVERY = 60  # seconds between expired-nonce sweeps


def serve(gateway: Gateway, host: str, port: int, *, tls_hosts: list[str], insecure_http: bool = False) -> None:
    configure_logging()
    gateway.ensure_cluster_objects()
    app = build_app(gateway)
    folder: Path | None = None
    key_path: str | None = None
    cert_path: str | None = None
    pin = None
    if not insecure_http:
        key_pem, cert_pem = tls.ensure(gateway.api, gateway.config.namespace, tls_hosts)
        folder, key_file, cert_file = tls.write_files(key_pem, cert_pem)
        key_path, cert_path = str(key_file), str(cert_file)
        pin = tls.spki_pin(cert_pem)
    app.router.lifespan_context = _lifespan(gateway)
    event(
        "gateway-started",
        provider=gateway.provider,
        chain_id=gateway.chain_id,
        escrow=gateway.escrow_address,
        listen=f"{host}:{port}",
        tls=not insecure_http,
        tls_spki_sha256=pin,
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
    )
    try:
        uvicorn.Server(config).run()
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        event("gateway-stopped", provider=gateway.provider)


def _lifespan(gateway: Gateway) -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]:
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

    return lifespan
