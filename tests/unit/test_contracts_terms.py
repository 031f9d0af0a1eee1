"""The Python mirror of the escrow's math and encodings (exact integers, checked against hand-computed values)."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

from linq.contracts.terms import Resources, Terms, decode_region, encode_region
from linq.protocol.money import earned, end_time

REQ = "0x0000000000000000000000000000000000001001"
PROV = "0x0000000000000000000000000000000000002002"


def test_escrow_id_is_the_hash_of_the_abi_encoded_terms() -> None:
    terms = Terms(REQ, PROV, Resources(1000, 2048, 10, 0, 0), 20_340_000_000_000_000, b"\x01" * 32)
    words = [int(REQ, 16), int(PROV, 16), 1000, 2048, 10, 0, 0, 20_340_000_000_000_000, int.from_bytes(b"\x01" * 32)]
    manual = keccak(b"".join(w.to_bytes(32, "big") for w in words))
    assert terms.escrow_id == manual
    assert len(encode(["uint256"], [0])) == 32


def test_end_and_earned_round_in_favour_of_the_requestor() -> None:
    rate = 7  # wei per hour: 1 wei every 514.28 s
    assert end_time(10, rate, 1000) == 1000 + 5143  # ceil(36000 / 7)
    assert earned(10, rate, 1000, 1000 + 514) == 0  # floor(7*514/3600) = 0
    assert earned(10, rate, 1000, 1000 + 515) == 1
    assert earned(10, rate, 1000, 1000 + 5142) == 9
    assert earned(10, rate, 1000, 1000 + 5143) == 10
    assert earned(10, rate, 1000, 999) == 0


@given(
    deposited=st.integers(1, 2**96 - 1),
    rate=st.integers(1, 2**128 - 1),
    elapsed=st.integers(0, 2**40),
)
def test_earned_reaches_the_deposit_exactly_at_the_end(deposited: int, rate: int, elapsed: int) -> None:
    end = end_time(deposited, rate, 0)
    e = earned(deposited, rate, 0, elapsed)
    assert 0 <= e <= deposited
    assert (e == deposited) == (elapsed >= end)


def test_region_encoding() -> None:
    raw = encode_region("eu-west")
    assert raw == b"eu-west" + b"\0" * 25
    assert decode_region(raw) == "eu-west"
    for bad in ("", "é-west", "x" * 33, "eu\nwest"):
        with pytest.raises(ValueError, match="region="):
            encode_region(bad)


def test_terms_json_round_trip_and_the_agents_older_list_form() -> None:
    terms = Terms("0x" + "11" * 20, "0x" + "22" * 20, Resources(1500, 2048, 10, 3, 1), 10**30 + 7, b"\x05" * 32)
    data = terms.to_json()
    assert data["rate_per_hour"] == str(10**30 + 7)  # wei beyond a double's precision survive as a string
    assert data["resources"] == {
        "cpu_millis": 1500,
        "memory_mib": 2048,
        "storage_gib": 10,
        "gpu_class": 3,
        "gpu_count": 1,
    }
    assert Terms.from_json(data) == terms
    assert Terms.from_json({**data, "resources": [1500, 2048, 10, 3, 1]}) == terms  # agent state files, v1
