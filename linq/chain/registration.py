"""Provider registration on the ProviderRegistry: read the current record, plan the calls that bring it
to the desired one (only what differs), apply them, deactivate.

Registry calls: register, updateCapacity, updateBaseRanges, updateRegion, updateMeta, publishMeta (a
metadata document on chain: the gateway URL and TLS pin, linq.gateway.meta), updateGpuClass, reactivate,
deactivate. GPU classes cannot be removed on chain; a class left out of the desired spec is
set to a total of 0 (no new escrows can use it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_utils import keccak

from linq.chain.client import ChainClient
from linq.chain.errors import InputError
from linq.chain.values import whole
from linq.contracts.abi import named
from linq.gateway.meta import GatewayInfo
from linq.gateway.meta import decode as decode_gateway
from linq.market.encoding import EncodingError, bytes32_to_text, region_to_bytes32, text_to_bytes32

UINT32 = 2**32 - 1
UINT64 = 2**64 - 1
UINT128 = 2**128 - 1


@dataclass(frozen=True)
class GpuClassSpec:
    class_id: int
    model: str
    count: int
    price_per_hour: int


@dataclass(frozen=True)
class RegistrationSpec:
    cpu_millis: int
    memory_mib: int
    storage_gib: int
    price_cpu: int  # LNQ wei per millicore-hour
    price_memory: int  # per MiB-hour
    price_storage: int  # per GiB-hour
    region: str
    meta_hash: bytes  # 32 bytes
    gpu_classes: tuple[GpuClassSpec, ...] = ()
    active: bool = True
    meta_doc: bytes | None = None  # a document published with publishMeta; meta_hash == keccak256(meta_doc)
    gateway: GatewayInfo | None = None  # what the published document says, when it is a gateway document

    def to_json(self) -> dict[str, object]:
        return {
            "cpu_millis": self.cpu_millis,
            "memory_mib": self.memory_mib,
            "storage_gib": self.storage_gib,
            "price_cpu": str(self.price_cpu),
            "price_memory": str(self.price_memory),
            "price_storage": str(self.price_storage),
            "region": self.region,
            "meta_hash": "0x" + self.meta_hash.hex(),
            "gpu_classes": [
                {"class_id": g.class_id, "model": g.model, "count": g.count, "price_per_hour": str(g.price_per_hour)}
                for g in self.gpu_classes
            ],
            "active": self.active,
            "gateway": None
            if self.gateway is None
            else {"url": self.gateway.url, "tls_spki_sha256": self.gateway.tls_spki_sha256},
        }


def meta_hash(text: str) -> bytes:
    """A 0x + 64-hex value is used as is; anything else (a CID, a URL) is keccak256-hashed."""
    value = text.strip()
    if value.startswith("0x") and len(value) == 66:
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            pass
    if not value:
        raise InputError("meta", text, "is empty", "give a 0x-prefixed bytes32, an IPFS CID or a URL")
    return keccak(value.encode())


def parse_gpu(text: str, *, field: str = "--gpu") -> GpuClassSpec:
    """CLASS:MODEL:COUNT:PRICE, e.g. 1:nvidia-a100:2:900000000000000000 (price: wei per GPU-hour, as an integer;
    the CLI reads it in the unit grammar first)."""
    parts = text.split(":")
    if len(parts) != 4:
        raise InputError(field, text, "is not CLASS:MODEL:COUNT:PRICE", "e.g. 1:nvidia-a100:2:900000000000000000")
    class_text, model, count_text, price_text = (p.strip() for p in parts)
    class_id = _whole(f"{field} class", class_text, 2**16 - 1)
    count = _whole(f"{field} count", count_text, UINT32)
    price = _whole(f"{field} price", price_text, UINT128)
    if not model:
        raise InputError(f"{field} model", model, "is empty", "name the GPU model, e.g. nvidia-a100")
    try:
        text_to_bytes32(model, field=f"{field} model")
    except EncodingError as err:
        raise InputError(f"{field} model", model, str(err), "use at most 32 bytes") from None
    return GpuClassSpec(class_id, model, count, price)


def _whole(field: str, value: object, limit: int) -> int:
    number = whole(field, value)
    if number > limit:
        raise InputError(field, value, f"is above the contract's limit {limit}", f"give at most {limit}")
    return number


def spec(
    *,
    cpu: object,
    memory: object,
    storage: object,
    price_cpu: object,
    price_memory: object,
    price_storage: object,
    region: str,
    meta: str,
    gpus: tuple[GpuClassSpec, ...] = (),
    active: bool = True,
    gateway: GatewayInfo | None = None,
) -> RegistrationSpec:
    """A validated RegistrationSpec; each error names the field and the fix."""
    cpu_m = _whole("cpu", cpu, UINT32)
    if cpu_m == 0:
        raise InputError("cpu", cpu, "is 0 millicores", "offer some CPU, e.g. 4000 (4 cores)")
    try:
        region_to_bytes32(region)
    except EncodingError as err:
        raise InputError("region", region, str(err), "use 1-32 ASCII characters, e.g. eu-west") from None
    if not region.strip():
        raise InputError("region", region, "is empty", "give a region such as eu-west")
    ids = [g.class_id for g in gpus]
    if len(set(ids)) != len(ids):
        raise InputError("gpu", ids, "repeats a class id", "give each GPU class once")
    return RegistrationSpec(
        cpu_m,
        _whole("memory", memory, UINT32),
        _whole("storage", storage, UINT32),
        _whole("price_cpu", price_cpu, UINT64),
        _whole("price_memory", price_memory, UINT64),
        _whole("price_storage", price_storage, UINT64),
        region.strip().lower(),
        gateway.meta_hash if gateway else meta_hash(meta),
        tuple(sorted(gpus, key=lambda g: g.class_id)),
        active,
        gateway.document() if gateway else None,
        gateway,
    )


def read(client: ChainClient, address: str) -> RegistrationSpec | None:
    """The registry's record of `address`, or None if it never registered."""
    view = named("ProviderRegistry", "getProvider", client.registry.functions.getProvider(address).call())
    if not view["registeredAt"]:
        return None
    gpus = []
    for class_id in view["gpuClassIds"]:
        g = named("ProviderRegistry", "gpuClass", client.registry.functions.gpuClass(address, class_id).call())
        gpus.append(GpuClassSpec(int(class_id), bytes32_to_text(g["model"]), int(g["total"]), int(g["pricePerHour"])))
    total, prices = view["total"], view["prices"]
    doc = published_meta(client, address, bytes(view["metaHash"]))
    return RegistrationSpec(
        int(total["cpuMillis"]),
        int(total["memoryMiB"]),
        int(total["storageGiB"]),
        int(prices["cpuPerMilliHour"]),
        int(prices["memoryPerMiBHour"]),
        int(prices["storagePerGiBHour"]),
        bytes32_to_text(view["region"]),
        bytes(view["metaHash"]),
        tuple(sorted(gpus, key=lambda g: g.class_id)),
        bool(view["active"]),
        doc,
        decode_gateway(doc) if doc else None,
    )


