"""Reaching a deployment with the requestor's key alone (`linq status/logs/metrics --via-gateway`): the escrow's
provider is read from the chain, its gateway and TLS pin from the registry (as `pulumi up` finds them), a fresh
signed lease request returns a namespace-scoped token, and the Kubernetes API is read through the gateway's
/k8s proxy with the gateway's pinned certificate as the only trusted CA. No kubeconfig is involved; the token
lives in this process only (the CA file is a private temporary file, removed at exit).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from linq.kube import Kube
from linq.monitor.cluster import Cluster
from linq.monitor.errors import SourceUnavailable
from linq.monitor.escrow import current_terms, parse_id

if TYPE_CHECKING:
    from linq.chain import ChainClient
    from linq.contracts.terms import Terms


@dataclass(frozen=True)
class LeaseView:
    cluster: Cluster
    namespace: str
    escrow_id: str  # the escrow's current id (after any provider change)
    provider: str


def requestor_view(
    escrow_id: str,
    *,
    devnet_dir: Path | None = None,
    rpc_url: str | None = None,
    addresses: Path | None = None,
    keystore: Path | None = None,
    password_file: Path | None = None,
) -> tuple[ChainClient, Terms]:
    """The requestor's chain client (its key: --keystore, else $LINQ_PRIVATE_KEY / the devnet's) and the escrow's
    current terms (after any provider change): what every read through a gateway starts from."""
    from linq.chain import ChainClient, ChainError, resolve_profile, resolve_signer
    from linq.chain.signers import from_keystore

    parse_id(escrow_id)
    try:
        profile = resolve_profile(devnet_dir=devnet_dir, rpc_url=rpc_url, addresses=addresses)
        signer = (
            from_keystore(keystore, password_file=password_file)
            if keystore
            else resolve_signer(devnet_dir=profile.devnet_dir)
        )
        client = ChainClient(profile, signer)
        return client, current_terms(client, escrow_id)
    except ChainError as err:
        raise SourceUnavailable(f"escrow {escrow_id}: {err}") from None


def through_gateway(escrow_id: str, **where: Any) -> LeaseView:
    """A lease token for the escrow's namespace, and the Kubernetes API read through the gateway's /k8s proxy.
    `where`: requestor_view's keywords."""
    from linq.gateway.client import proxy_access

    client, current = requestor_view(escrow_id, **where)
    current_id = "0x" + current.escrow_id.hex()
    access = proxy_access(client, current_id, current.provider)  # GatewayError: its own exit code by the table
    kube = Kube.from_token(access.server, access.token, _private_file(access.ca_pem))
    return LeaseView(Cluster(kube, f"gateway {access.server}"), access.namespace, current_id, current.provider)


def metrics_through_gateway(escrow_id: str, window: str, **where: Any) -> dict[str, Any]:
    """The escrow's usage from its provider's gateway (POST /v1/metrics: fixed query templates over the lease
    namespace, signed by the requestor). `where`: requestor_view's keywords."""
    from linq.gateway.client import obtain_metrics

    client, current = requestor_view(escrow_id, **where)
    return obtain_metrics(client, "0x" + current.escrow_id.hex(), current.provider, window=window)


def _private_file(data: bytes) -> str:
    fd, name = tempfile.mkstemp(prefix="linq-gateway-ca-", suffix=".pem")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    atexit.register(_remove, name)
    return name


def _remove(name: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(name)
