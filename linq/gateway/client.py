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

from linq.gateway import message
from linq.gateway.meta import GatewayInfo, spki_pin

if TYPE_CHECKING:
    from linq.chain.client import ChainClient


class GatewayError(RuntimeError):
    """The gateway refused (status and code from its answer) or could not be reached safely."""

    def __init__(self, status: int, code: str, message_: str) -> None:
        super().__init__(message_)
        self.status = status
        self.code = code


class PinMismatch(GatewayError):
    def __init__(self, url: str, expected: str, got: str) -> None:
        super().__init__(
            0,
            "tls_pin_mismatch",
            f"{url} served a TLS key with SPKI sha256 {got}, but the chain pins "
            f"{expected}; nothing was sent (a different server, or the provider rotated its key "
            "without publishing it)",
        )


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
        raise GatewayError(0, "unreachable", f"{info.url} is unreachable ({err}); is the gateway up?") from None
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
    finally:
        conn.close()
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        data = {"error": "not_json", "message": raw[:200].decode(errors="replace")}
    if response.status >= 300:
        raise GatewayError(response.status, str(data.get("error", "")), str(data.get("message", data)))
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
            f"provider {provider} is not registered in the ProviderRegistry; "
            "pick a registered provider (`linq providers list`)",
        )
    if record.gateway is None:
        raise GatewayError(
            0,
            "no_gateway",
            f"provider {provider} published no gateway on chain; reach it with "
            "a kubeconfig under linq:providers, or ask it to run `linq provider update --gateway URL`",
        )
    return record.gateway


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
