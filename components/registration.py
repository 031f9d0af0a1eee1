"""The ProviderRegistration dynamic resource: a provider's record in the on-chain ProviderRegistry.

    ProviderRegistration("me", cpu=16000, memory=65536, storage=500, price_cpu="1000000000000",
                         price_memory="100000000000", price_storage="10000000000000", region="eu-west",
                         meta="https://example.org/provider.json",
                         gpu_classes=["1:nvidia-a100:2:900000000000000000"])

The signer (the provider's wallet) comes from stack config or the environment (components.dynamic).
create registers (or, if the wallet is already registered, updates what differs — so a crash or a re-run
converges); capacity, prices, GPU classes, region and metadata update in place; delete deactivates
(open escrows run on; the record stays, as the registry keeps every provider). The id is the address.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from components.dynamic import LinqProvider, is_unknown, merged
from linq.chain import ChainError, InputError
from linq.chain import registration as reg

FIELDS = ("cpu", "memory", "storage", "price_cpu", "price_memory", "price_storage", "region", "meta", "gpu_classes")
OUTPUTS = ("provider", "active", "meta_hash", "tx_hashes")


def _gpu(value: Any, index: int) -> reg.GpuClassSpec:
    field = f"gpu_classes[{index}]"
    if isinstance(value, str):
        return reg.parse_gpu(value, field=field)
    if isinstance(value, Mapping):
        keys = ("class_id", "model", "count", "price_per_hour")
        missing = [k for k in keys if k not in value]
        if missing:
            raise InputError(f"{field}.{missing[0]}", None, "is missing", f"give {', '.join(keys)}")
        return reg.parse_gpu(":".join(str(_int_text(value[k])) for k in keys), field=field)
    raise InputError(field, value, "is not a GPU class", "give CLASS:MODEL:COUNT:PRICE or a mapping")


def _int_text(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def to_spec(props: Mapping[str, Any]) -> reg.RegistrationSpec:
    gpus = tuple(_gpu(g, i) for i, g in enumerate(props.get("gpu_classes") or ()))
    return reg.spec(
        cpu=_int_text(props.get("cpu")),
        memory=_int_text(props.get("memory") or 0),
        storage=_int_text(props.get("storage") or 0),
        price_cpu=_int_text(props.get("price_cpu") or 0),
        price_memory=_int_text(props.get("price_memory") or 0),
        price_storage=_int_text(props.get("price_storage") or 0),
        region=str(props.get("region") or ""),
        meta=str(props.get("meta") or ""),
        gpus=gpus,
    )


def normalised(spec: reg.RegistrationSpec, meta: str) -> dict[str, Any]:
    return {
        "cpu": spec.cpu_millis,
        "memory": spec.memory_mib,
        "storage": spec.storage_gib,
        "price_cpu": str(spec.price_cpu),
        "price_memory": str(spec.price_memory),
        "price_storage": str(spec.price_storage),
        "region": spec.region,
        "meta": meta,
        "gpu_classes": [f"{g.class_id}:{g.model}:{g.count}:{g.price_per_hour}" for g in spec.gpu_classes],
    }


class RegistrationProvider(LinqProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        raw = {k: news.get(k) for k in FIELDS}
        if any(is_unknown(v) for v in raw.values()):
            return CheckResult(raw, [])
        try:
            spec = to_spec(raw)
        except InputError as err:
            return CheckResult(raw, [CheckFailure(err.field.split("[")[0].split(".")[0], str(err))])
        _signer, failures = self.signer_or_failure()
        return CheckResult(normalised(spec, str(raw["meta"]).strip()), failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in FIELDS if _canon(olds.get(k)) != _canon(news.get(k))]
        if olds.get("active") is False:
            changed.append("active")  # deactivated outside Pulumi: reactivate
        return DiffResult(changes=bool(changed), replaces=[], stables=["provider"], delete_before_replace=False)

    def _apply(self, props: Mapping[str, Any], old_hashes: Mapping[str, str] | None = None) -> dict[str, Any]:
        client = self.client()
        client.transactor.wait_for_pending()
        spec = to_spec(props)
        calls, hashes = reg.apply(client, spec)
        all_hashes = dict(old_hashes or {})
        all_hashes.update(hashes)
        return merged(
            {k: props.get(k) for k in FIELDS},
            {
                "provider": client.address,
                "active": True,
                "meta_hash": "0x" + spec.meta_hash.hex(),
                "tx_hashes": all_hashes,
                "last_calls": calls,
            },
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = self._apply(props)
        return CreateResult(outs["provider"], outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(merged(olds, self._apply(news, olds.get("tx_hashes"))))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        client = self.client(signer=False)
        current = reg.read(client, id_)
        if current is None:
            return ReadResult(None, {})  # the record is gone (another chain): drop it from state
        outs = merged(
            props,
            normalised(current, str(props.get("meta") or "")),
            {"active": current.active, "meta_hash": "0x" + current.meta_hash.hex(), "provider": id_},
        )
        if "0x" + current.meta_hash.hex() != props.get("meta_hash"):
            outs["meta"] = "0x" + current.meta_hash.hex()  # changed outside Pulumi
        return ReadResult(id_, outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        client = self.client()
        if client.address.lower() != id_.lower():
            raise ChainError(f"provider {id_} can be deactivated only by its own key; the signer is {client.address}")
        reg.deactivate(client)


def _canon(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_canon(v) for v in value]
    return value


class ProviderRegistration(Resource, module="registration", name="ProviderRegistration"):
    """A provider's registry record. Prices are LNQ wei per unit-hour (decimal strings)."""

    provider: pulumi.Output[str]
    active: pulumi.Output[bool]
    meta_hash: pulumi.Output[str]
    tx_hashes: pulumi.Output[dict[str, str]]

    def __init__(
        self,
        resource_name: str,
        *,
        cpu: pulumi.Input[int],
        memory: pulumi.Input[int],
        storage: pulumi.Input[int],
        price_cpu: pulumi.Input[str | int],
        price_memory: pulumi.Input[str | int],
        price_storage: pulumi.Input[str | int],
        region: pulumi.Input[str],
        meta: pulumi.Input[str],
        gpu_classes: pulumi.Input[Sequence[Any]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "cpu": cpu,
            "memory": memory,
            "storage": storage,
            "price_cpu": price_cpu,
            "price_memory": price_memory,
            "price_storage": price_storage,
            "region": region,
            "meta": meta,
            "gpu_classes": gpu_classes or [],
        }
        props.update({k: None for k in OUTPUTS})
        super().__init__(RegistrationProvider(), resource_name, props, opts)