def published_meta(client: ChainClient, address: str, meta: bytes) -> bytes | None:
    """The newest document `address` published with publishMeta whose hash is its current metaHash, or None."""
    if meta == bytes(32):
        return None
    logs = client.registry.events.MetaPublished.get_logs(
        argument_filters={"provider": address}, from_block=int(client.profile.book.deployed_block)
    )
    for log in reversed(list(logs)):
        doc = bytes(log["args"]["meta"])
        if keccak(doc) == meta:
            return doc
    return None


@dataclass
class Step:
    name: str
    call: object = field(repr=False)


def plan(client: ChainClient, current: RegistrationSpec | None, want: RegistrationSpec) -> list[Step]:
    """The registry calls that turn `current` into `want` (empty when they already agree)."""
    f = client.registry.functions
    capacity = (want.cpu_millis, want.memory_mib, want.storage_gib)
    prices = (want.price_cpu, want.price_memory, want.price_storage)
    region = region_to_bytes32(want.region)
    steps: list[Step] = []
    if current is None:
        # A published document is hashed by publishMeta itself; register leaves the slot empty (no double write).
        steps.append(
            Step("register", f.register(capacity, prices, region, bytes(32) if want.meta_doc else want.meta_hash))
        )
        if want.meta_doc:
            steps.append(Step("publishMeta", f.publishMeta(want.meta_doc)))
    else:
        if (current.cpu_millis, current.memory_mib, current.storage_gib) != capacity:
            steps.append(Step("updateCapacity", f.updateCapacity(capacity)))
        if (current.price_cpu, current.price_memory, current.price_storage) != prices:
            steps.append(Step("updateBaseRanges", f.updateBaseRanges(prices)))
        if current.region != want.region:
            steps.append(Step("updateRegion", f.updateRegion(region)))
        if current.meta_hash != want.meta_hash:
            if want.meta_doc:
                steps.append(Step("publishMeta", f.publishMeta(want.meta_doc)))
            else:
                steps.append(Step("updateMeta", f.updateMeta(want.meta_hash)))
    have = {g.class_id: g for g in (current.gpu_classes if current else ())}
    for gpu in want.gpu_classes:
        if have.get(gpu.class_id) != gpu:
            model = text_to_bytes32(gpu.model, field="gpu model")
            steps.append(
                Step(
                    f"updateGpuClass({gpu.class_id})",
                    f.updateGpuClass(gpu.class_id, model, gpu.count, gpu.price_per_hour),
                )
            )
    wanted_ids = {g.class_id for g in want.gpu_classes}
    for class_id, gpu in have.items():
        if class_id not in wanted_ids and gpu.count:
            model = text_to_bytes32(gpu.model, field="gpu model")
            steps.append(
                Step(f"updateGpuClass({class_id})=0", f.updateGpuClass(class_id, model, 0, gpu.price_per_hour))
            )
    if current is not None and current.active != want.active:
        steps.append(
            Step("reactivate" if want.active else "deactivate", f.reactivate() if want.active else f.deactivate())
        )
    return steps


def apply(client: ChainClient, want: RegistrationSpec) -> tuple[list[str], dict[str, str]]:
    """Register or update the signer's record; returns (calls made, tx hash per call)."""
    current = read(client, client.address)
    hashes: dict[str, str] = {}
    for step in plan(client, current, want):
        result = client.send(
            step.call,
            what=f"registry {step.name} for {client.address}",
            context={"provider": client.address, "action": step.name},
            step=step.name,
        )
        hashes[step.name] = result.tx_hash
    return list(hashes), hashes


def deactivate(client: ChainClient) -> str | None:
    current = read(client, client.address)
    if current is None or not current.active:
        return None
    return client.send(
        client.registry.functions.deactivate(),
        what=f"deactivate provider {client.address}",
        context={"provider": client.address},
        step="deactivate",
    ).tx_hash
