"""EIP-712 offers: a provider signs the terms, a requestor hands the signed file to the escrow.

Typed data (must equal the Escrow contract's type string and domain):
    Offer(address provider,address requestor,Resources resources,uint128 ratePerHour,uint64 minDuration,
          uint64 maxDuration,uint256 nonce,uint64 deadline)
    Resources(uint32 cpuMillis,uint32 memoryMiB,uint32 storageGiB,uint16 gpuClass,uint16 gpuCount)
    domain: name "LinqEscrow", version "1", chainId, verifyingContract = the Escrow contract.

The offer file (`linq offer sign` writes it, `linq offer verify` and the escrow resource read it) is JSON:
    {"kind": "linq-offer", "version": 1, "domain": {...}, "offer": {<Solidity field names>},
     "signature": "0x<65 bytes>", "digest": "0x<32 bytes>"}
with every integer written as a decimal string, so no JSON reader rounds a wei amount.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from eth_utils import keccak
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from linq.contracts.terms import ESCROW_DOMAIN_NAME, ESCROW_DOMAIN_VERSION, OFFER_EIP712_TYPES, Resources, offer_message
from linq.market.encoding import ZERO_ADDRESS, checksum
from linq.market.models import Address
from linq.protocol.money import offer_deposit_bounds

if TYPE_CHECKING:  # eth_account (~1 s to import) loads inside the functions that sign or recover
    from web3 import Web3

FILE_KIND = "linq-offer"
FILE_VERSION = 1
# secp256k1 group order; OpenZeppelin's ECDSA rejects s in the upper half (malleable twins).
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

# One definition of the typed data, next to the contract's ABI it must match.
OFFER_TYPES = OFFER_EIP712_TYPES
DOMAIN_NAME, DOMAIN_VERSION = ESCROW_DOMAIN_NAME, ESCROW_DOMAIN_VERSION

Uint64 = Annotated[int, Field(ge=0, le=2**64 - 1)]
Uint128 = Annotated[int, Field(ge=0, le=2**128 - 1)]
Uint256 = Annotated[int, Field(ge=0, le=2**256 - 1)]


class OfferError(ValueError):
    """An offer or its file is malformed; the message names the field, the bad value and the fix."""


class Domain(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    chain_id: Annotated[int, Field(ge=1)]
    verifying_contract: Address
    name: str = DOMAIN_NAME
    version: str = DOMAIN_VERSION

    def typed(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "chainId": self.chain_id,
            "verifyingContract": self.verifying_contract,
        }


class Offer(BaseModel):
    """The Solidity `Offer` struct. requestor = the zero address means anyone may take the offer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: Address
    requestor: Address = ZERO_ADDRESS
    resources: Resources
    rate_per_hour: Uint128
    min_duration: Uint64
    max_duration: Uint64
    nonce: Uint256
    deadline: Uint64

    @model_validator(mode="after")
    def _durations(self) -> Offer:
        if self.min_duration > self.max_duration:
            raise ValueError(
                f"minDuration {self.min_duration} s is above maxDuration {self.max_duration} s; "
                "swap them or raise maxDuration"
            )
        return self

    def message(self) -> dict[str, Any]:
        return offer_message(self)

    def typed_data(self, chain_id: int, escrow: str) -> dict[str, Any]:
        """EIP-712 typed data for the Escrow contract `escrow` on `chain_id` (eth_account's full_message)."""
        return typed_data(self, Domain(chain_id=chain_id, verifying_contract=escrow))

    def sign(self, private_key: Any, chain_id: int, escrow: str) -> bytes:
        """The provider's 65-byte signature over the offer for escrow contract `escrow` on `chain_id`."""
        from eth_account import Account

        signed = Account.sign_typed_data(private_key, full_message=self.typed_data(chain_id, escrow))
        return bytes(signed.signature)

    def as_tuple(self) -> tuple[Any, ...]:
        """The ABI tuple for contract calls (createFromOffer, offerDigest)."""
        r = self.resources
        return (
            self.provider,
            self.requestor,
            (r.cpu_millis, r.memory_mib, r.storage_gib, r.gpu_class, r.gpu_count),
            self.rate_per_hour,
            self.min_duration,
            self.max_duration,
            self.nonce,
            self.deadline,
        )

    @classmethod
    def from_message(cls, data: dict[str, Any]) -> Offer:
        """Parse the Solidity-named JSON form (integers may be decimal strings)."""
        try:
            res = data["resources"]
            return cls(
                provider=data["provider"],
                requestor=data.get("requestor", ZERO_ADDRESS),
                resources=Resources(
                    cpu_millis=_int(res["cpuMillis"], "offer.resources.cpuMillis"),
                    memory_mib=_int(res["memoryMiB"], "offer.resources.memoryMiB"),
                    storage_gib=_int(res["storageGiB"], "offer.resources.storageGiB"),
                    gpu_class=_int(res.get("gpuClass", 0), "offer.resources.gpuClass"),
                    gpu_count=_int(res.get("gpuCount", 0), "offer.resources.gpuCount"),
                ),
                rate_per_hour=_int(data["ratePerHour"], "offer.ratePerHour"),
                min_duration=_int(data["minDuration"], "offer.minDuration"),
                max_duration=_int(data["maxDuration"], "offer.maxDuration"),
                nonce=_int(data["nonce"], "offer.nonce"),
                deadline=_int(data["deadline"], "offer.deadline"),
            )
        except KeyError as missing:
            raise OfferError(
                f"offer.{missing.args[0]} is missing; the offer file must carry every Offer field"
            ) from None
        except ValidationError as bad:
            raise OfferError(f"offer is invalid: {_first_error(bad)}") from None


