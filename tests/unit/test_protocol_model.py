"""The one Python model of the protocol: the status enum matches the contract's, structs are decoded by
field name from the ABI, and the money math has one home."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linq.contracts.abi import named
from linq.contracts.terms import Resources
from linq.protocol.money import ceil_div, deposit_for, earned, end_time, runway_seconds
from linq.protocol.status import OPEN, SETTLED, EscrowStatus

ROOT = Path(__file__).resolve().parents[2]


def test_status_enum_is_the_contracts() -> None:
    source = (ROOT / "contracts/src/interfaces/IEscrow.sol").read_text()
    body = re.search(r"enum Status\s*\{([^}]*)\}", source)
    assert body is not None
    names = [re.sub(r"//.*", "", n).strip() for n in body.group(1).split(",")]
    names = [n for n in names if n]
    assert [s.value for s in EscrowStatus] == names
    assert [EscrowStatus.from_code(i) for i in range(len(names))] == list(EscrowStatus)
    assert EscrowStatus.ACTIVE == "Active" and EscrowStatus.from_code(2).code == 2  # JSON and outputs keep the label
    assert OPEN.isdisjoint(SETTLED) and EscrowStatus.ENDED.is_open and EscrowStatus.STOPPED.is_settled
    with pytest.raises(ValueError, match=r"0\.\.6"):
        EscrowStatus.from_code(7)


def test_views_are_decoded_by_field_name() -> None:
    view = named("Escrow", "getEscrow", (b"\x01" * 32, 2, 10, 4, 3, 1, 6, 100, 200))
    assert view == {
        "id": b"\x01" * 32,
        "status": 2,
        "deposited": 10,
        "earned": 4,
        "withdrawn": 3,
        "withdrawable": 1,
        "remaining": 6,
        "start": 100,
        "end": 200,
    }
    provider = ("0x" + "ab" * 20, True, 7, b"r" * 32, b"m" * 32, (1, 2, 3), (0, 1, 0), (4, 5, 6), (1, 0, 0, 9), (1, 2))
    decoded = named("ProviderRegistry", "getProvider", provider)
    assert decoded["registeredAt"] == 7 and decoded["total"] == {"cpuMillis": 1, "memoryMiB": 2, "storageGiB": 3}
    assert decoded["prices"]["storagePerGiBHour"] == 6 and decoded["reputation"]["totalEarned"] == 9
    assert named("ProviderRegistry", "getProviders", [provider]) == [decoded]
    with pytest.raises(ValueError):
        named("Escrow", "getEscrow", (1, 2))  # a struct of another shape is refused, never misread


def test_resources_is_one_validated_struct() -> None:
    assert Resources(1000, 1024, 10).as_tuple() == (1000, 1024, 10, 0, 0)
    assert Resources(cpu_millis=1).to_json() == {
        "cpu_millis": 1,
        "memory_mib": 0,
        "storage_gib": 0,
        "gpu_class": 0,
        "gpu_count": 0,
    }
    with pytest.raises(ValueError):
        Resources(cpu_millis=2**32)  # the contract's uint32


@given(rate=st.integers(1, 2**128 - 1), seconds=st.integers(0, 2**40), start=st.integers(0, 2**40))
def test_deposit_runway_and_accrual_agree(rate: int, seconds: int, start: int) -> None:
    deposit = deposit_for(rate, seconds)
    assert deposit == ceil_div(rate * seconds, 3600)
    runway = runway_seconds(rate, deposit)
    assert runway is not None and runway >= seconds
    end = end_time(deposit, rate, start)
    assert end == start + runway
    assert earned(deposit, rate, start, end) == deposit  # fully earned at the end…
    if runway:
        assert earned(deposit, rate, start, end - 1) < deposit  # …and not a second earlier


def test_one_ceil_div_in_the_product_code() -> None:
    copies = [
        p.relative_to(ROOT).as_posix()
        for pkg in ("linq", "components", "lpstack")
        for p in (ROOT / pkg).rglob("*.py")
        if re.search(r"-\(-", p.read_text())
    ]
    assert copies == ["linq/protocol/money.py"]
