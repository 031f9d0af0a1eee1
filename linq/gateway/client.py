"""The requestor's side: talk to a provider's gateway over TLS pinned to the key published on chain.

Trust comes from the pin, not from a CA: the client completes the TLS handshake, compares sha256 of the
server certificate's SubjectPublicKeyInfo with the on-chain pin and sends nothing (no signed request) when
they differ. The signed request is single-use and provider-bound anyway; the pin keeps the returned
credential away from a network attacker.
"""

from __future__ import annotations

import hmac
import http.client
import json
import ssl
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eth_utils import to_checksum_address

from linq.errors import FieldError
from linq.gateway import message
from linq.gateway.meta import GatewayInfo, spki_pin

if TYPE_CHECKING:
    from linq.chain.client import ChainClient


class GatewayError(FieldError):
    """The gateway refused (its HTTP status and code), or could not be reached safely. House style (linq.errors):
    the field is what the user chose (the gateway URL, the provider), the problem and the fix are the
    gateway's own sentence (`<problem>; <fix>`), so a CLI or `pulumi up` shows one line, never a traceback."""

    def __init__(self, status: int, code: str, message_: str, *, field: str = "gateway", value: str = "") -> None:
        self.status = status
        self.code = code
        problem, _, fix = message_.rpartition("; ")
        if not problem:
            problem, fix = message_, "retry, or ask the provider"
        where = f" ({status} {code})" if status else f" ({code})"
        super().__init__(field, value, f"refused{where}: {problem}" if status else f"failed{where}: {problem}", fix)


class GatewayUnreachable(GatewayError):
    """No TLS connection to the gateway (exit code 3 by the table, like any unreachable source)."""


class PinMismatch(GatewayError):
    def __init__(self, url: str, expected: str, got: str) -> None:
        super().__init__(
            0,
            "tls_pin_mismatch",
            f"it served a TLS key with SPKI sha256 {got}, but the chain pins {expected}, so nothing was sent "
            "(a different server, or the provider rotated its key without publishing it); "
            "check the network (--rpc/--addresses) and ask the provider to publish its pin "
            "(`linq provider update --gateway URL`)",
            value=url,
        )


def served_certificate(info: GatewayInfo, *, timeout: float = 30.0) -> bytes:
    """The PEM certificate the gateway serves, after its key matched the on-chain pin (for clients that verify
    TLS with a CA file: the pinned self-signed certificate is then the one trusted root)."""
    conn = _connect(info, timeout)
    try:
        der = conn.sock.getpeercert(binary_form=True) if conn.sock else None
    finally:
        conn.close()
    if not der:
        raise GatewayUnreachable(0, "no_certificate", "served no certificate; check the gateway's TLS", value=info.url)
    return ssl.DER_cert_to_PEM_cert(der).encode()


def _connect(info: GatewayInfo, timeout: float) -> http.client.HTTPSConnection:
    host, port = info.host_port
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the SPKI pin below is the verification
    conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    try:
        conn.connect()
    except OSError as err:
        raise GatewayUnreachable(
            0, "unreachable", f"no connection ({err}); check that the provider's gateway is up", value=info.url
        ) from None
    der = conn.sock.getpeercert(binary_form=True) if conn.sock else None
    got = spki_pin(der) if der else ""
    if not hmac.compare_digest(got, info.tls_spki_sha256):
        conn.close()
        raise PinMismatch(info.url, info.tls_spki_sha256, got or "(none)")
    return conn


def call(
    info: GatewayInfo,
    method: str,
    path: str,
    body: bytes | None = None,
    *,
    content_type: str = "application/json",
    timeout: float = 60.0,
) -> dict[str, Any]:
    conn = _connect(info, timeout)
    try:
        headers = {"Content-Type": content_type} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        raw = response.read()
    except (OSError, http.client.HTTPException) as err:
        raise GatewayUnreachable(
            0,
            "connection_lost",
            f"the connection broke before an answer ({err.__class__.__name__}); retry: a new request converges "
            "on the same namespace",
            value=info.url,
        ) from None
    finally:
        conn.close()
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        data = {"error": "not_json", "message": raw[:200].decode(errors="replace")}
    if response.status >= 300:
        raise GatewayError(response.status, str(data.get("error", "")), str(data.get("message", data)), value=info.url)
    return data if isinstance(data, dict) else {"value": data}