def typed_data(offer: Offer, domain: Domain) -> dict[str, Any]:
    return {
        "types": OFFER_TYPES,
        "primaryType": "Offer",
        "domain": domain.typed(),
        "message": offer.message(),
    }


def offer_digest(offer: Offer, domain: Domain) -> bytes:
    """keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(offer)) — what the Escrow's offerDigest returns."""
    from eth_account.messages import encode_typed_data

    signable = encode_typed_data(full_message=typed_data(offer, domain))
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def random_nonce() -> int:
    """A fresh 64-bit nonce: offers are independent (the escrow tracks used nonces as a set)."""
    return secrets.randbits(64)


class SignedOffer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    domain: Domain
    offer: Offer
    signature: Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{130}$")]

    @property
    def digest(self) -> bytes:
        return offer_digest(self.offer, self.domain)

    @property
    def signature_bytes(self) -> bytes:
        return bytes.fromhex(self.signature[2:])

    def to_json(self) -> str:
        data = {
            "kind": FILE_KIND,
            "version": FILE_VERSION,
            "domain": {k: str(v) if isinstance(v, int) else v for k, v in self.domain.typed().items()},
            "offer": _stringify(self.offer.message()),
            "signature": self.signature,
            "digest": "0x" + self.digest.hex(),
        }
        return json.dumps(data, indent=2) + "\n"

    def write(self, path: Path) -> None:
        path.write_text(self.to_json())

    @classmethod
    def from_json(cls, text: str, *, source: str = "offer file") -> SignedOffer:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise OfferError(f"{source} is not JSON ({err}); pass the file `linq offer sign` wrote") from None
        if not isinstance(data, dict) or data.get("kind") != FILE_KIND:
            raise OfferError(
                f"{source}: kind is {data.get('kind') if isinstance(data, dict) else data!r}; "
                f"expected {FILE_KIND!r} — is this an offer file?"
            )
        if str(data.get("version")) != str(FILE_VERSION):
            raise OfferError(f"{source}: version {data.get('version')!r} is not supported; expected {FILE_VERSION}")
        for key in ("domain", "offer", "signature"):
            if key not in data:
                raise OfferError(f"{source}: {key} is missing; re-create the file with `linq offer sign`")
        dom = data["domain"]
        try:
            domain = Domain(
                chain_id=_int(dom.get("chainId"), "domain.chainId"),
                verifying_contract=dom.get("verifyingContract"),
                name=dom.get("name", DOMAIN_NAME),
                version=dom.get("version", DOMAIN_VERSION),
            )
            signed = cls(domain=domain, offer=Offer.from_message(data["offer"]), signature=data["signature"])
        except ValidationError as bad:
            raise OfferError(f"{source}: {_first_error(bad)}") from None
        digest = data.get("digest")
        if digest is not None and digest.lower() != "0x" + signed.digest.hex():
            raise OfferError(
                f"{source}: digest {digest} does not match the offer's fields (0x{signed.digest.hex()}); "
                "the file was edited after signing — ask the provider to sign again"
            )
        return signed

    @classmethod
    def read(cls, path: Path) -> SignedOffer:
        return cls.from_json(path.read_text(), source=str(path))


def sign_offer(offer: Offer, domain: Domain, private_key: str | bytes) -> SignedOffer:
    """Sign with the provider's key; refuses a key that is not the offer's provider."""
    from eth_account import Account

    account = Account.from_key(private_key)
    if account.address != offer.provider:
        raise OfferError(
            f"offer.provider is {offer.provider} but the signing key belongs to {account.address}; "
            "sign with the provider's key or set provider to the key's address"
        )
    signed = Account.sign_typed_data(account.key, full_message=typed_data(offer, domain))
    return SignedOffer(domain=domain, offer=offer, signature="0x" + bytes(signed.signature).hex())


