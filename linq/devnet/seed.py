"""Populating a local registry fast, for tests, demos and bench/match.py (dev-only harness, not product code).

The chain is `linq.devnet.anvil.LocalAnvil` (the one launcher) with automatic impersonation, so any address
can send transactions without its key (senders get ether by anvil_setBalance). `seed_registry` sends every
provider's `register` (and `updateGpuClass`) as JSON-RPC batches of eth_sendTransaction with explicit gas and
nonces, mines, and checks every receipt.
"""

from __future__ import annotations

import json
import random
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import function_abi_to_4byte_selector, get_abi_input_types, keccak, to_checksum_address

from linq.market.encoding import region_to_bytes32, text_to_bytes32

REGISTER_GAS = 400_000
GPU_CLASS_GAS = 200_000
SENDER_BALANCE = 10**21  # wei of ether for gas; anvil drops transactions from empty accounts silently


class RpcError(RuntimeError):
    """A JSON-RPC call failed; the message carries the method and the node's answer."""


def rpc_batch(url: str, calls: Sequence[tuple[str, list[Any]]], timeout: float = 120.0) -> list[Any]:
    """Send many JSON-RPC calls in one HTTP request; results in order, RpcError on the first error."""
    if not calls:
        return []
    body = json.dumps(
        [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
    ).encode()
    if not url.startswith(("http://", "https://")):
        raise RpcError(f"rpc url {url!r} is not http(s); give http://127.0.0.1:<port>")
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 — scheme checked above
        replies = sorted(json.loads(response.read()), key=lambda r: r["id"])
    for reply in replies:
        if "error" in reply:
            method = calls[reply["id"]][0]
            raise RpcError(f"{method} failed: {reply['error']}")
    return [r["result"] for r in replies]


@dataclass(frozen=True)
class GpuSpec:
    class_id: int
    model: str
    total: int
    price_per_hour: int


@dataclass(frozen=True)
class ProviderSpec:
    """What to register for one provider (capacity, prices in wei per unit-hour, region, GPU classes)."""

    address: str
    cpu_millis: int
    memory_mib: int
    storage_gib: int
    cpu_price: int
    memory_price: int
    storage_price: int
    region: str
    meta_hash: bytes = b"\x00" * 32
    gpus: tuple[GpuSpec, ...] = field(default=())


REGIONS = ("eu-west", "eu-central", "us-east", "us-west", "ap-south", "ap-northeast")
GPU_MODELS = ("nvidia-a100", "nvidia-h100", "nvidia-l4", "amd-mi300x")


def seeded_address(seed: int, index: int) -> str:
    return to_checksum_address(keccak(f"linq-provider-{seed}-{index}".encode())[-20:])


def random_specs(count: int, *, seed: int = 0, gpu_share: float = 0.25) -> list[ProviderSpec]:
    """`count` plausible providers, reproducible from `seed`."""
    rng = random.Random(seed)
    specs = []
    for i in range(count):
        gpus: tuple[GpuSpec, ...] = ()
        if rng.random() < gpu_share:
            models = rng.sample(GPU_MODELS, rng.randint(1, 2))
            gpus = tuple(
                GpuSpec(
                    class_id=c + 1,
                    model=m,
                    total=rng.choice((1, 2, 4, 8)),
                    price_per_hour=rng.randrange(5 * 10**17, 4 * 10**18, 10**12),
                )
                for c, m in enumerate(models)
            )
        specs.append(
            ProviderSpec(
                address=seeded_address(seed, i),
                cpu_millis=rng.choice((4_000, 8_000, 16_000, 32_000, 64_000)),
                memory_mib=rng.choice((8_192, 16_384, 65_536, 262_144)),
                storage_gib=rng.choice((100, 500, 2_000)),
                cpu_price=rng.randrange(2 * 10**13, 10**14, 10**6),  # 0.02-0.1 LNQ per core-hour
                memory_price=rng.randrange(10**12, 10**13, 10**6),  # 0.001-0.01 LNQ per GiB-hour
                storage_price=rng.randrange(10**13, 10**14, 10**6),  # 0.00001-0.0001 LNQ per GiB-hour
                region=rng.choice(REGIONS),
                meta_hash=keccak(f"meta-{seed}-{i}".encode()),
                gpus=gpus,
            )
        )
    return specs


def calldata_encoder(contract: Any) -> Callable[[str, list[Any]], str]:
    """0x calldata for contract functions via eth_abi (web3's encode_abi normalises every value: ~20x slower)."""
    functions = {}
    for item in contract.abi:
        if item.get("type") == "function":
            functions[item["name"]] = (function_abi_to_4byte_selector(item), get_abi_input_types(item))

    def encode(name: str, args: list[Any]) -> str:
        selector, types = functions[name]
        return "0x" + (selector + abi_encode(types, args)).hex()

    return encode


def seed_registry(url: str, registry: Any, specs: Sequence[ProviderSpec], *, chunk: int = 500) -> int:
    """Register every spec (and its GPU classes) from the spec's own address; returns transactions sent.

    Needs anvil with --auto-impersonate (LocalAnvil). Transactions are sent in batches,
    mined, and every receipt is checked — a revert raises RpcError naming the provider.
    """
    encode = calldata_encoder(registry)
    txs: list[tuple[str, dict[str, Any]]] = []
    for spec in specs:
        data = encode(
            "register",
            [
                (spec.cpu_millis, spec.memory_mib, spec.storage_gib),
                (spec.cpu_price, spec.memory_price, spec.storage_price),
                region_to_bytes32(spec.region),
                spec.meta_hash,
            ],
        )
        txs.append(
            (spec.address, {"from": spec.address, "to": registry.address, "data": data, "gas": hex(REGISTER_GAS)})
        )
        for gpu in spec.gpus:
            data = registry.encode_abi(
                "updateGpuClass",
                args=[
                    gpu.class_id,
                    text_to_bytes32(gpu.model, field="gpu model"),
                    gpu.total,
                    gpu.price_per_hour,
                ],
            )
            txs.append(
                (spec.address, {"from": spec.address, "to": registry.address, "data": data, "gas": hex(GPU_CLASS_GAS)})
            )
    return send_and_check(url, txs, chunk=chunk)


def send_and_check(
    url: str, txs: Sequence[tuple[str, dict[str, Any]]], *, chunk: int = 500, block_size: int = 50
) -> int:
    """eth_sendTransaction in batches with explicit nonces, then check every receipt.

    A sender's k-th transaction goes out in round k, after round k-1 is mined: within one JSON-RPC
    batch anvil may admit a later nonce first, and such a transaction can be lost from its pool.
    """
    senders = list(dict.fromkeys(who for who, _ in txs))
    next_nonce: dict[str, int] = {}
    for start in range(0, len(senders), chunk):
        who_part = senders[start : start + chunk]
        rpc_batch(url, [("anvil_setBalance", [who, hex(SENDER_BALANCE)]) for who in who_part])
        counts = rpc_batch(url, [("eth_getTransactionCount", [who, "pending"]) for who in who_part])
        next_nonce.update((who, int(n, 16)) for who, n in zip(who_part, counts, strict=True))
    rounds: list[list[tuple[str, dict[str, Any]]]] = []
    seen: dict[str, int] = {}
    for who, tx in txs:
        k = seen.get(who, 0)
        seen[who] = k + 1
        if k == len(rounds):
            rounds.append([])
        rounds[k].append((who, {**tx, "nonce": hex(next_nonce[who] + k)}))
    sent = 0
    rpc_batch(url, [("evm_setAutomine", [False])])  # one block per round instead of one per transaction
    try:
        for round_txs in rounds:
            hashes: list[tuple[str, str]] = []
            for start in range(0, len(round_txs), block_size):
                batch = round_txs[start : start + block_size]
                answers = rpc_batch(url, [("eth_sendTransaction", [tx]) for _, tx in batch])
                hashes += [(who, h) for (who, _), h in zip(batch, answers, strict=True)]
                rpc_batch(url, [("evm_mine", [])])  # anvil's receipt reads grow with block size
            _wait_for_receipts(url, hashes, chunk)
            sent += len(hashes)
    finally:
        rpc_batch(url, [("evm_setAutomine", [True])])
    return sent


def _wait_for_receipts(url: str, hashes: list[tuple[str, str]], chunk: int) -> None:
    """Check every transaction was mined and succeeded, reading whole blocks' receipts
    (eth_getBlockReceipts: one call per block; per-hash lookups are quadratic in anvil for big blocks)."""
    wanted = {h.lower(): who for who, h in hashes}
    seen: set[int] = set()
    deadline = time.monotonic() + 120
    while wanted:
        head = int(rpc_batch(url, [("eth_blockNumber", [])])[0], 16)
        blocks = [b for b in range(max(head - len(hashes) // 25 - 64, 0), head + 1) if b not in seen]
        for start in range(0, len(blocks), chunk):
            part = blocks[start : start + chunk]
            for number, receipts in zip(
                part, rpc_batch(url, [("eth_getBlockReceipts", [hex(b)]) for b in part]), strict=True
            ):
                seen.add(number)
                for receipt in receipts or []:
                    who = wanted.pop(receipt["transactionHash"].lower(), None)
                    if who is not None and int(receipt["status"], 16) != 1:
                        raise RpcError(
                            f"transaction {receipt['transactionHash']} from {who} reverted "
                            f"(gas used {int(receipt['gasUsed'], 16)})"
                        )
        if wanted and time.monotonic() > deadline:
            raise RpcError(f"{len(wanted)} transactions were not mined in 120 s, e.g. {next(iter(wanted))}")
        if wanted:
            rpc_batch(url, [("evm_mine", [])])
            time.sleep(0.02)
