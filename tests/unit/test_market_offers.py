"""Offer signing and verification: tampered fields, wrong chain, wrong contract, expiry, file format."""

from __future__ import annotations

import json

import pytest
from eth_abi import encode
from eth_account import Account
from eth_utils import keccak

from linq.market.models import Resources
from linq.market.offers import (
    Domain,
    Offer,
    OfferError,
    SignedOffer,
    offer_digest,
    sign_offer,
    verify_offer,
)

KEY = "0x" + "42" * 32
PROVIDER = Account.from_key(KEY).address
ESCROW = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
NOW = 1_800_000_000


def make_offer(**changes: object) -> Offer:
    base: dict[str, object] = {
        "provider": PROVIDER,
        "resources": Resources(cpu_millis=2000, memory_mib=4096, storage_gib=20, gpu_class=1, gpu_count=1),
        "rate_per_hour": 1_234_567_890_123_456_789,
        "min_duration": 3600,
        "max_duration": 7 * 86400,
        "nonce": 2**200 + 7,
        "deadline": NOW + 600,
    }
    base.update(changes)
    return Offer(**base)  # type: ignore[arg-type]


DOMAIN = Domain(chain_id=31337, verifying_contract=ESCROW)


def test_digest_equals_a_hand_computed_eip712_hash() -> None:
    """Independent of eth_account's encoder: the struct hashes written out as the contract does."""
    offer = make_offer()
    resources_type = b"Resources(uint32 cpuMillis,uint32 memoryMiB,uint32 storageGiB,uint16 gpuClass,uint16 gpuCount)"
    offer_type = (
        b"Offer(address provider,address requestor,Resources resources,uint128 ratePerHour,"
        b"uint64 minDuration,uint64 maxDuration,uint256 nonce,uint64 deadline)" + resources_type
    )
    r = offer.resources
    resources_hash = keccak(
        encode(
            ["bytes32", "uint32", "uint32", "uint32", "uint16", "uint16"],
            [keccak(resources_type), r.cpu_millis, r.memory_mib, r.storage_gib, r.gpu_class, r.gpu_count],
        )
    )
    struct_hash = keccak(
        encode(
            ["bytes32", "address", "address", "bytes32", "uint128", "uint64", "uint64", "uint256", "uint64"],
            [
                keccak(offer_type),
                offer.provider,
                offer.requestor,
                resources_hash,
                offer.rate_per_hour,
                offer.min_duration,
                offer.max_duration,
                offer.nonce,
                offer.deadline,
            ],
        )
    )
    domain_type = b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    separator = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [keccak(domain_type), keccak(b"LinqEscrow"), keccak(b"1"), 31337, ESCROW],
        )
    )
    assert offer_digest(offer, DOMAIN) == keccak(b"\x19\x01" + separator + struct_hash)


def test_signed_offer_verifies_and_round_trips_through_its_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    signed = sign_offer(make_offer(), DOMAIN, KEY)
    path = tmp_path / "offer.json"
    signed.write(path)
    raw = json.loads(path.read_text())
    assert raw["offer"]["ratePerHour"] == "1234567890123456789"  # big ints as strings
    assert raw["offer"]["nonce"] == str(2**200 + 7)
    again = SignedOffer.read(path)
    assert again == signed
    report = verify_offer(again, expected_chain_id=31337, expected_contract=ESCROW.lower(), now=NOW)
    assert report.ok, report.problems
    assert report.signer == PROVIDER


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rate_per_hour", 1),
        ("max_duration", 8 * 86400),
        ("nonce", 1),
        ("requestor", "0x000000000000000000000000000000000000dEaD"),
        ("resources", Resources(cpu_millis=2001, memory_mib=4096, storage_gib=20, gpu_class=1, gpu_count=1)),
    ],
)
def test_tampering_with_any_field_breaks_the_signature(field: str, value: object) -> None:
    signed = sign_offer(make_offer(), DOMAIN, KEY)
    tampered = SignedOffer(domain=DOMAIN, offer=make_offer(**{field: value}), signature=signed.signature)
    report = verify_offer(tampered, expected_chain_id=31337, now=NOW)
    assert not report.ok
    assert report.signer != PROVIDER
    assert "not by offer.provider" in report.problems[0]


def test_a_tampered_file_is_refused_by_its_digest(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "offer.json"
    sign_offer(make_offer(), DOMAIN, KEY).write(path)
    data = json.loads(path.read_text())
    data["offer"]["ratePerHour"] = "1"
    path.write_text(json.dumps(data))
    with pytest.raises(OfferError, match="edited after signing"):
        SignedOffer.read(path)
    del data["digest"]  # without the digest the signature check still catches it
    path.write_text(json.dumps(data))
    assert "not by offer.provider" in verify_offer(SignedOffer.read(path), now=NOW).problems[0]


def test_wrong_chain_wrong_contract_and_expired_are_each_reported() -> None:
    signed = sign_offer(make_offer(deadline=NOW - 5), Domain(chain_id=1, verifying_contract=ESCROW), KEY)
    report = verify_offer(signed, expected_chain_id=31337, expected_contract="0x" + "11" * 20, now=NOW)
    assert report.signer == PROVIDER  # the signature itself is fine
    joined = "\n".join(report.problems)
    assert "domain.chainId is 1 but this network is chain 31337" in joined
    assert "domain.verifyingContract is " + ESCROW in joined
    assert "offer.deadline 1799999995 passed 5 s ago" in joined
    assert len(report.problems) == 3


def test_deadline_is_inclusive_like_the_contract() -> None:
    signed = sign_offer(make_offer(deadline=NOW), DOMAIN, KEY)
    assert verify_offer(signed, now=NOW).ok
    assert not verify_offer(signed, now=NOW + 1).ok


def test_high_s_signature_is_refused() -> None:
    signed = sign_offer(make_offer(), DOMAIN, KEY)
    sig = bytes.fromhex(signed.signature[2:])
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    s = int.from_bytes(sig[32:64], "big")
    twin = sig[:32] + (n - s).to_bytes(32, "big") + bytes([55 - sig[64]])  # same signer, malleable
    report = verify_offer(SignedOffer(domain=DOMAIN, offer=signed.offer, signature="0x" + twin.hex()), now=NOW)
    assert not report.ok and "low s" in report.problems[0]


def test_signing_with_another_key_is_refused() -> None:
    with pytest.raises(OfferError, match="signing key belongs to"):
        sign_offer(make_offer(), DOMAIN, "0x" + "43" * 32)


def test_offer_field_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match="minDuration 10 s is above maxDuration 5 s"):
        make_offer(min_duration=10, max_duration=5)
    with pytest.raises(OfferError, match=r"offer\.ratePerHour is '1\.5'"):
        Offer.from_message({**make_offer().message(), "ratePerHour": "1.5"})
    with pytest.raises(OfferError, match=r"offer\.deadline is missing"):
        Offer.from_message({k: v for k, v in make_offer().message().items() if k != "deadline"})
    with pytest.raises(OfferError, match="kind is"):
        SignedOffer.from_json('{"kind": "something"}')
