"""The registry index: every provider record, read from the chain in bulk, cached as JSON, kept current.

Build: at one pinned block, `providersPage` (PAGE addresses per call), `getProviders` (BATCH views per
call) and `gpuClass` only for providers that list GPU classes; every read uses that block so the
snapshot is consistent. The escrow's open-escrow map (escrow id -> provider) is rebuilt from its
EscrowCreated / ProviderChanged / Cancelled / Stopped / Finalized logs since the address book's
deployment block.

Update: logs after the indexed block tell which providers changed —
    registry events (all carry `provider` as topic 1): the provider itself;
    EscrowCreated (topic 3 = provider): used capacity reserved;
    ProviderChanged (old id, new id, new provider): both providers' used capacity;
    Cancelled / Stopped / Finalized (topic 1 = id): used capacity released and reputation counted,
        attributed through the open-escrow map (an unknown id forces a full refresh, never a wrong index).
Only those providers are re-read (at the new head).
Gateways: a provider's `metaHash` may be the keccak256 of a document it published with `publishMeta`
(`MetaPublished` carries the document); the newest such document whose hash is the current metaHash is
decoded (linq.gateway.meta) into the record's `gateway`. A build reads every MetaPublished log once; an
update reads those in its block range and keeps a provider's gateway while its metaHash is unchanged.
If the cached block is no longer on the chain
(reorg or a restarted devnet) or the cache is for another chain/registry, the index is rebuilt.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import (
    event_abi_to_log_topic,
    function_abi_to_4byte_selector,
    get_abi_input_types,
    get_abi_output_types,
    keccak,
    to_checksum_address,
)
from pydantic import BaseModel, ConfigDict, ValidationError

from linq.contracts.abi import named
from linq.gateway.meta import GatewayInfo
from linq.gateway.meta import decode as decode_gateway
from linq.market.abi_fast import DECODERS
from linq.market.chain import escrow_contract, registry_contract
from linq.market.encoding import bytes32_hex, bytes32_to_text
from linq.market.models import (
    Address,
    BaseRanges,
    Capacity,
    GpuClassRecord,
    ProviderRecord,
    ReputationCounters,
)

if TYPE_CHECKING:
    from web3 import Web3
    from web3.contract import Contract

PAGE = 1000  # addresses per providersPage call
BATCH = 500  # provider views per getProviders call
REGISTRY = "ProviderRegistry"  # the artifact whose ABI names the views' fields
LOG_CHUNK = 10_000  # blocks per eth_getLogs request
INDEX_KIND = "linq-registry-index"
INDEX_VERSION = 2  # 2: records carry the published gateway

_ESCROW_EVENTS = ("EscrowCreated", "ProviderChanged", "Cancelled", "Stopped", "Finalized")


class IndexError_(RuntimeError):
    """The index cannot be built or read; the message names the cause and the fix."""


class IndexSnapshot(BaseModel):
    """What the cache file holds (JSON)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str = INDEX_KIND
    version: int = INDEX_VERSION
    chain_id: int
    registry: Address
    escrow: Address
    block_number: int
    block_hash: str
    block_timestamp: int
    indexed_at: float
    open_escrows: dict[str, Address] = {}  # escrow id (0x hex) -> provider, for attributing releases
    providers: tuple[ProviderRecord, ...]

    def provider(self, address: str) -> ProviderRecord | None:
        wanted = to_checksum_address(address)
        return next((p for p in self.providers if p.address == wanted), None)


@dataclass(frozen=True)
class Staleness:
    blocks_behind: int
    seconds_behind: int
    head_block: int


@dataclass(frozen=True)
class UpdateStats:
    """What one build/update did (for CLI output and the benchmark)."""

    full: bool
    from_block: int
    to_block: int
    changed: int
    rpc_calls: int
    seconds: float
    reason: str = ""


