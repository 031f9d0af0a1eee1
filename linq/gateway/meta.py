"""The gateway's discovery document, published on chain by `ProviderRegistry.publishMeta` (docs/gateway.md).

The registry stores only keccak256(document) in the provider's `metaHash` and emits the document in
`MetaPublished`, so an index finds a provider's gateway URL and TLS pin from the chain alone. The document is
canonical JSON (sorted keys, no spaces), so the same URL and pin always hash alike:

    {"gateway":"https://gw.example:8443","tlsSpkiSha256":"<64 hex>","v":1}

The pin is sha256 of the certificate's DER SubjectPublicKeyInfo (as HPKP/`curl --pinnedpubkey` use): a
requestor's client refuses any server whose key differs, whatever CA signed it.
"""

from __future__ import annotations

import hashlib
import json
import socket
import ssl
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from eth_utils import keccak
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from linq.chain.errors import InputError

VERSION = 1
MAX_URL = 200  # characters; the whole document stays far below the registry's MAX_META_BYTES (1024)


class GatewayInfo(BaseModel):
    """Where a provider's gateway listens and the pin of its TLS key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(description="https://host[:port], no path")
    tls_spki_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of the certificate's SPKI, hex")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return normalise_url(value)

    def document(self) -> bytes:
        """The canonical bytes published on chain."""
        body = {"gateway": self.url, "tlsSpkiSha256": self.tls_spki_sha256, "v": VERSION}
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    @property
    def meta_hash(self) -> bytes:
        return keccak(self.document())

    @property
    def host_port(self) -> tuple[str, int]:
        parts = urlsplit(self.url)
        return parts.hostname or "", parts.port or 443


def normalise_url(value: str, *, field: str = "--gateway") -> str:
    """https://host[:port] in lower case without a trailing slash; anything else is refused, naming the fix."""
    text = value.strip()
    if len(text) > MAX_URL:
        raise InputError(field, value, f"is longer than {MAX_URL} characters", "use a shorter host name")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as err:
        raise InputError(field, value, f"is not a URL ({err})", "give https://HOST[:PORT]") from None
    if parts.scheme != "https":
        raise InputError(
            field, value, "is not an https:// URL", "the gateway always serves TLS; give https://HOST[:PORT]"
        )
    if not parts.hostname or parts.username or parts.password:
        raise InputError(field, value, "has no host (or carries credentials)", "give https://HOST[:PORT]")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InputError(field, value, "has a path, query or fragment", "give only https://HOST[:PORT]")
    host = parts.hostname.lower()
    netloc = f"[{host}]" if ":" in host else host
    return f"https://{netloc}" + (f":{port}" if port and port != 443 else "")


def decode(document: bytes) -> GatewayInfo | None:
    """The GatewayInfo in a published document, or None when it is not one (other metadata, or malformed)."""
    try:
        data = json.loads(document)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or data.get("v") != VERSION:
        return None
    try:
        return GatewayInfo(url=data.get("gateway", ""), tls_spki_sha256=data.get("tlsSpkiSha256", ""))
    except (ValidationError, InputError):
        return None


def spki_pin(cert: bytes) -> str:
    """sha256 hex of a certificate's SubjectPublicKeyInfo; `cert` is PEM or DER."""
    parsed = (
        x509.load_pem_x509_certificate(cert)
        if cert.lstrip().startswith(b"-----")
        else x509.load_der_x509_certificate(cert)
    )
    spki = parsed.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


def served_pin(url: str, *, timeout: float = 10.0) -> str:
    """The pin of the certificate a gateway serves now (the provider pins its own gateway with this)."""
    info_url = normalise_url(url)
    parts = urlsplit(info_url)
    host, port = parts.hostname or "", parts.port or 443
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # we read the key to pin it; trust comes from the pin, not a CA
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except OSError as err:
        raise InputError(
            "--gateway",
            url,
            f"did not answer TLS ({err})",
            "start `linq provider gateway` first, or pass --gateway-cert FILE",
        ) from None
    if not der:
        raise InputError("--gateway", url, "served no certificate", "check the gateway's TLS settings")
    return spki_pin(der)
