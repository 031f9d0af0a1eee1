"""The devnet's own provider behind a real gateway: `linq devnet up` registers dev account 1 (the `local`
provider) with round test prices, starts `linq provider gateway` for it over TLS on 127.0.0.1 and publishes the
gateway's URL and TLS pin on chain, so a requestor stack needs no kubeconfig (docs/gateway.md)."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from pathlib import Path

from linq.devnet import anvil, process

NAME = "gateway"
START_TIMEOUT = 90.0


def start(state_dir: Path, log_dir: Path, *, prometheus: str | None = None) -> process.ProcessRecord:
    """Start the local provider's gateway (its key is the dev account's, read from the devnet's mnemonic); with
    `prometheus`, it serves tenant metrics from that Prometheus (the devnet's, scraping the real node)."""
    port = process.free_port()
    linq = Path(sys.executable).parent / "linq"
    argv = [
        str(linq) if linq.exists() else sys.executable,
        *([] if linq.exists() else ["-m", "linq.cli"]),
        "provider",
        "gateway",
        "--devnet-dir",
        str(state_dir),
        "--dev-key-index",
        str(anvil.LOCAL_PROVIDER_INDEX),
        "--kubeconfig",
        str(state_dir / "kubeconfig"),
        "--listen",
        f"127.0.0.1:{port}",
        "--tls-host",
        "127.0.0.1",
        *(["--prometheus", prometheus] if prometheus else []),
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("LINQ_PRIVATE_KEY", "LINQ_KEYSTORE", "KUBECONFIG")}
    return process.start(NAME, argv, log_dir, env=env, ports={"https": port})


def url_of(record: process.ProcessRecord) -> str:
    return f"https://127.0.0.1:{record.ports['https']}"


def publish(state_dir: Path, record: process.ProcessRecord) -> str:
    """Register the local provider (if it is not) and publish its gateway; returns the gateway URL."""
    from linq.chain import registration as reg
    from linq.chain.client import ChainClient
    from linq.chain.errors import InputError
    from linq.chain.network import devnet_profile
    from linq.chain.signers import from_dev_account
    from linq.devnet.accounts import register_provider
    from linq.gateway.meta import GatewayInfo, served_pin

    url = url_of(record)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            pin = served_pin(url, timeout=5)
            break
        except InputError:
            if not record.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the devnet gateway did not start; its log:\n{process.log_tail(record)}") from None
            time.sleep(0.5)
    client = ChainClient(devnet_profile(state_dir), from_dev_account(state_dir, anvil.LOCAL_PROVIDER_INDEX))
    current = reg.read(client, client.address) or register_provider(client)
    info = GatewayInfo(url=url, tls_spki_sha256=pin)
    if current.gateway != info:
        reg.apply(client, replace(current, meta_hash=info.meta_hash, meta_doc=info.document(), gateway=info))
    return url