class RawCalls:
    """eth_call without web3's per-value ABI normalisation: eth_abi encode/decode, JSON-RPC batches.

    web3's contract `call()` spends most of its time normalising decoded values; for 10,000 provider
    views that dominates the index build, so the index encodes and decodes itself (types from the ABI).
    """

    def __init__(self, w3: Web3, contract: Contract, calls_per_batch: int = 50) -> None:
        self.w3 = w3
        self.address = contract.address
        self.calls_per_batch = calls_per_batch
        self.requests = 0
        self._fns: dict[str, tuple[bytes, list[str], list[str]]] = {}
        for item in contract.abi:
            if item.get("type") == "function":
                fn: Any = item
                self._fns[fn["name"]] = (
                    function_abi_to_4byte_selector(fn),
                    get_abi_input_types(fn),
                    get_abi_output_types(fn),
                )

    def call(self, name: str, args: Sequence[Any], block: int) -> Any:
        return self.many(name, [args], block)[0]

    def many(self, name: str, arg_lists: Sequence[Sequence[Any]], block: int) -> list[Any]:
        """Each call's decoded outputs (a single output is unwrapped), in order."""
        selector, inputs, outputs = self._fns[name]
        tag = hex(block)
        payloads = [
            ("eth_call", [{"to": self.address, "data": "0x" + (selector + abi_encode(inputs, list(args))).hex()}, tag])
            for args in arg_lists
        ]
        raw: list[Any] = []
        for start in range(0, len(payloads), self.calls_per_batch):
            raw += self._send(payloads[start : start + self.calls_per_batch])
        fast = DECODERS.get(name)
        if fast is not None:
            return [fast(bytes.fromhex(r.removeprefix("0x"))) for r in raw]
        decoded = [abi_decode(outputs, bytes.fromhex(r.removeprefix("0x"))) for r in raw]
        return [d[0] if len(outputs) == 1 else d for d in decoded]

    def _send(self, payloads: list[tuple[str, list[Any]]]) -> list[Any]:
        self.requests += 1
        provider: Any = self.w3.provider
        if len(payloads) > 1 and hasattr(provider, "make_batch_request"):
            replies = provider.make_batch_request(payloads)
        else:
            replies = [provider.make_request(method, params) for method, params in payloads]
        out = []
        for (method, params), reply in zip(payloads, replies, strict=True):
            if "error" in reply:
                raise IndexError_(f"{method} to {params[0]['to']} failed: {reply['error']}")
            out.append(reply["result"])
        return out


