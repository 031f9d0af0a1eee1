"""Revert data from the real ABIs decodes into sentences that carry the numbers a person needs."""

from __future__ import annotations

from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector

from linq.chain.decode import _SENTENCES, decode_revert, error_table, revert_data

PROVIDER = "0xAbCdEf0123456789aBcDeF0123456789abCDef01"


def _data(signature: str, types: list[str], values: list[object]) -> bytes:
    return function_signature_to_4byte_selector(signature) + encode(types, values)


def test_insufficient_capacity_names_provider_free_and_asked() -> None:
    data = _data("InsufficientCapacity(uint8,uint256,uint256)", ["uint8", "uint256", "uint256"], [0, 2000, 1500])
    decoded = decode_revert(data, {"provider": PROVIDER})
    assert decoded.name == "InsufficientCapacity"
    assert f"provider {PROVIDER} has 1500 millicores CPU free, you asked for 2000" in decoded.sentence


def test_memory_and_gpu_use_their_units() -> None:
    mem = decode_revert(
        _data("InsufficientCapacity(uint8,uint256,uint256)", ["uint8", "uint256", "uint256"], [1, 4096, 1024])
    )
    assert "1024 MiB memory free, you asked for 4096" in mem.sentence
    gpu = decode_revert(
        _data("InsufficientCapacity(uint8,uint256,uint256)", ["uint8", "uint256", "uint256"], [3, 2, 1])
    )
    assert "1 GPUs GPU free, you asked for 2" in gpu.sentence


def test_erc20_balance_says_how_much_is_missing() -> None:
    data = _data(
        "ERC20InsufficientBalance(address,uint256,uint256)", ["address", "uint256", "uint256"], [PROVIDER, 10, 25]
    )
    decoded = decode_revert(data)
    assert decoded.name == "ERC20InsufficientBalance"
    assert "at least 15 more wei" in decoded.sentence


def test_rate_above_max_shows_both_rates_exactly() -> None:
    data = _data("RateAboveMax(uint128,uint128)", ["uint128", "uint128"], [3 * 10**18 + 1, 3 * 10**18])
    sentence = decode_revert(data, {"provider": PROVIDER}).sentence
    assert "3000000000000000001 wei" in sentence and "3000000000000000000 wei" in sentence
    assert "raise max_rate_per_hour" in sentence


def test_error_string_panic_unknown_and_empty() -> None:
    assert decode_revert(_data("Error(string)", ["string"], ["nope"])).sentence == "reverted: nope"
    assert "overflow" in decode_revert(_data("Panic(uint256)", ["uint256"], [0x11])).sentence
    assert "unknown error 0xdeadbeef" in decode_revert(bytes.fromhex("deadbeef")).sentence
    assert "without a reason" in decode_revert(b"").sentence
    assert "undecodable" in decode_revert(function_signature_to_4byte_selector("UnknownEscrow(bytes32)")).sentence


def test_every_abi_error_decodes_to_its_name() -> None:
    samples = {"address": PROVIDER, "bool": True, "string": "x", "bytes32": b"\x01" * 32}
    table = error_table()
    assert len(table) >= 40  # LNQ + registry + escrow errors, from the artifacts
    for selector, (name, types) in table.items():
        values = [samples.get(t, 1) for t in types]
        decoded = decode_revert(selector + encode(list(types), values))
        assert decoded.name == name
        if name in _SENTENCES:
            assert not decoded.sentence.startswith("reverted with"), name


def test_revert_data_from_web3_shapes() -> None:
    assert revert_data("0x1234") == b"\x12\x34"
    assert revert_data(("execution reverted", "0xabcd")) == b"\xab\xcd"
    assert revert_data({"data": "0x01"}) == b"\x01"
    assert revert_data("not hex") is None


def test_start_window_and_top_up_bound_sentences() -> None:
    window_data = _data("StartWindowOpen(bytes32,uint40)", ["bytes32", "uint40"], [b"\x01" * 32, 1_700_086_400])
    window = decode_revert(window_data)
    assert "unix time 1700086400" in window.sentence and "anyone may cancel it after" in window.sentence
    types = ["uint256", "uint64", "uint64"]
    bound = _data("DurationOutOfRange(uint256,uint64,uint64)", types, [3601, 0, 3600])
    assert "above the escrow's bound" in decode_revert(bound).sentence
    offer = _data("DurationOutOfRange(uint256,uint64,uint64)", types, [599, 600, 3600])
    assert "outside the offer's" in decode_revert(offer).sentence