@dataclass
class Verification:
    """Every check made and every problem found (all of them, each naming the field and the fix)."""

    signer: str | None = None
    digest: str = ""
    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self, signed: SignedOffer) -> dict[str, Any]:
        """The verdict on `signed` as `linq offer verify --json` prints it and `POST /api/v1/escrow/offers/verify`
        answers: the checks, the problems, the offer and the deposits it allows (wei as decimal strings)."""
        o = signed.offer
        low, high = offer_deposit_bounds(o.rate_per_hour, o.min_duration, o.max_duration)
        return {
            "ok": self.ok,
            "signer": self.signer,
            "digest": self.digest,
            "checked": self.checked,
            "problems": self.problems,
            "offer": signed.model_dump(mode="json")["offer"],
            "deposit_range_wei": [str(low), str(high)],
        }


def verify_offer(
    signed: SignedOffer,
    *,
    expected_chain_id: int | None = None,
    expected_contract: str | None = None,
    now: int | None = None,
    w3: Web3 | None = None,
    escrow_address: str | None = None,
) -> Verification:
    """Check signer == provider, deadline not passed, domain as expected and (with w3) nonce unused.

    With a web3 connection the chain supplies what is not given: chain id, `now` (latest block time)
    and the escrow's isNonceUsed / offerDigest. `escrow_address` defaults to the domain's contract.
    """
    report = Verification(digest="0x" + signed.digest.hex())
    offer, domain = signed.offer, signed.domain

    sig = signed.signature_bytes
    r, s, v = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big"), sig[64]
    if v not in (27, 28) or s > SECP256K1_N // 2 or r == 0 or s == 0:
        report.problems.append(
            f"signature has v={v}, s={'high' if s > SECP256K1_N // 2 else s}; the escrow accepts only "
            "canonical 65-byte signatures (v 27/28, low s) — sign again with `linq offer sign`"
        )
    else:
        from eth_account import Account
        from eth_account.messages import encode_typed_data

        try:
            signable = encode_typed_data(full_message=typed_data(offer, domain))
            report.signer = Account.recover_message(signable, signature=sig)
        except Exception as err:  # eth_keys raises several types for a bad point
            report.problems.append(f"signature does not recover a signer ({err}); sign again with `linq offer sign`")
    report.checked.append("signature")
    if report.signer is not None and report.signer != offer.provider:
        report.problems.append(
            f"signature was made by {report.signer}, not by offer.provider {offer.provider}; "
            "the offer was altered or signed with another key — ask the provider to sign again"
        )

    if w3 is not None and expected_chain_id is None:
        expected_chain_id = int(w3.eth.chain_id)
    if expected_chain_id is not None:
        report.checked.append("domain.chainId")
        if domain.chain_id != expected_chain_id:
            report.problems.append(
                f"domain.chainId is {domain.chain_id} but this network is chain {expected_chain_id}; "
                "the offer was signed for another network — ask for an offer on this chain"
            )
    if expected_contract is not None:
        report.checked.append("domain.verifyingContract")
        if domain.verifying_contract != checksum(expected_contract, field="escrow address"):
            report.problems.append(
                f"domain.verifyingContract is {domain.verifying_contract} but the escrow is "
                f"{checksum(expected_contract)}; the offer is for another deployment — "
                "use an offer signed for this escrow"
            )
    if domain.name != DOMAIN_NAME or domain.version != DOMAIN_VERSION:
        report.problems.append(
            f"domain is {domain.name!r} v{domain.version!r}; the escrow signs as "
            f"{DOMAIN_NAME!r} v{DOMAIN_VERSION!r} — ask for an offer made by `linq offer sign`"
        )

    if now is None:
        now = int(w3.eth.get_block("latest")["timestamp"]) if w3 is not None else int(time.time())
    report.checked.append("deadline")
    if offer.deadline < now:
        report.problems.append(
            f"offer.deadline {offer.deadline} passed {now - offer.deadline} s ago (now {now}); "
            "ask the provider for a fresh offer"
        )

    if w3 is not None:
        from linq.market.chain import escrow_contract  # local: web3 contract plumbing only when needed

        escrow = escrow_contract(w3, escrow_address or domain.verifying_contract)
        report.checked.append("nonce")
        if escrow.functions.isNonceUsed(offer.provider, offer.nonce).call():
            report.problems.append(
                f"offer.nonce {offer.nonce} was already used or revoked by {offer.provider}; "
                "ask the provider for a new offer"
            )
        report.checked.append("digest")
        on_chain = bytes(escrow.functions.offerDigest(offer.as_tuple()).call())
        if on_chain != signed.digest:
            report.problems.append(
                f"digest 0x{signed.digest.hex()} differs from the escrow's offerDigest 0x{on_chain.hex()}; "
                "the escrow at this address uses another Offer layout or domain — check --addresses"
            )
    return report


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or value is None:
        raise OfferError(f"{name} is {value!r}; expected a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise OfferError(f"{name} is {value!r}; expected a whole number (decimal digits)")


def _stringify(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stringify(v) for k, v in value.items()}
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _first_error(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "value"
    return f"{where}: {first['msg']} (got {first.get('input')!r})"