class RegistryIndex:
    """The provider list of one registry on one chain, optionally cached at `cache_path`."""

    def __init__(
        self,
        w3: Web3,
        registry_address: str,
        *,
        cache_path: Path | None = None,
        escrow_address: str | None = None,
        from_block: int = 0,
        batch: int = BATCH,
        page: int = PAGE,
    ) -> None:
        self.w3 = w3
        self.registry: Contract = registry_contract(w3, registry_address)
        escrow = escrow_address or self.registry.functions.escrow().call()
        self.escrow: Contract = escrow_contract(w3, escrow)
        self.cache_path = cache_path
        self.from_block = from_block
        self.batch = batch
        self.page = page
        self.snapshot: IndexSnapshot | None = None
        self._calls = 0
        self._raw = RawCalls(w3, self.registry)
        self._topics = {
            name: "0x" + event_abi_to_log_topic(self.escrow.events[name]().abi).hex() for name in _ESCROW_EVENTS
        }
        self._escrow_bound = "0x" + event_abi_to_log_topic(self.registry.events.EscrowBound().abi).hex()
        self._meta_published = "0x" + event_abi_to_log_topic(self.registry.events.MetaPublished().abi).hex()

    # ----- public -----
    @property
    def providers(self) -> tuple[ProviderRecord, ...]:
        if self.snapshot is None:
            raise IndexError_("the index is empty; call build() or update() first")
        return self.snapshot.providers

    def load(self) -> IndexSnapshot | None:
        """The cached snapshot if the cache file exists and is readable (None otherwise)."""
        if self.cache_path is None or not self.cache_path.exists():
            return None
        try:
            snap = _snapshot_from_json(json.loads(self.cache_path.read_bytes()))
        except (ValueError, KeyError, TypeError, IndexError, ValidationError):
            return None  # an old, foreign or damaged file: rebuilt and overwritten by update()
        self.snapshot = snap
        return snap

    def save(self) -> None:
        if self.cache_path is None or self.snapshot is None:
            return
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.cache_path.with_suffix(self.cache_path.suffix + ".tmp")
        tmp.write_text(self.snapshot.model_dump_json())
        tmp.replace(self.cache_path)  # atomic: a reader never sees half a file

    def build(self) -> UpdateStats:
        """Read every provider at the current head (full rebuild)."""
        started, self._calls = time.perf_counter(), 0
        head = self._block("latest")
        number = int(head["number"])
        addresses = self._all_addresses(number)
        docs: dict[str, list[bytes]] = {}
        for log in self._logs(self.registry.address, self.from_block, number, topics=[self._meta_published]):
            self._collect_doc(log, docs)
        providers = self._read_providers(addresses, number, docs)
        open_escrows = self._apply_escrow_logs({}, self.from_block, number)[0]
        self.snapshot = self._snapshot(head, providers, open_escrows)
        self.save()
        return UpdateStats(
            True, self.from_block, number, len(providers), self._calls, time.perf_counter() - started, "full build"
        )

    def update(self) -> UpdateStats:
        """Bring the index to the head: from the cache by events when possible, else a full build."""
        snap = self.snapshot or self.load()
        reason = self._rebuild_reason(snap)
        if reason:
            stats = self.build()
            return UpdateStats(
                True, stats.from_block, stats.to_block, stats.changed, stats.rpc_calls, stats.seconds, reason
            )
        assert snap is not None
        started, self._calls = time.perf_counter(), 0
        head = self._block("latest")
        number = int(head["number"])
        if number <= snap.block_number:
            return UpdateStats(False, snap.block_number, snap.block_number, 0, self._calls, 0.0, "up to date")

        first = snap.block_number + 1
        dirty: set[str] = set()
        docs: dict[str, list[bytes]] = {}
        for log in self._logs(self.registry.address, first, number):
            topics = log["topics"]
            if len(topics) >= 2 and _hex(topics[0]) != self._escrow_bound:
                dirty.add(_topic_address(topics[1]))
                self._collect_doc(log, docs)
        open_escrows, escrow_dirty, unknown = self._apply_escrow_logs(dict(snap.open_escrows), first, number)
        dirty |= escrow_dirty

        by_address = {p.address: p for p in snap.providers}
        if unknown:  # a release we cannot attribute: refresh every provider rather than guess
            dirty |= set(by_address)
        fresh = self._read_providers(sorted(dirty), number, docs, by_address)
        for record in fresh:
            by_address[record.address] = record
        known = set(snap.providers[i].address for i in range(len(snap.providers)))
        ordered = [by_address[p.address] for p in snap.providers] + [r for r in fresh if r.address not in known]
        self.snapshot = self._snapshot(head, ordered, open_escrows)
        self.save()
        return UpdateStats(
            False,
            first,
            number,
            len(fresh),
            self._calls,
            time.perf_counter() - started,
            "refreshed all (unattributed release)" if unknown else "incremental",
        )

    def staleness(self) -> Staleness:
        if self.snapshot is None:
            raise IndexError_("the index is empty; call build() or update() first")
        head = self._block("latest")
        return Staleness(
            blocks_behind=max(int(head["number"]) - self.snapshot.block_number, 0),
            seconds_behind=max(int(head["timestamp"]) - self.snapshot.block_timestamp, 0),
            head_block=int(head["number"]),
        )

    # ----- reading -----
    def _rebuild_reason(self, snap: IndexSnapshot | None) -> str:
        if snap is None:
            return "no cache"
        if snap.kind != INDEX_KIND or snap.version != INDEX_VERSION:
            return f"cache format {snap.kind} v{snap.version}"
        if snap.chain_id != int(self.w3.eth.chain_id):
            return f"cache is for chain {snap.chain_id}"
        if snap.registry != self.registry.address:
            return f"cache is for registry {snap.registry}"
        try:
            block = self._block(snap.block_number)
        except Exception:
            return f"block {snap.block_number} is gone"
        if _hex(block["hash"]) != snap.block_hash:
            return f"block {snap.block_number} was replaced (reorg or restarted chain)"
        return ""

    def _all_addresses(self, block: int) -> list[str]:
        count = self._raw_call("providerCount", [()], block)[0]
        pages = self._raw_call("providersPage", [(o, self.page) for o in range(0, count, self.page)], block)
        return [_checksum(a) for page in pages for a in page]

    def _read_providers(
        self,
        addresses: Sequence[str],
        block: int,
        docs: dict[str, list[bytes]],
        previous: dict[str, ProviderRecord] | None = None,
    ) -> list[ProviderRecord]:
        chunks = [(list(addresses[s : s + self.batch]),) for s in range(0, len(addresses), self.batch)]
        pages = self._raw_call("getProviders", chunks, block)
        views = [v for chunk in pages for v in named(REGISTRY, "getProviders", chunk)]
        gpu_reads = [(v["provider"], class_id) for v in views for class_id in v["gpuClassIds"]]
        gpu_views = [named(REGISTRY, "gpuClass", g) for g in self._raw_call("gpuClass", gpu_reads, block)]
        gpus = dict(zip(gpu_reads, gpu_views, strict=True))
        records = [_record(v, gpus) for v in views]
        return [_with_gateway(r, docs, (previous or {}).get(r.address)) for r in records]

    def _collect_doc(self, log: Any, docs: dict[str, list[bytes]]) -> None:
        """Remember the document of a MetaPublished log (in log order) under its provider."""
        topics = log["topics"]
        if _hex(topics[0]) != self._meta_published:
            return
        data = log["data"]
        raw = bytes(data) if isinstance(data, (bytes, bytearray)) else bytes.fromhex(str(data).removeprefix("0x"))
        _hash, doc = abi_decode(["bytes32", "bytes"], raw)
        docs.setdefault(_topic_address(topics[1]), []).append(bytes(doc))

    def _raw_call(self, name: str, arg_lists: Sequence[Sequence[Any]], block: int) -> list[Any]:
        before = self._raw.requests
        out = self._raw.many(name, arg_lists, block)
        self._calls += self._raw.requests - before
        return out

    def _apply_escrow_logs(
        self, open_escrows: dict[str, str], first: int, last: int
    ) -> tuple[dict[str, str], set[str], bool]:
        """Follow escrow lifecycles in log order; returns (open map, touched providers, unattributed?)."""
        t = self._topics
        dirty: set[str] = set()
        unknown = False
        for log in self._logs(self.escrow.address, first, last, topics=[list(t.values())]):
            topics = [_hex(x) for x in log["topics"]]
            kind = topics[0]
            if kind == t["EscrowCreated"]:
                provider = _topic_address(topics[3])
                open_escrows[topics[1]] = provider
                dirty.add(provider)
            elif kind == t["ProviderChanged"]:
                old: str | None = open_escrows.pop(topics[1], None)
                new_provider = _topic_address(topics[3])
                open_escrows[topics[2]] = new_provider
                dirty.add(new_provider)
                if old is None:
                    unknown = True
                else:
                    dirty.add(old)
            else:  # Cancelled, Stopped, Finalized: terminal, capacity released
                released: str | None = open_escrows.pop(topics[1], None)
                if released is None:
                    unknown = True
                else:
                    dirty.add(released)
        return open_escrows, dirty, unknown

    def _logs(self, address: str, first: int, last: int, topics: list[Any] | None = None) -> Iterable[Any]:
        for start in range(first, last + 1, LOG_CHUNK):
            params: dict[str, Any] = {
                "address": address,
                "fromBlock": start,
                "toBlock": min(start + LOG_CHUNK - 1, last),
            }
            if topics:
                params["topics"] = topics
            self._calls += 1
            yield from self.w3.eth.get_logs(params)  # type: ignore[arg-type]

    def _block(self, ident: int | str) -> Any:
        self._calls += 1
        return self.w3.eth.get_block(ident)  # type: ignore[arg-type]

    def _snapshot(self, head: Any, providers: Sequence[ProviderRecord], open_escrows: dict[str, str]) -> IndexSnapshot:
        return IndexSnapshot(
            chain_id=int(self.w3.eth.chain_id),
            registry=self.registry.address,
            escrow=self.escrow.address,
            block_number=int(head["number"]),
            block_hash=_hex(head["hash"]),
            block_timestamp=int(head["timestamp"]),
            indexed_at=time.time(),
            open_escrows=open_escrows,
            providers=tuple(providers),
        )


