"""What the gateway does with a lease request: every check, in order, then the idempotent provisioning.

Checks (fail closed; a refused request creates nothing and consumes no nonce):
    body: JSON, Content-Type application/json, at most message.MAX_BODY bytes, the exact schema
    window: not expired, at most 5 minutes long, not issued in the future (60 s skew)
    audience: `provider` is this gateway's provider
    signature: recovers (EIP-712 domain = this chain id and this Escrow contract)
    escrow: known on this chain; held by this provider; the signer is its requestor
    status: Created or Active (not Ended, Cancelled, Stopped, Completed, moved), with a deposit
    nonce: fresh, consumed atomically in the cluster (nonces.py)
Then: a Created escrow is started (the Created-state race, docs/gateway.md: a requestor holding credentials
can no longer cancel for a full refund); the bundle is applied (server-side apply, so a retry or a second
replica converges on the same objects); a TokenRequest token for the session account is returned in a
namespace-scoped kubeconfig.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from eth_utils import to_checksum_address
from web3.logs import DISCARD

from linq.catalog.spec import RenderOptions
from linq.chain import escrows as ops
from linq.chain.client import ChainClient
from linq.chain.errors import ChainError, TxReverted
from linq.checkpoints import checkpoint
from linq.gateway import bundle, kubeapi, message
from linq.gateway.message import RequestRefused
from linq.gateway.nonces import NonceStore
from linq.kube import Kube, KubeError
from linq.protocol.status import EscrowStatus

LEASABLE = (EscrowStatus.CREATED, EscrowStatus.ACTIVE)  # escrows a lease may be granted for

API_AUDIENCE = "https://kubernetes.default.svc"  # the API server's own audience (its --service-account-issuer)
MAX_TOKEN_SECONDS = 3600
MIN_TOKEN_SECONDS = 600  # the API server refuses TokenRequests shorter than 10 minutes


@dataclass(frozen=True)
class GatewayConfig:
    tenant_server: str  # the Kubernetes API URL tenants use (direct, or through a proxy)
    ca_data: str | None = None  # base64 PEM of the API server's CA, for the tenant kubeconfig
    namespace: str = bundle.GATEWAY_NAMESPACE
    audiences: tuple[str, ...] = (API_AUDIENCE,)
    options: RenderOptions = field(default_factory=RenderOptions)
    placement: bundle.TenantPlacement = field(default_factory=bundle.TenantPlacement)  # where tenant pods run
    start_on_lease: bool = True
    upstream: str | None = None  # the API server the /k8s proxy forwards to (None: no proxy)
    upstream_ca_file: str | None = None
    via_gateway: bool = False  # tenant kubeconfigs point at the gateway's /k8s proxy, not at the API server
    public_url: str | None = None  # the gateway's own https URL (for via_gateway; default: first TLS host)
    prometheus: str | None = None  # the provider's Prometheus, for tenant metrics (linq.gateway.metrics)


class Gateway:
    """One provider's lease service; thread-safe (requests run in the ASGI server's thread pool)."""

    def __init__(self, chain: ChainClient, api: Kube, config: GatewayConfig) -> None:
        self.chain = chain
        self.api = api
        self.config = config
        self.provider = to_checksum_address(chain.address)
        self.chain_id = chain.chain_id
        self.escrow_address = chain.escrow.address
        self.nonces = NonceStore(api, config.namespace)
        self._start_lock = threading.Lock()  # one start transaction at a time from this replica's signer

    def info(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "chainId": self.chain_id,
            "escrow": self.escrow_address,
            "domain": {
                "name": message.DOMAIN_NAME,
                "version": message.DOMAIN_VERSION,
                "chainId": self.chain_id,
                "verifyingContract": self.escrow_address,
            },
            "apiServer": self.config.tenant_server,
        }

    def ensure_cluster_objects(self) -> None:
        """The gateway's namespace and the tenant ClusterRole (idempotent; run at start-up). In the LPStack both
        are rendered and the gateway's least-privilege role may not write roles (no `escalate`): then it only
        checks that the tenant role is there."""
        kubeapi.apply(
            self.api,
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": self.config.namespace, "labels": {bundle.LABEL_GATEWAY: "system"}},
            },
        )
        try:
            kubeapi.apply(self.api, bundle.tenant_cluster_role())
        except KubeError as err:
            if err.status != 403 or kubeapi.get(self.api, "ClusterRole", bundle.TENANT_ROLE) is None:
                raise

    # ---- POST /v1/leases ---------------------------------------------------------------------------------
    def verify(
        self, raw: bytes, content_type: str, action: str = "lease"
    ) -> tuple[message.SignedRequest, ops.EscrowState]:
        """Every check but the nonce; RequestRefused names the first that fails. `action` is the endpoint's:
        a request signed for another action (a lease request sent to /v1/metrics) is refused."""
        signed = message.parse(raw, content_type)
        req = signed.request
        if req.action != action:
            raise RequestRefused(
                400,
                "wrong_action",
                f"request.action {req.action!r} is not {action!r}, the action of this endpoint; sign a request "
                f"with action {action!r}",
            )
        message.check_window(req, int(time.time()))
        if req.provider != self.provider:
            raise RequestRefused(
                403,
                "wrong_provider",
                f"request.provider {req.provider} is not this gateway's "
                f"provider {self.provider}; sign for the provider that holds the escrow",
            )
        signer = message.recover(signed, self.chain_id, self.escrow_address)
        try:
            terms = ops.find_by_id(self.chain, bytes.fromhex(req.escrowId[2:]))
        except ChainError as err:
            raise RequestRefused(503, "chain_unavailable", f"cannot read the escrow ({err}); retry later") from None
        if terms is None:
            raise RequestRefused(
                404,
                "unknown_escrow",
                f"request.escrowId {req.escrowId} is not an escrow of "
                f"{self.escrow_address} on chain {self.chain_id}; check the id and the network",
            )
        if to_checksum_address(terms.provider) != self.provider:
            raise RequestRefused(
                403,
                "other_provider",
                f"escrow {req.escrowId} is held by {terms.provider}, not {self.provider}; ask that provider's gateway",
            )
        if signer != to_checksum_address(terms.requestor):
            raise RequestRefused(
                401,
                "not_requestor",
                f"the signature recovers {signer}, not the escrow's requestor "
                f"{terms.requestor}; sign with the requestor's key for chain {self.chain_id} "
                f"and contract {self.escrow_address}",
            )
        state = ops.read_state(self.chain, terms)
        if state.status not in LEASABLE:
            raise RequestRefused(
                409,
                "escrow_not_open",
                f"escrow {req.escrowId} is {state.status}; only Created "
                "or Active escrows get access (fund a new escrow)",
            )
        if state.deposited <= 0:
            raise RequestRefused(402, "unfunded", f"escrow {req.escrowId} holds no deposit; top it up")
        return signed, state

    def authorize(
        self, raw: bytes, content_type: str, action: str = "lease"
    ) -> tuple[message.SignedRequest, ops.EscrowState]:
        """`verify`, then the nonce consumed (last, atomically): the one way any signed endpoint admits a request."""
        signed, state = self.verify(raw, content_type, action)
        req = signed.request
        if not self.nonces.consume(req.nonce, req.expiresAt, req.escrowId):
            raise RequestRefused(
                401,
                "replayed_nonce",
                f"nonce {req.nonce} was already used; sign a new request (each request carries a fresh random nonce)",
            )
        return signed, state

    def lease(self, raw: bytes, content_type: str) -> dict[str, Any]:
        _signed, state = self.authorize(raw, content_type, "lease")
        if state.status == EscrowStatus.CREATED and self.config.start_on_lease:
            state = self._start(state)
        return self._provision(state)

    def _start(self, state: ops.EscrowState) -> ops.EscrowState:
        terms = state.terms
        with self._start_lock:
            current = ops.read_state(self.chain, terms)
            if current.status == EscrowStatus.CREATED:
                try:
                    result = self.chain.send(
                        self.chain.escrow.functions.start(terms.as_tuple()),
                        what=f"start escrow {current.escrow_id}",
                        context={"provider": self.provider, "action": "start"},
                        step="start",
                    )
                    self.chain.escrow.events.Started().process_receipt(result.receipt, errors=DISCARD)
                except TxReverted as err:
                    if err.error_name != "WrongStatus":  # started by another replica or the agent: fine
                        raise RequestRefused(409, "start_failed", f"could not start escrow: {err}") from None
            current = ops.read_state(self.chain, terms)
        if current.status != EscrowStatus.ACTIVE:
            raise RequestRefused(
                409,
                "escrow_not_open",
                f"escrow {current.escrow_id} is {current.status}; "
                "it was cancelled or moved while access was being granted",
            )
        return current

    def _provision(self, state: ops.EscrowState) -> dict[str, Any]:
        eid = state.escrow_id
        for obj in bundle.objects(state.terms, self.config.options, self.config.namespace, self.config.placement):
            kubeapi.apply(self.api, obj)
            checkpoint(f"gateway:applied:{obj['kind']}")  # inert unless a test installed a hook
        left = state.end - state.now if state.end else MAX_TOKEN_SECONDS
        seconds = max(min(MAX_TOKEN_SECONDS, left), MIN_TOKEN_SECONDS)
        token, expires = kubeapi.token_request(
            self.api, self.config.namespace, bundle.session_account(eid), seconds, list(self.config.audiences)
        )
        ns = bundle.namespace_name(eid)
        config = bundle.kubeconfig(self.config.tenant_server, self.config.ca_data, ns, token, f"linq-{ns}")
        return {
            "escrowId": eid,
            "namespace": ns,
            "status": state.status,
            "expiresAt": expires,
            "kubeconfig": config,
            "quota": self._quota(ns),
        }

    def _quota(self, ns: str) -> dict[str, str]:
        quota = kubeapi.get(self.api, "ResourceQuota", "lease-quota", ns) or {}
        return dict(quota.get("spec", {}).get("hard", {}))

    # ---- GET /v1/leases/{escrowId} ------------------------------------------------------------------------
    def status(self, escrow_id: str) -> dict[str, Any]:
        """Public facts only: the chain status and whether the namespace and the session exist."""
        try:
            ns = bundle.namespace_name(escrow_id)
        except ValueError as err:
            raise RequestRefused(400, "malformed", f"escrowId: {err}; give 0x + 64 hex digits") from None
        terms = ops.find_by_id(self.chain, bytes.fromhex(escrow_id.lower()[2:]))
        if terms is None or to_checksum_address(terms.provider) != self.provider:
            raise RequestRefused(404, "unknown_escrow", f"escrowId {escrow_id} is not an escrow of this provider")
        chain_status = ops.read_state(self.chain, terms).status
        namespace = kubeapi.get(self.api, "Namespace", ns)
        session = kubeapi.get(self.api, "ServiceAccount", bundle.session_account(escrow_id), self.config.namespace)
        return {
            "escrowId": escrow_id.lower(),
            "status": chain_status,
            "namespace": ns,
            "namespaceExists": namespace is not None and not namespace["metadata"].get("deletionTimestamp"),
            "credentials": "valid" if session is not None and chain_status in LEASABLE else "revoked",
        }
