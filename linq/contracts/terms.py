"""The contracts' structs in Python (Resources, Terms; the Offer model is linq.market.offers.Offer, built on
the EIP-712 types defined here) and the exact hashing/signing rules. The money math is linq.protocol.money's.

Values are plain ints in the contracts' units: CPU millicores, memory MiB, storage GiB, GPU count of a class;
rates and amounts in LNQ wei (per hour for rates). Tuples are in ABI order, ready for web3 calls.
"""

from __future__ import annotations

from dataclasses import asdict, astuple, dataclass, fields, replace
from typing import Annotated, Any

from eth_utils import keccak, to_checksum_address
from pydantic import Field
from pydantic.dataclasses import dataclass as pydantic_dataclass

ESCROW_DOMAIN_NAME = "LinqEscrow"
ESCROW_DOMAIN_VERSION = "1"

RESOURCES_ABI = "(uint32,uint32,uint32,uint16,uint16)"
TERMS_ABI = f"(address,address,{RESOURCES_ABI},uint128,bytes32)"


Uint16 = Annotated[int, Field(ge=0, le=2**16 - 1)]
Uint32 = Annotated[int, Field(ge=0, le=2**32 - 1)]


@pydantic_dataclass(frozen=True)
class Resources:
    """The Solidity `Resources` struct: what one escrow reserves at one provider (the one definition; the
    market, offers, escrows and the Escrow resource all use it). Validated: the contract's uint widths."""

    cpu_millis: Uint32 = 0
    memory_mib: Uint32 = 0
    storage_gib: Uint32 = 0
    gpu_class: Uint16 = 0
    gpu_count: Uint16 = 0

    def as_tuple(self) -> tuple[int, int, int, int, int]:
        return astuple(self)

    def to_json(self) -> dict[str, int]:
        """The JSON form: field names, in ABI order."""
        return asdict(self)


RESOURCE_FIELDS = tuple(f.name for f in fields(Resources))  # the JSON keys, in ABI order


@dataclass(frozen=True)
class Terms:
    """What an escrow id commits to; every call on an escrow passes these back."""

    requestor: str
    provider: str
    resources: Resources
    rate_per_hour: int
    salt: bytes

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            to_checksum_address(self.requestor),
            to_checksum_address(self.provider),
            self.resources.as_tuple(),
            self.rate_per_hour,
            self.salt,
        )

    @property
    def escrow_id(self) -> bytes:
        """keccak256(abi.encode(terms)), as the Escrow contract computes it."""
        from eth_abi import encode  # eth_abi and eth_account load on first use: linq.chain's note

        return keccak(encode([TERMS_ABI], [self.as_tuple()]))

    def with_provider(self, provider: str, rate_per_hour: int) -> Terms:
        return replace(self, provider=provider, rate_per_hour=rate_per_hour)

    def to_json(self) -> dict[str, Any]:
        """The one JSON form of terms (Pulumi state, CLI output, agent state); wei as a decimal string, since
        JSON readers elsewhere may parse numbers as doubles."""
        return {
            "requestor": self.requestor,
            "provider": self.provider,
            "resources": self.resources.to_json(),
            "rate_per_hour": str(self.rate_per_hour),
            "salt": "0x" + self.salt.hex(),
        }

    @classmethod
    def from_json(cls, data: Any) -> Terms:
        """Inverse of to_json; also reads resources as a 5-item list (agent state files written before)."""
        r = data["resources"]
        values = r if isinstance(r, list) else [r[k] for k in RESOURCE_FIELDS]
        return cls(
            str(data["requestor"]),
            str(data["provider"]),
            Resources(*(int(v) for v in values)),
            int(data["rate_per_hour"]),
            bytes.fromhex(str(data["salt"]).removeprefix("0x")),
        )

    @classmethod
    def from_event(cls, terms: Any) -> Terms:
        """From the `terms` of an EscrowCreated / ProviderChanged event (a dict or a tuple)."""
        if hasattr(terms, "keys"):  # dict or web3 AttributeDict
            r = terms["resources"]
            res = Resources(r["cpuMillis"], r["memoryMiB"], r["storageGiB"], r["gpuClass"], r["gpuCount"])
            return cls(terms["requestor"], terms["provider"], res, terms["ratePerHour"], bytes(terms["salt"]))
        requestor, provider, r, rate, salt = terms
        return cls(requestor, provider, Resources(*r), rate, bytes(salt))


def offer_message(offer: Any) -> dict[str, Any]:
    """The EIP-712 message of an offer (linq.market.offers.Offer, or anything with its fields)."""
    r = offer.resources
    return {
        "provider": to_checksum_address(offer.provider),
        "requestor": to_checksum_address(offer.requestor),
        "resources": {
            "cpuMillis": r.cpu_millis,
            "memoryMiB": r.memory_mib,
            "storageGiB": r.storage_gib,
            "gpuClass": r.gpu_class,
            "gpuCount": r.gpu_count,
        },
        "ratePerHour": offer.rate_per_hour,
        "minDuration": offer.min_duration,
        "maxDuration": offer.max_duration,
        "nonce": offer.nonce,
        "deadline": offer.deadline,
    }


# The EIP-712 types of an Offer, exactly as Escrow.sol hashes them (the one definition; linq.market.offers uses it).
OFFER_EIP712_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Resources": [
        {"name": "cpuMillis", "type": "uint32"},
        {"name": "memoryMiB", "type": "uint32"},
        {"name": "storageGiB", "type": "uint32"},
        {"name": "gpuClass", "type": "uint16"},
        {"name": "gpuCount", "type": "uint16"},
    ],
    "Offer": [
        {"name": "provider", "type": "address"},
        {"name": "requestor", "type": "address"},
        {"name": "resources", "type": "Resources"},
        {"name": "ratePerHour", "type": "uint128"},
        {"name": "minDuration", "type": "uint64"},
        {"name": "maxDuration", "type": "uint64"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint64"},
    ],
}


def permit_signature(
    private_key: Any,
    *,
    chain_id: int,
    token: str,
    owner: str,
    spender: str,
    value: int,
    nonce: int,
    deadline: int,
) -> tuple[int, int, int, bytes, bytes]:
    """An EIP-2612 LNQ permit as the IEscrow.PermitSig tuple (value, deadline, v, r, s)."""
    message = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {
            "name": "Linq",
            "version": "1",
            "chainId": chain_id,
            "verifyingContract": to_checksum_address(token),
        },
        "message": {
            "owner": to_checksum_address(owner),
            "spender": to_checksum_address(spender),
            "value": value,
            "nonce": nonce,
            "deadline": deadline,
        },
    }
    from eth_account import Account

    signed = Account.sign_typed_data(private_key, full_message=message)
    return (value, deadline, signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big"))


def encode_region(region: str) -> bytes:
    """A short ASCII region name ("eu-west") right-padded into bytes32."""
    raw = region.encode("ascii", errors="strict") if region.isascii() else b""
    if not raw or len(raw) > 32 or not region.isprintable():
        raise ValueError(f"region={region!r} must be 1-32 printable ASCII characters, e.g. 'eu-west'")
    return raw.ljust(32, b"\0")


def decode_region(raw: bytes) -> str:
    return bytes(raw).rstrip(b"\0").decode("ascii", errors="replace")
