"""Fixed-layout decoders for the registry's three bulk views (the index reads 10,000s of records).

eth_abi decodes generically (~1 ms per ProviderView); these read the known ABI layout directly and
return exactly what eth_abi would (tests/unit/test_market_abi_fast.py compares them on random data).
Addresses come back lowercase 0x-hex (checksumming is left to the caller, which caches it).

    ProviderView = (address provider, bool active, uint40 registeredAt, bytes32 region, bytes32 metaHash,
                    (uint32,uint32,uint32) total, (uint32,uint32,uint32) used, (uint64,uint64,uint64) prices,
                    (uint32,uint32,uint32,uint128) reputation, uint16[] gpuClassIds)
    ABI: a dynamic tuple = 18 static head words + 1 offset word, then [length, ids...] as its tail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_HEAD_WORDS = 19


class AbiLayoutError(ValueError):
    """Return data does not have the expected layout (a different contract or ABI at that address)."""


def _word(data: bytes, at: int) -> int:
    if at + 32 > len(data):
        raise AbiLayoutError(f"return data of {len(data)} bytes ends before word at byte {at}")
    return int.from_bytes(data[at : at + 32], "big")


def decode_provider_views(data: bytes) -> list[tuple[Any, ...]]:
    """`getProviders` return data -> list of ProviderView tuples (eth_abi's shape)."""
    array = _word(data, 0)
    count = _word(data, array)
    base = array + 32
    out = []
    for k in range(count):
        el = base + _word(data, base + 32 * k)
        if el + 32 * _HEAD_WORDS > len(data):
            raise AbiLayoutError(f"ProviderView {k} at byte {el} runs past the {len(data)}-byte return data")
        w = [int.from_bytes(data[el + 32 * j : el + 32 * j + 32], "big") for j in range(_HEAD_WORDS)]
        ids_at = el + w[18]
        n_ids = _word(data, ids_at)
        ids = tuple(_word(data, ids_at + 32 + 32 * j) for j in range(n_ids))
        out.append(
            (
                "0x" + data[el + 12 : el + 32].hex(),
                bool(w[1]),
                w[2],
                data[el + 96 : el + 128],
                data[el + 128 : el + 160],
                (w[5], w[6], w[7]),
                (w[8], w[9], w[10]),
                (w[11], w[12], w[13]),
                (w[14], w[15], w[16], w[17]),
                ids,
            )
        )
    return out


def decode_gpu_class(data: bytes) -> tuple[Any, ...]:
    """`gpuClass` return data -> (bytes32 model, uint32 total, uint32 used, uint128 pricePerHour)."""
    return (data[0:32], _word(data, 32), _word(data, 64), _word(data, 96))


def decode_address_array(data: bytes) -> list[str]:
    """`providersPage` return data -> lowercase addresses."""
    array = _word(data, 0)
    count = _word(data, array)
    start = array + 32
    if start + 32 * count > len(data):
        raise AbiLayoutError(f"address[{count}] runs past the {len(data)}-byte return data")
    return ["0x" + data[start + 32 * i + 12 : start + 32 * i + 32].hex() for i in range(count)]


DECODERS: dict[str, Callable[[bytes], Any]] = {
    "getProviders": decode_provider_views,
    "gpuClass": decode_gpu_class,
    "providersPage": decode_address_array,
}
