"""The fast registry decoders return exactly what eth_abi returns, for the real ABI's output types."""

from __future__ import annotations

import pytest
from eth_abi import decode, encode
from eth_utils import get_abi_output_types
from hypothesis import given, settings
from hypothesis import strategies as st

from linq.contracts import load_artifact
from linq.market.abi_fast import (
    AbiLayoutError,
    decode_address_array,
    decode_gpu_class,
    decode_provider_views,
)


def output_types(name: str) -> list[str]:
    (fn,) = [x for x in load_artifact("ProviderRegistry").abi if x.get("type") == "function" and x["name"] == name]
    return get_abi_output_types(fn)  # type: ignore[arg-type]


def uint(bits: int) -> st.SearchStrategy[int]:
    return st.integers(min_value=0, max_value=2**bits - 1)


addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
bytes32 = st.binary(min_size=32, max_size=32)
views = st.tuples(
    addresses,
    st.booleans(),
    uint(40),
    bytes32,
    bytes32,
    st.tuples(uint(32), uint(32), uint(32)),
    st.tuples(uint(32), uint(32), uint(32)),
    st.tuples(uint(64), uint(64), uint(64)),
    st.tuples(uint(32), uint(32), uint(32), uint(128)),
    st.lists(uint(16), max_size=5).map(tuple),
)


def lower(value: object) -> object:
    """eth_abi returns checksummed addresses; ours are lowercase."""
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, (tuple, list)):
        return tuple(lower(v) for v in value)
    return value


@settings(max_examples=60)
@given(st.lists(views, max_size=6))
def test_provider_views_decode_like_eth_abi(items: list[tuple[object, ...]]) -> None:
    types = output_types("getProviders")
    assert types == [
        "(address,bool,uint40,bytes32,bytes32,(uint32,uint32,uint32),(uint32,uint32,uint32),"
        "(uint64,uint64,uint64),(uint32,uint32,uint32,uint128),uint16[])[]"
    ]
    data = encode(types, [items])
    assert lower(decode_provider_views(data)) == lower(decode(types, data)[0])


@given(bytes32, uint(32), uint(32), uint(128))
def test_gpu_class_decodes_like_eth_abi(model: bytes, total: int, used: int, price: int) -> None:
    types = output_types("gpuClass")
    data = encode(types, [(model, total, used, price)])
    assert decode_gpu_class(data) == decode(types, data)[0]


@given(st.lists(addresses, max_size=20))
def test_address_pages_decode_like_eth_abi(items: list[str]) -> None:
    types = output_types("providersPage")
    data = encode(types, [items])
    assert decode_address_array(data) == [a.lower() for a in decode(types, data)[0]]


def test_truncated_data_is_an_error_not_garbage() -> None:
    data = encode(output_types("providersPage"), [["0x" + "11" * 20] * 3])
    with pytest.raises(AbiLayoutError, match="runs past"):
        decode_address_array(data[:-32])
