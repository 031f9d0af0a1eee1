"""The devnet's own provider behind a real gateway: `linq devnet up` registers dev account 1 (the `local`
provider) with round test prices, starts `linq provider gateway` for it over TLS on 127.0.0.1 and publishes the
gateway's URL and TLS pin on chain, so a requestor stack needs no kubeconfig (docs/gateway.md).

`start_real_provider` adds a second provider (dev account 6) whose gateway places every tenant pod on the real
node (docs/real-node.md): the `local` provider's tenants stay on the kwok nodes (scale, GPUs, images that
cannot be pulled offline), this one's really run."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from linq.devnet import anvil, process

NAME = "gateway"
REAL_NAME = "gateway-real"
START_TIMEOUT = 90.0


def start(
    state_dir: Path,
    log_dir: Path,
    *,
    name: str = NAME,
    index: int = anvil.LOCAL_PROVIDER_INDEX,
    placement: tuple[str, ...] = (),
    prometheus: str | None = None,
) -> process.ProcessRecord:
    """Start a provider's gateway (its key is the dev account's, read from the devnet's mnemonic);
    `placement`: extra `--tenant-node-selector`/`--tenant-toleration` arguments; with `prometheus`, it serves
    tenant metrics from that Prometheus (the devnet's, scraping the real node)."""
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
        str(index),
        "--kubeconfig",
        str(state_dir / "kubeconfig"),
        "--listen",
        f"127.0.0.1:{port}",
        "--tls-host",
        "127.0.0.1",
        *(["--prometheus", prometheus] if prometheus else []),
        *placement,
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("LINQ_PRIVATE_KEY", "LINQ_KEYSTORE", "KUBECONFIG")}
    return process.start(name, argv, log_dir, env=env, ports={"https": port})


def url_of(record: process.ProcessRecord) -> str:
    return f"https://127.0.0.1:{record.ports['https']}"


def publish(state_dir: Path, record: process.ProcessRecord, index: int = anvil.LOCAL_PROVIDER_INDEX) -> str:
    """Register the provider (if it is not) and publish its gateway; returns the gateway URL."""
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
    client = ChainClient(devnet_profile(state_dir), from_dev_account(state_dir, index))
    current = reg.read(client, client.address) or register_provider(client)
    info = GatewayInfo(url=url, tls_spki_sha256=pin)
    if current.gateway != info:
        reg.apply(client, replace(current, meta_hash=info.meta_hash, meta_doc=info.document(), gateway=info))
    return url


@dataclass(frozen=True)
class RealProvider:
    address: str  # the provider's account (dev account REAL_PROVIDER_INDEX)
    public_domain: str  # its ingress: apps answer at https://<workload>-<namespace>.<public_domain>/


def start_real_provider(devnet) -> RealProvider:  # devnet: linq.devnet.Devnet
    """Start the `real` provider beside a running devnet with a real node: its ingress on the node
    (linq.devnet.ingress) and its gateway, which places every tenant pod on the real node; register and publish
    it. Both are recorded in the devnet's state, so `down` stops them. Idempotent."""
    from linq.devnet import ingress, node
    from linq.devnet.nodeconfig import REAL_NODE_LABEL

    if node.read_state(devnet.state_dir) is None:
        raise RuntimeError(f"the devnet in {devnet.state_dir} has no real node (`linq devnet up --real-node`, as root)")
    domain = ingress.start(devnet)
    records, endpoints = devnet.read()
    if not any(r.name == REAL_NAME and r.alive() for r in records):
        placement = (
            "--tenant-node-selector",
            f"{REAL_NODE_LABEL}=true",
            "--tenant-toleration",
            f"{REAL_NODE_LABEL}=true:NoSchedule",
        )
        record = start(
            devnet.state_dir,
            devnet.log_dir,
            name=REAL_NAME,
            index=anvil.REAL_PROVIDER_INDEX,
            placement=placement,
            prometheus=endpoints.prometheus or None,  # tenant metrics from the node's kubelet (linq metrics)
        )
        devnet.add_process(record)
        publish(devnet.state_dir, record, anvil.REAL_PROVIDER_INDEX)
    return RealProvider(address=anvil.dev_addresses(devnet.state_dir)[anvil.REAL_PROVIDER_INDEX], public_domain=domain)