def _snapshot_from_json(data: dict[str, Any]) -> IndexSnapshot:
    """Our own cache file, read without per-field validation (pydantic + EIP-55 on 10,000 records takes
    seconds). The header is validated; records are built as the chain reader builds them, and any
    missing or mistyped field raises, which makes update() rebuild from the chain."""
    providers = data.pop("providers")
    header = IndexSnapshot.model_validate({**data, "providers": ()})
    records = tuple(
        ProviderRecord.model_construct(
            address=p["address"],
            active=bool(p["active"]),
            registered_at=int(p["registered_at"]),
            region=str(p["region"]),
            meta_hash=str(p["meta_hash"]),
            total=_capacity(p["total"]),
            used=_capacity(p["used"]),
            prices=BaseRanges.model_construct(
                cpu_per_milli_hour=int(p["prices"]["cpu_per_milli_hour"]),
                memory_per_mib_hour=int(p["prices"]["memory_per_mib_hour"]),
                storage_per_gib_hour=int(p["prices"]["storage_per_gib_hour"]),
            ),
            reputation=ReputationCounters.model_construct(
                completed=int(p["reputation"]["completed"]),
                stopped_early=int(p["reputation"]["stopped_early"]),
                cancelled=int(p["reputation"]["cancelled"]),
                total_earned=int(p["reputation"]["total_earned"]),
            ),
            gpu_classes=tuple(
                GpuClassRecord.model_construct(
                    class_id=int(g["class_id"]),
                    model=str(g["model"]),
                    total=int(g["total"]),
                    used=int(g["used"]),
                    price_per_hour=int(g["price_per_hour"]),
                )
                for g in p["gpu_classes"]
            ),
            gateway=None if p["gateway"] is None else GatewayInfo.model_validate(p["gateway"]),
        )
        for p in providers
    )
    for record in records:  # the fields matching relies on must be present and well-typed
        if not (isinstance(record.address, str) and len(record.address) == 42):
            raise ValueError(f"cached provider address {record.address!r} is malformed")
        _ = (record.total.cpu_millis, record.used.storage_gib, record.prices.cpu_per_milli_hour)
    return header.model_copy(update={"providers": records})


