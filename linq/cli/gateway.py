"""`linq provider gateway`: run the provider's lease gateway (docs/gateway.md).

Added to the `linq provider` group (like `linq provider agent`). Exit codes: the one table (docs/cli.md).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import click

from linq.chain import ChainClient, InputError, resolve_profile
from linq.cli.agent import _signer
from linq.cli.options import provider_service_options


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError("--listen", text, "is not HOST:PORT", "e.g. 0.0.0.0:8443 or 127.0.0.1:8443")
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104 - a gateway is meant to be reachable


def _placement(selectors: tuple[str, ...], tolerations: tuple[str, ...]):  # -> bundle.TenantPlacement
    from linq.gateway.bundle import TenantPlacement

    selector = {}
    for text in selectors:
        k, sep, v = text.partition("=")
        if not sep or not k:
            raise InputError("--tenant-node-selector", text, "is not KEY=VALUE", "e.g. pool=tenants")
        selector[k] = v
    parsed = []
    for text in tolerations:
        kv, sep, effect = text.rpartition(":")
        k, eq, v = kv.partition("=")
        if not sep or not k or effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            raise InputError("--tenant-toleration", text, "is not KEY[=VALUE]:EFFECT", "e.g. pool=tenants:NoSchedule")
        parsed.append(
            {"key": k, "operator": "Equal", "value": v, "effect": effect}
            if eq
            else {"key": k, "operator": "Exists", "effect": effect}
        )
    return TenantPlacement(node_selector=selector, tolerations=tuple(parsed))


@click.command("gateway")
@provider_service_options
@click.option("--listen", default="0.0.0.0:8443", show_default=True, help="HOST:PORT to serve on.")
@click.option(
    "--tls-host",
    "tls_hosts",
    multiple=True,
    help="Name or IP for the certificate made at first start (repeatable; default: the listen host).",
)
@click.option(
    "--tenant-server",
    default=None,
    help="Kubernetes API URL written into tenant kubeconfigs (default: the gateway's own API server).",
)
@click.option(
    "--tenant-access",
    type=click.Choice(["direct", "gateway"]),
    default="direct",
    show_default=True,
    help="What tenant kubeconfigs point at: the API server itself, or this gateway's /k8s proxy (expose one port).",
)
@click.option(
    "--public-url",
    default=None,
    help="The gateway's https URL as tenants reach it (for --tenant-access gateway; default: first --tls-host).",
)
@click.option(
    "--kube-proxy/--no-kube-proxy",
    default=True,
    show_default=True,
    help="Serve the Kubernetes API reverse proxy under /k8s (the API server checks the tenant's token).",
)
@click.option(
    "--prometheus",
    default=None,
    help="The provider's Prometheus URL, for tenant metrics (POST /v1/metrics; e.g. the LPStack's "
    "http://kps-prometheus.<monitoring>.svc:9090). Without it /v1/metrics answers 501.",
)
@click.option(
    "--tenant-node-selector",
    "node_selectors",
    multiple=True,
    help="KEY=VALUE every tenant pod must run on (a namespace annotation for PodNodeSelector; repeatable).",
)
@click.option(
    "--tenant-toleration",
    "tolerations",
    multiple=True,
    help="KEY[=VALUE]:EFFECT every tenant pod tolerates (PodTolerationRestriction's default; repeatable).",
)
def gateway(
    devnet_dir,
    rpc,
    chain_id,
    addresses,
    keystore,
    password_file,
    dev_key_index,
    kubeconfig,
    listen,
    tls_hosts,
    tenant_server,
    tenant_access,
    public_url,
    kube_proxy,
    prometheus,
    node_selectors,
    tolerations,
) -> None:
    """Serve lease access: EIP-712 signed requests in, namespace-scoped kubeconfigs out. TLS always; the
    certificate is made at first start and kept in the cluster; publish its pin with
    `linq provider update --gateway https://HOST:PORT`."""
    from linq.agent import Cluster
    from linq.gateway.leases import Gateway, GatewayConfig
    from linq.gateway.server import serve

    host, port = _listen(listen)
    placement = _placement(node_selectors, tolerations)
    profile = resolve_profile(devnet_dir=devnet_dir, rpc_url=rpc, chain_id=chain_id, addresses=addresses)
    signer = _signer(profile.devnet_dir, keystore, password_file, dev_key_index)
    if kubeconfig is None and not os.environ.get("KUBECONFIG") and profile.devnet_dir is not None:
        kubeconfig = profile.devnet_dir / "kubeconfig"
    cluster = Cluster.connect(kubeconfig, None)  # ClusterConfigError: exit 5 by the table
    conf = cluster.kube.configuration
    ca_data = base64.b64encode(Path(conf.ssl_ca_cert).read_bytes()).decode() if conf.ssl_ca_cert else None
    if prometheus:
        from linq.monitor.metrics import Prometheus

        Prometheus(prometheus)  # an URL that is not HTTP(S) is refused now, naming the flag
    if tenant_access == "gateway" and not kube_proxy:
        raise InputError("--tenant-access", tenant_access, "needs the proxy", "drop --no-kube-proxy")
    if public_url is not None:
        from linq.gateway.meta import normalise_url

        public_url = normalise_url(public_url, field="--public-url")
    config = GatewayConfig(
        tenant_server=tenant_server or conf.host,
        ca_data=ca_data,
        upstream=conf.host if kube_proxy else None,
        upstream_ca_file=conf.ssl_ca_cert or None,
        via_gateway=tenant_access == "gateway",
        public_url=public_url,
        prometheus=prometheus,
        placement=placement,
    )
    worker = Gateway(ChainClient(profile, signer), cluster.kube, config)
    serve(worker, host, port, tls_hosts=list(tls_hosts) or [host if host != "0.0.0.0" else "localhost"])  # noqa: S104
