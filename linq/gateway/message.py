"""The signed lease request: EIP-712 typed data a requestor signs with its wallet key (docs/gateway.md).

Domain {name: "LinqGateway", version: "1", chainId, verifyingContract: the Escrow contract}, so a signature
is good on one chain and one deployment only. The message binds the escrow, the provider (the audience: a
request for one provider is refused by every other), the action, a single-use nonce and a short validity
window:

    LeaseRequest(bytes32 escrowId,address provider,string action,bytes32 nonce,uint64 issuedAt,uint64 expiresAt)

The HTTP body is {"request": {...the message, 0x-hex and integers...}, "signature": "0x..65 bytes"}.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any, Literal

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import to_checksum_address
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

DOMAIN_NAME = "LinqGateway"
DOMAIN_VERSION = "1"
ACTIONS = ("lease", "metrics")  # what the signer asks for; each endpoint accepts only its own
MAX_WINDOW = 300  # seconds a request may be valid for (expiresAt - issuedAt)
MAX_SKEW = 60  # seconds a requestor's clock may run ahead of the gateway's
MAX_BODY = 4096  # bytes; a well-formed request is ≈ 500

TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "LeaseRequest": [
        {"name": "escrowId", "type": "bytes32"},
        {"name": "provider", "type": "address"},
        {"name": "action", "type": "string"},
        {"name": "nonce", "type": "bytes32"},
        {"name": "issuedAt", "type": "uint64"},
        {"name": "expiresAt", "type": "uint64"},
    ],
}

_HEX32 = r"^0x[0-9a-fA-F]{64}$"


class RequestRefused(ValueError):
    """A lease request is refused: `code` is machine-readable, the message names the field and the fix."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class LeaseRequest(BaseModel):
    """The signed fields, as the body carries them."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    escrowId: str = Field(pattern=_HEX32)
    provider: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    action: Literal["lease", "metrics"]
    nonce: str = Field(pattern=_HEX32)
    issuedAt: int = Field(ge=0, lt=2**64)
    expiresAt: int = Field(ge=0, lt=2**64)

    @field_validator("escrowId", "nonce")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()

    @field_validator("provider")
    @classmethod
    def _checksum(cls, value: str) -> str:
        return to_checksum_address(value)

    def typed_data(self, chain_id: int, escrow_contract: str) -> dict[str, Any]:
        return {
            "types": TYPES,
            "primaryType": "LeaseRequest",
            "domain": {
                "name": DOMAIN_NAME,
                "version": DOMAIN_VERSION,
                "chainId": chain_id,
                "verifyingContract": to_checksum_address(escrow_contract),
            },
            "message": {
                "escrowId": bytes.fromhex(self.escrowId[2:]),
                "provider": self.provider,
                "action": self.action,
                "nonce": bytes.fromhex(self.nonce[2:]),
                "issuedAt": self.issuedAt,
                "expiresAt": self.expiresAt,
            },
        }


class SignedRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    request: LeaseRequest
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")


def new_request(
    escrow_id: str, provider: str, *, now: int | None = None, ttl: int = 120, action: str = "lease"
) -> LeaseRequest:
    issued = int(time.time()) if now is None else now
    return LeaseRequest(
        escrowId=escrow_id.lower(),
        provider=to_checksum_address(provider),
        action=action,  # type: ignore[arg-type]  # validated by the model (ACTIONS)
        nonce="0x" + secrets.token_hex(32),
        issuedAt=issued,
        expiresAt=issued + ttl,
    )


def sign(request: LeaseRequest, private_key: Any, chain_id: int, escrow_contract: str) -> SignedRequest:
    signable = encode_typed_data(full_message=request.typed_data(chain_id, escrow_contract))
    signature = Account.sign_message(signable, private_key).signature
    return SignedRequest(request=request, signature="0x" + bytes(signature).hex())


def sign_by(request: LeaseRequest, signer: Any, chain_id: int, escrow_contract: str) -> SignedRequest:
    """As `sign`, with a linq.chain Signer (which never hands its key out)."""
    signature = signer.sign_typed_data(request.typed_data(chain_id, escrow_contract)).signature
    return SignedRequest(request=request, signature="0x" + bytes(signature).hex())


def body(signed: SignedRequest) -> bytes:
    return signed.model_dump_json().encode()


def parse(raw: bytes, content_type: str) -> SignedRequest:
    """The request in an HTTP body, or RequestRefused naming what is wrong."""
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise RequestRefused(
            415,
            "content_type",
            f"Content-Type {content_type!r} is not application/json; send the signed request as JSON",
        )
    if len(raw) > MAX_BODY:
        raise RequestRefused(
            413, "too_large", f"body of {len(raw)} bytes is over {MAX_BODY}; send only {{request, signature}}"
        )
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise RequestRefused(400, "malformed", f"body is not JSON ({err}); send {{request, signature}}") from None
    try:
        return SignedRequest.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise RequestRefused(
            400, "malformed", f"{where}: {first['msg']}; see docs/gateway.md for the message format"
        ) from None


def check_window(request: LeaseRequest, now: int) -> None:
    if request.expiresAt <= now:
        raise RequestRefused(401, "expired", f"request expired at {request.expiresAt} (now {now}); sign a new one")
    if request.expiresAt - request.issuedAt > MAX_WINDOW or request.expiresAt < request.issuedAt:
        raise RequestRefused(401, "window", f"expiresAt - issuedAt must be 0..{MAX_WINDOW} s; sign a shorter one")
    if request.issuedAt > now + MAX_SKEW:
        raise RequestRefused(
            401, "future", f"issuedAt {request.issuedAt} is in the future (now {now}); check the requestor's clock"
        )


def recover(signed: SignedRequest, chain_id: int, escrow_contract: str) -> str:
    """The address that signed, for this chain and contract (a signature for another domain recovers a
    different address, so it fails the requestor check)."""
    signable = encode_typed_data(full_message=signed.request.typed_data(chain_id, escrow_contract))
    try:
        return to_checksum_address(Account.recover_message(signable, signature=bytes.fromhex(signed.signature[2:])))
    except Exception as err:  # eth_keys raises BadSignature, ValueError on v/r/s out of range
        raise RequestRefused(
            401,
            "bad_signature",
            f"signature does not recover ({type(err).__name__}); sign the typed data with the requestor's key",
        ) from None