def request_lease(
    info: GatewayInfo,
    escrow_id: str,
    provider: str,
    private_key: Any,
    chain_id: int,
    escrow_contract: str,
    *,
    timeout: float = 60.0,
) -> dict[str, Any]:
    """Sign a fresh lease request and send it; the gateway's answer (kubeconfig, namespace, expiry, quota)."""
    signed = message.sign(message.new_request(escrow_id, provider), private_key, chain_id, escrow_contract)
    return call(info, "POST", "/v1/leases", message.body(signed), timeout=timeout)


def lease_status(info: GatewayInfo, escrow_id: str, *, timeout: float = 30.0) -> dict[str, Any]:
    return call(info, "GET", f"/v1/leases/{escrow_id}", timeout=timeout)


@dataclass(frozen=True)
class Lease:
    """Lease access as the gateway granted it. `kubeconfig` holds a bearer token: keep it secret."""

    escrow_id: str
    provider: str
    namespace: str
    expires_at: str  # RFC 3339, the token's expiry
    kubeconfig: str = field(repr=False)  # JSON (a YAML subset), ready for a kubeconfig file or a k8s Provider
    quota: dict[str, Any] = field(default_factory=dict)


def gateway_of(chain: ChainClient, provider: str) -> GatewayInfo:
    """The provider's gateway URL and TLS pin, from the chain alone (its published metadata document)."""
    from linq.chain import registration

    record = registration.read(chain, to_checksum_address(provider))
    if record is None:
        raise GatewayError(
            0,
            "not_registered",
            "is not registered in the ProviderRegistry; pick a registered provider (`linq providers list`)",
            field="provider",
            value=provider,
        )
    if record.gateway is None:
        raise GatewayError(
            0,
            "no_gateway",
            "published no gateway on chain; reach it with a kubeconfig under linq:providers, "
            "or ask it to run `linq provider update --gateway URL`",
            field="provider",
            value=provider,
        )
    return record.gateway


@dataclass(frozen=True)
class ProxyAccess:
    """The Kubernetes API of one lease through the gateway's /k8s proxy: server URL, bearer token (secret), the
    gateway's pinned certificate as the CA. Works whichever URL the provider writes into kubeconfigs."""

    namespace: str
    server: str
    token: str = field(repr=False)
    ca_pem: bytes = field(repr=False)
    expires_at: str = ""


def proxy_access(chain: ChainClient, escrow_id: str, provider: str, *, timeout: float = 60.0) -> ProxyAccess:
    """Lease access (a fresh signed request) reached through the provider's gateway rather than its API server."""
    from linq.gateway.proxy import kubeconfig_server

    info = gateway_of(chain, provider)
    lease = obtain_lease(chain, escrow_id, provider, gateway=info, timeout=timeout)
    token = json.loads(lease.kubeconfig)["users"][0]["user"]["token"]
    return ProxyAccess(
        namespace=lease.namespace,
        server=kubeconfig_server(info.url),
        token=str(token),
        ca_pem=served_certificate(info, timeout=timeout),
        expires_at=lease.expires_at,
    )


def obtain_lease(
    chain: ChainClient, escrow_id: str, provider: str, *, gateway: GatewayInfo | None = None, timeout: float = 60.0
) -> Lease:
    """Lease access for the escrow with the chain client's signer (the escrow's requestor): the provider's
    gateway from the chain, a fresh signed request, the pinned TLS connection, the namespace-scoped credential."""
    info = gateway or gateway_of(chain, provider)
    signed = message.sign_by(
        message.new_request(escrow_id, provider), chain.signer, chain.chain_id, chain.escrow.address
    )
    answer = call(info, "POST", "/v1/leases", message.body(signed), timeout=timeout)
    return Lease(
        escrow_id=escrow_id.lower(),
        provider=provider.lower(),
        namespace=str(answer["namespace"]),
        expires_at=str(answer["expiresAt"]),
        kubeconfig=json.dumps(answer["kubeconfig"]),
        quota=dict(answer.get("quota") or {}),
    )


def obtain_metrics(
    chain: ChainClient,
    escrow_id: str,
    provider: str,
    *,
    window: str = "2m",
    gateway: GatewayInfo | None = None,
    timeout: float = 60.0,
) -> dict[str, Any]:
    """The escrow's usage from its provider's gateway (POST /v1/metrics), signed with the chain client's signer
    (the escrow's requestor): linq.monitor.metrics.Usage as JSON, plus escrowId and window."""
    info = gateway or gateway_of(chain, provider)
    signed = message.sign_by(
        message.new_request(escrow_id, provider, action="metrics"), chain.signer, chain.chain_id, chain.escrow.address
    )
    query = urllib.parse.urlencode({"window": window})
    return call(info, "POST", f"/v1/metrics?{query}", message.body(signed), timeout=timeout)
