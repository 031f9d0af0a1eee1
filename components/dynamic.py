"""Shared base of the toolkit's dynamic providers (Escrow, ProviderRegistration).

Settings come from stack config (read in `configure`, where secrets arrive decrypted) or the environment;
never from resource inputs, so no key is pickled, stored in state, or shown in a diff:
    linq:network          {kind: devnet|rpc, devnetDir, rpcUrl, chainId, addresses}  (else $LINQ_* / devnet)
    linq:signerKey        secret: the signer's private key          (else $LINQ_PRIVATE_KEY)
    linq:keystore         encrypted keystore file + linq:keystorePassword (secret) or $LINQ_KEYSTORE_PASSWORD
    linq:devAccount       devnet only: a dev account index          (else $LINQ_DEV_ACCOUNT)
    linq:confirmations    blocks to wait after a receipt (default 1)
    linq:receiptTimeout   seconds to wait for a receipt (default 120)

The provider object itself is pickled by reference (this module is importable in the provider process)
and holds no client, lock or key until `configure` runs there.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pulumi.dynamic import CheckFailure, ConfigureRequest, ResourceProvider
from pulumi.runtime import rpc

from linq.chain.errors import ChainError
from linq.chain.values import whole

if TYPE_CHECKING:  # web3 loads on the first chain call, not when the provider process unpickles a provider
    from linq.chain import ChainClient, NetworkProfile, Signer

UNKNOWN = rpc.UNKNOWN


def is_unknown(value: Any) -> bool:
    """A value the engine does not know yet (preview of a resource that depends on another)."""
    return isinstance(value, str) and value == UNKNOWN


@dataclass(frozen=True)
class Settings:
    network: Mapping[str, Any]
    signer_key: str | None
    keystore: str | None
    keystore_password: str | None
    dev_account: int | None
    confirmations: int
    receipt_timeout: float

    def __repr__(self) -> str:  # never show the key or password
        return f"Settings(network={dict(self.network)}, confirmations={self.confirmations})"


def settings_from(get: Callable[[str], Any]) -> Settings:
    raw_network = get("linq:network")
    network = json.loads(raw_network) if isinstance(raw_network, str) and raw_network else (raw_network or {})
    dev = get("linq:devAccount")
    return Settings(
        network=network,
        signer_key=get("linq:signerKey") or None,
        keystore=get("linq:keystore") or None,
        keystore_password=get("linq:keystorePassword") or None,
        dev_account=whole("linq:devAccount", dev) if dev not in (None, "") else None,
        confirmations=whole("linq:confirmations", get("linq:confirmations") or 1, minimum=1),
        receipt_timeout=float(get("linq:receiptTimeout") or 120),
    )


def profile_from(network: Mapping[str, Any]) -> NetworkProfile:
    from linq.chain.network import profile_for

    return profile_for(network)


def client_from(s: Settings, *, signer: bool = True, w3: Any = None) -> ChainClient:
    """A chain client for these settings, with the configured signer (or read-only)."""
    from linq.chain import ChainClient, resolve_signer

    profile = profile_from(s.network)
    key = (
        resolve_signer(
            key=s.signer_key,
            keystore=s.keystore,
            keystore_password=s.keystore_password,
            dev_account=s.dev_account,
            devnet_dir=profile.devnet_dir,
        )
        if signer
        else None
    )
    return ChainClient(profile, key, confirmations=s.confirmations, receipt_timeout=s.receipt_timeout, w3=w3)


class LinqProvider(ResourceProvider):
    """Configure once per provider process; one chain client, built on first use and shared by the
    engine's concurrent calls (the transaction path serialises nonces per signer)."""

    # The pickled provider holds no secret (keys come from config), so skip the costly always-secret wrapping.
    serialize_as_secret_always = False

    def configure(self, req: ConfigureRequest) -> None:
        self._settings = settings_from(req.config.get)
        self._lock = threading.Lock()
        self._clients: dict[bool, ChainClient] = {}

    def _ensure_configured(self) -> None:
        if not hasattr(self, "_settings"):  # called as a plain object (tests) without configure
            from pulumi.dynamic import Config

            self.configure(ConfigureRequest(Config({}, "linq")))

    def client(self, *, signer: bool = True) -> ChainClient:
        self._ensure_configured()
        with self._lock:
            if signer not in self._clients:
                reader = self._clients.get(False)
                self._clients[signer] = client_from(self._settings, signer=signer, w3=reader.w3 if reader else None)
            return self._clients[signer]

    def signer_or_failure(self) -> tuple[Signer | None, list[CheckFailure]]:
        try:
            return self.client(signer=True).signer, []
        except ChainError as err:
            return None, [CheckFailure("signer", str(err))]


def merged(*parts: Mapping[str, Any]) -> dict[str, Any]:
    """Later parts win; the engine's default update drops outputs, so every update returns all of them."""
    out: dict[str, Any] = {}
    for part in parts:
        out.update({k: v for k, v in part.items() if k != "__provider"})
    return out