def _capacity(d: dict[str, Any]) -> Capacity:
    return Capacity.model_construct(
        cpu_millis=int(d["cpu_millis"]), memory_mib=int(d["memory_mib"]), storage_gib=int(d["storage_gib"])
    )


def _record(view: dict[str, Any], gpus: dict[tuple[str, int], dict[str, Any]]) -> ProviderRecord:
    """A ProviderView, decoded by field name (+ its GPU classes), as a ProviderRecord."""
    address, total, used = view["provider"], view["total"], view["used"]
    prices, rep = view["prices"], view["reputation"]
    return ProviderRecord.model_construct(
        address=_checksum(address),
        active=bool(view["active"]),
        registered_at=int(view["registeredAt"]),
        region=bytes32_to_text(view["region"]),
        meta_hash=bytes32_hex(view["metaHash"]),
        total=Capacity.model_construct(
            cpu_millis=total["cpuMillis"], memory_mib=total["memoryMiB"], storage_gib=total["storageGiB"]
        ),
        used=Capacity.model_construct(
            cpu_millis=used["cpuMillis"], memory_mib=used["memoryMiB"], storage_gib=used["storageGiB"]
        ),
        prices=BaseRanges.model_construct(
            cpu_per_milli_hour=prices["cpuPerMilliHour"],
            memory_per_mib_hour=prices["memoryPerMiBHour"],
            storage_per_gib_hour=prices["storagePerGiBHour"],
        ),
        reputation=ReputationCounters.model_construct(
            completed=rep["completed"],
            stopped_early=rep["stoppedEarly"],
            cancelled=rep["cancelled"],
            total_earned=rep["totalEarned"],
        ),
        gpu_classes=tuple(
            GpuClassRecord.model_construct(
                class_id=int(class_id),
                model=bytes32_to_text(g["model"]),
                total=g["total"],
                used=g["used"],
                price_per_hour=g["pricePerHour"],
            )
            for class_id in view["gpuClassIds"]
            for g in (gpus[(address, class_id)],)
        ),
    )


def _with_gateway(
    record: ProviderRecord, docs: dict[str, list[bytes]], previous: ProviderRecord | None
) -> ProviderRecord:
    """The record with the gateway its metaHash commits to: from a document seen now, else kept from before."""
    if int(record.meta_hash, 16) == 0:
        return record
    for doc in reversed(docs.get(record.address, [])):
        if "0x" + keccak(doc).hex() == record.meta_hash:
            return record.model_copy(update={"gateway": decode_gateway(doc)})
    if previous is not None and previous.meta_hash == record.meta_hash:
        return record.model_copy(update={"gateway": previous.gateway})
    return record


@functools.lru_cache(maxsize=200_000)
def _checksum(address: str) -> str:
    """EIP-55 costs a keccak per call; an index checksums each provider several times."""
    return to_checksum_address(address)


def _hex(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    text = str(value).lower()
    return text if text.startswith("0x") else "0x" + text


def _topic_address(topic: Any) -> str:
    return to_checksum_address("0x" + _hex(topic)[-40:])
