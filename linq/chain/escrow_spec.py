"""The Escrow resource's inputs: validation and normalisation (pure), then cheap chain reads (check).

Raw inputs (what a program or stack config gives):
    provider            address of a registered provider            } one of these
    match               a MatchResult / Candidate dict (best first)  } (or an offer, which names it)
    resources           {cpu: "500m"|2, memory: "1Gi"|1024, storage: "10Gi"|10, gpu_class, gpu_count}
    offer               a signed offer (the JSON `linq offer sign` writes, text or dict)
    duration            "30m", "24h", 3600 ...    } deposit = ceilDiv(rate * duration, 3600) unless
    deposit             "1.5 LNQ" or "1500 wei"   } given explicitly (a bare number is refused)
    max_rate_per_hour   "0.01 LNQ/h" or "10 wei/h" (registry prices only; default: the price seen at preview)
    top_up_policy       "in-place" (a larger deposit/duration tops up) | "never" (it is an error)
    renew               true: a settled escrow is replaced by a new one at the next `up`
    chain_id            the chain the stack is meant for (rejected if the network serves another)
    salt_seed           set by the resource from project/stack/type/name

Quantities are read with the one unit grammar (linq.units). Normalised inputs use decimal strings for every
wei amount (Pulumi carries numbers as float64) and ints for small numbers; `normalise(..., canonical=True)`
reads that form back. Every failure is (field, sentence naming the value and the fix).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from eth_utils import is_address, to_checksum_address

from linq.chain.errors import ChainError, InputError
from linq.chain.values import whole
from linq.contracts.abi import named
from linq.contracts.terms import RESOURCE_FIELDS
from linq.market.encoding import ZERO_ADDRESS
from linq.market.offers import OfferError, SignedOffer, verify_offer
from linq.protocol.money import deposit_for, offer_deposit_bounds, runway_seconds
from linq.units import (
    UnitError,
    format_duration,
    format_lnq,
    parse_amount,
    parse_cpu,
    parse_duration,
    parse_memory,
    parse_rate,
    parse_storage,
)

UINT96 = 2**96 - 1
UINT128 = 2**128 - 1
POLICIES = ("in-place", "never")
FIELDS = (
    "provider",
    "match",
    "resources",
    "offer",
    "duration",
    "deposit",
    "max_rate_per_hour",
    "top_up_policy",
    "renew",
    "chain_id",
    "salt_seed",
)
RESOURCE_KEYS = RESOURCE_FIELDS


@dataclass(frozen=True)
class Failure:
    field: str
    reason: str


def _absent(value: Any) -> bool:
    return value is None or value == ""


def _never_unknown(_value: Any) -> bool:
    return False


class _Collector:
    def __init__(self) -> None:
        self.failures: list[Failure] = []

    def fail(self, field: str, reason: str) -> None:
        self.failures.append(Failure(field, reason))

    def run(self, field: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except (InputError, UnitError, OfferError, ValueError) as err:
            text = str(err)
            # The most precise field wins: input and unit errors carry it, others start their sentence with it.
            first = text.split(" ", 1)[0].rstrip(":")
            if isinstance(err, InputError | UnitError):
                where = err.field
            else:
                where = first if first.startswith(field) else field
            self.fail(where, text if text.startswith(where) else f"{where}: {text}")
            return None


def _address(field: str, value: Any) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise InputError(field, value, "is not an Ethereum address", "give 0x followed by 40 hex digits")
    if value.lower() == ZERO_ADDRESS:
        raise InputError(field, value, "is the zero address", "give the provider's wallet address")
    return to_checksum_address(value)


def _money(field: str, value: Any, *, rate: bool, canonical: bool) -> int:
    """A user's amount or rate in the unit grammar; `canonical`: the wei decimal string normalise wrote."""
    if canonical:
        return whole(field, value)
    return parse_rate(value, field=field) if rate else parse_amount(value, field=field)


def _resources(value: Any) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise InputError(
            "resources", value, "is not a mapping", "give e.g. {cpu: '500m', memory: '1Gi', storage: '10Gi'}"
        )
    known = set(RESOURCE_KEYS) | {"cpu", "memory", "storage"}
    unknown = sorted(set(value) - known)
    if unknown:
        raise InputError(
            f"resources.{unknown[0]}", value[unknown[0]], "is not a resource", f"use {', '.join(sorted(known))}"
        )
    out = {k: 0 for k in RESOURCE_KEYS}
    for key, parse, target in (
        ("cpu", parse_cpu, "cpu_millis"),
        ("memory", parse_memory, "memory_mib"),
        ("storage", parse_storage, "storage_gib"),
    ):
        raw = value.get(target, value.get(key))
        if raw is None:
            continue
        if isinstance(raw, float):
            raw = whole(f"resources.{key}", raw)
        if target in value:
            out[target] = whole(f"resources.{target}", raw)
        else:
            out[target] = parse(raw, field=f"resources.{key}")
    out["gpu_class"] = whole("resources.gpu_class", value.get("gpu_class", 0))
    out["gpu_count"] = whole("resources.gpu_count", value.get("gpu_count", 0))
    for key, limit in (
        ("cpu_millis", 2**32 - 1),
        ("memory_mib", 2**32 - 1),
        ("storage_gib", 2**32 - 1),
        ("gpu_class", 2**16 - 1),
        ("gpu_count", 2**16 - 1),
    ):
        if out[key] > limit:
            raise InputError(
                f"resources.{key}", out[key], f"is above the contract's limit {limit}", f"request at most {limit}"
            )
    if not any(out[k] for k in ("cpu_millis", "memory_mib", "storage_gib", "gpu_count")):
        raise InputError("resources", dict(value), "requests nothing", "ask for some CPU, memory, storage or GPUs")
    return out


def _offer(value: Any) -> SignedOffer:
    text = value if isinstance(value, str) else json.dumps(value)
    return SignedOffer.from_json(text, source="offer")


def _match(value: Any) -> dict[str, Any]:
    """A Candidate dict, or a MatchResult dict (its first candidate): provider, rate, GPU class."""
    if not isinstance(value, Mapping):
        raise InputError("match", value, "is not a match result", "pass a MatchResult or Candidate (model_dump())")
    candidate: Any = value
    if "candidates" in value:
        if not value["candidates"]:
            raise InputError(
                "match.candidates",
                [],
                "is empty: no provider matched",
                "relax the requirements (`linq providers match` shows why each was rejected)",
            )
        candidate = value["candidates"][0]
    if not isinstance(candidate, Mapping) or "provider" not in candidate:
        raise InputError("match", value, "has no provider", "pass a MatchResult or Candidate (model_dump())")
    return {
        "provider": _address("match.provider", candidate["provider"]),
        "rate_per_hour": whole("match.rate_per_hour", candidate.get("rate_per_hour", 0)),  # a model's wei
        "gpu_class": whole("match.gpu_class_id", candidate.get("gpu_class_id") or 0),
    }


def normalise(
    raw: Mapping[str, Any],
    *,
    olds: Mapping[str, Any] | None = None,
    is_unknown: Callable[[Any], bool] = _never_unknown,
    canonical: bool = False,
) -> tuple[dict[str, Any], list[Failure]]:
    """Validate what can be validated without the chain; unknown values (preview) pass through.
    `canonical`: `raw` is this function's own output (wei as decimal strings), read back exactly."""
    c = _Collector()
    out: dict[str, Any] = {k: raw.get(k) for k in FIELDS}
    for key in sorted(set(raw) - set(FIELDS) - {"__provider"}):
        if raw[key] is not None:
            c.fail(key, f"{key} is not an Escrow input; use one of {', '.join(FIELDS)}")

    def known(key: str) -> bool:
        return not _absent(raw.get(key)) and not is_unknown(raw.get(key))

    offer = c.run("offer", lambda: _offer(raw["offer"])) if known("offer") else None
    out["offer"] = offer.to_json() if offer else (raw.get("offer") if is_unknown(raw.get("offer")) else "")
    match = c.run("match", lambda: _match(raw["match"])) if known("match") else None
    out["match"] = None

    provider = c.run("provider", lambda: _address("provider", raw["provider"])) if known("provider") else None
    if provider is None and match:
        provider = match["provider"]
    if provider is None and offer:
        provider = offer.offer.provider
    if provider and offer and offer.offer.provider != provider:
        c.fail(
            "provider",
            f"provider {provider} differs from offer.provider {offer.offer.provider}; "
            "drop provider or use an offer of that provider",
        )
    unset = not any(is_unknown(raw.get(k)) for k in ("provider", "match", "offer"))
    if provider is None and unset and not any(f.field in ("provider", "match", "offer") for f in c.failures):
        c.fail("provider", "provider is not set; give provider (an address), match (a match result) or offer")
    out["provider"] = provider if provider else raw.get("provider")

    resources = c.run("resources", lambda: _resources(raw["resources"])) if known("resources") else None
    if resources is None and offer and _absent(raw.get("resources")):
        r = offer.offer.resources
        resources = {
            "cpu_millis": r.cpu_millis,
            "memory_mib": r.memory_mib,
            "storage_gib": r.storage_gib,
            "gpu_class": r.gpu_class,
            "gpu_count": r.gpu_count,
        }
    if resources and match and match["gpu_class"] and resources["gpu_count"] and not resources["gpu_class"]:
        resources["gpu_class"] = match["gpu_class"]
    if resources and offer:
        r = offer.offer.resources
        have = (r.cpu_millis, r.memory_mib, r.storage_gib, r.gpu_class, r.gpu_count)
        if tuple(resources[k] for k in RESOURCE_KEYS) != have:
            c.fail(
                "resources",
                f"resources {resources} differ from the offer's {dict(zip(RESOURCE_KEYS, have, strict=True))}; "
                "drop resources or ask for an offer for these resources",
            )
    if resources is None and _absent(raw.get("resources")) and not offer and not is_unknown(raw.get("offer")):
        c.fail("resources", "resources is not set; give e.g. {cpu: '500m', memory: '1Gi', storage: '10Gi'}")
    out["resources"] = resources if resources is not None else raw.get("resources")

    duration = None
    if known("duration"):
        duration = c.run(
            "duration",
            lambda: parse_duration(
                whole("duration", raw["duration"]) if isinstance(raw["duration"], float) else raw["duration"]
            ),
        )
        if duration is not None and duration <= 0:
            c.fail("duration", f"duration {raw['duration']!r} is not positive; give e.g. 1h or 3600")
            duration = None
    deposit = (
        c.run("deposit", lambda: _money("deposit", raw["deposit"], rate=False, canonical=canonical))
        if known("deposit")
        else None
    )
    if deposit is not None and deposit == 0:
        c.fail("deposit", f"deposit: {raw['deposit']!r} is zero; give e.g. '1.5 LNQ', or drop it and set duration")
    if deposit is not None and deposit > UINT96:
        c.fail("deposit", f"deposit {deposit} wei is above the escrow's 96-bit limit {UINT96}; deposit less")
    if _absent(raw.get("duration")) and _absent(raw.get("deposit")):
        c.fail("duration", "neither duration nor deposit is set; give duration (e.g. 24h) or deposit (e.g. '10 LNQ')")
    out["duration"] = (
        str(duration) if duration is not None else ("" if _absent(raw.get("duration")) else raw["duration"])
    )
    out["deposit"] = str(deposit) if deposit is not None else ("" if _absent(raw.get("deposit")) else raw["deposit"])

    max_rate = None
    if known("max_rate_per_hour"):
        max_rate = c.run(
            "max_rate_per_hour",
            lambda: _money("max_rate_per_hour", raw["max_rate_per_hour"], rate=True, canonical=canonical),
        )
        if max_rate is not None and max_rate > UINT128:
            c.fail("max_rate_per_hour", f"max_rate_per_hour {max_rate} is above uint128; give a realistic ceiling")
    elif match and match["rate_per_hour"]:
        max_rate = match["rate_per_hour"]
    out["max_rate_per_hour"] = str(max_rate) if max_rate is not None else ""

    policy = raw.get("top_up_policy") or "in-place"
    if policy not in POLICIES:
        c.fail("top_up_policy", f"top_up_policy {policy!r} is unknown; use one of {', '.join(POLICIES)}")
    out["top_up_policy"] = policy
    renew = raw.get("renew", False)
    if not isinstance(renew, bool):
        c.fail("renew", f"renew {renew!r} is not true/false; give a boolean")
    out["renew"] = bool(renew)
    chain_id = None
    if known("chain_id") and raw["chain_id"] != 0:
        chain_id = c.run("chain_id", lambda: whole("chain_id", raw["chain_id"], minimum=1))
    out["chain_id"] = chain_id if chain_id is not None else 0
    seed = raw.get("salt_seed")
    if not known("salt_seed") or not isinstance(seed, str) or not seed:
        c.fail("salt_seed", f"salt_seed {seed!r} is empty; the Escrow resource sets it from project/stack/name")
    out["salt_seed"] = seed

    _check_shrink(c, out, olds)
    return out, c.failures


def _check_shrink(c: _Collector, news: Mapping[str, Any], olds: Mapping[str, Any] | None) -> None:
    """Funds cannot be taken back from a running escrow: a smaller deposit/duration is an error."""
    if not olds or news.get("salt_seed") != olds.get("salt_seed"):
        return
    for key, unit in (("deposit", "wei"), ("duration", "s")):
        old, new = str(olds.get(key) or ""), str(news.get(key) or "")
        if old.isdigit() and new.isdigit() and int(new) < int(old):
            c.fail(
                key,
                f"{key} {new} {unit} is less than the {old} {unit} already funded; an escrow cannot shrink — "
                "keep the old value, or stop the escrow (`linq escrow stop`) and create a new one",
            )


# ---- chain checks (cheap reads; no transaction) -------------------------------------------------------
def check_on_chain(
    norm: Mapping[str, Any], client: Any, requestor: str | None, *, expected_chain_id: int | None = None
) -> list[Failure]:
    """Provider registered, active, with room and a price under the ceiling; offer valid for this chain,
    escrow and requestor; deposit covering the minimum prepaid time. `client` is a ChainClient."""
    c = _Collector()
    chain_id = norm.get("chain_id") or expected_chain_id
    if chain_id and int(chain_id) != client.chain_id:
        c.fail(
            "chain_id",
            f"chain_id {chain_id} is not this network's chain {client.chain_id} "
            f"({client.profile.rpc_url}); fix chain_id or point linq:network at chain {chain_id}",
        )
        return c.failures
    provider, resources = norm.get("provider"), norm.get("resources")
    if not isinstance(provider, str) or not isinstance(resources, Mapping):
        return c.failures
    try:
        view = named("ProviderRegistry", "getProvider", client.registry.functions.getProvider(provider).call())
    except ChainError as err:
        c.fail("provider", f"provider {provider} could not be read: {err}")
        return c.failures
    if not view["registeredAt"]:
        c.fail(
            "provider",
            f"provider {provider} is not registered in the registry at {client.registry.address}; "
            "check the address (`linq providers list`)",
        )
        return c.failures
    if not view["active"]:
        c.fail("provider", f"provider {provider} is deactivated and takes no new escrows; pick another provider")
    for key, field, label, unit in (
        ("cpu_millis", "cpuMillis", "CPU", "millicores"),
        ("memory_mib", "memoryMiB", "memory", "MiB"),
        ("storage_gib", "storageGiB", "storage", "GiB"),
    ):
        free = int(view["total"][field]) - int(view["used"][field])
        if resources[key] > free:
            c.fail(
                f"resources.{key}",
                f"provider {provider} has {free} {unit} {label} free, you asked for "
                f"{resources[key]}; request less or pick another provider",
            )
    if resources["gpu_count"]:
        class_ids = [int(x) for x in view["gpuClassIds"]]
        if resources["gpu_class"] not in class_ids:
            c.fail(
                "resources.gpu_class",
                f"provider {provider} has no GPU class {resources['gpu_class']} "
                f"(it has {list(class_ids) or 'none'}); use one of its classes",
            )
        else:
            gpu = client.registry.functions.gpuClass(provider, resources["gpu_class"]).call()
            g = named("ProviderRegistry", "gpuClass", gpu)
            g_total, g_used = int(g["total"]), int(g["used"])
            if resources["gpu_count"] > g_total - g_used:
                c.fail(
                    "resources.gpu_count",
                    f"provider {provider} has {int(g_total) - int(g_used)} GPUs of class "
                    f"{resources['gpu_class']} free, you asked for {resources['gpu_count']}",
                )
    if c.failures:
        return c.failures
    rate = rate_for(norm, client)
    if rate is None:
        return c.failures
    offer_text = norm.get("offer")
    if offer_text:
        signed = SignedOffer.from_json(str(offer_text), source="offer")
        report = verify_offer(
            signed,
            expected_chain_id=client.chain_id,
            expected_contract=client.escrow.address,
            w3=client.w3,
            now=client.now(),
            escrow_address=client.escrow.address,
        )
        for problem in report.problems:
            c.fail("offer", f"offer: {problem}")
        bound = signed.offer.requestor
        if requestor and bound != ZERO_ADDRESS and bound.lower() != requestor.lower():
            c.fail(
                "offer",
                f"offer.requestor is {bound} but this stack signs as {requestor}; "
                "ask for an offer for your address, or sign with that key",
            )
        deposit = target_deposit(norm, rate)
        low, high = offer_deposit_bounds(rate, signed.offer.min_duration, signed.offer.max_duration)
        if deposit is not None and not low <= deposit <= high:
            c.fail(
                "deposit" if norm.get("deposit") else "duration",
                f"the deposit {deposit} wei buys {format_duration(runway_seconds(rate, deposit) or 0)}, outside "
                f"the offer's {format_duration(signed.offer.min_duration)}.."
                f"{format_duration(signed.offer.max_duration)}; "
                "choose a duration in that window",
            )
    else:
        max_rate = norm.get("max_rate_per_hour")
        if max_rate and rate > int(max_rate):
            c.fail(
                "max_rate_per_hour",
                f"provider {provider} charges {format_lnq(rate)}/h ({rate} wei) for these "
                f"resources, above max_rate_per_hour {max_rate} wei; raise it or pick "
                "another provider",
            )
    deposit = target_deposit(norm, rate)
    minimum = deposit_for(rate, client.min_prepaid_seconds())
    if deposit is not None and deposit < minimum:
        c.fail(
            "deposit" if norm.get("deposit") else "duration",
            f"the deposit {deposit} wei is below the escrow's minimum prepaid {minimum} wei "
            f"({format_duration(client.min_prepaid_seconds())} at {rate} wei/h); fund at least that much",
        )
    if deposit is not None and requestor:
        balance = client.lnq_balance(requestor)
        if balance < deposit:
            c.fail(
                "deposit" if norm.get("deposit") else "duration",
                f"the deposit {format_lnq(deposit)} ({deposit} wei) is more than the payer {requestor} holds: "
                f"{format_lnq(balance)} ({balance} wei); fund the payer or deposit less (a shorter duration)",
            )
    return c.failures


def rate_for(norm: Mapping[str, Any], client: Any) -> int | None:
    """The rate the escrow would get: the offer's, or the registry's quote now."""
    if norm.get("offer"):
        return int(SignedOffer.from_json(str(norm["offer"]), source="offer").offer.rate_per_hour)
    r = norm["resources"]
    return int(client.registry.functions.quote(norm["provider"], tuple(r[k] for k in RESOURCE_KEYS)).call())


def target_deposit(norm: Mapping[str, Any], rate: int) -> int | None:
    """What the escrow should hold in total: the explicit deposit, or the rate times the duration."""
    if str(norm.get("deposit") or "").isdigit():
        return int(norm["deposit"])
    if str(norm.get("duration") or "").isdigit() and rate > 0:
        return deposit_for(rate, int(norm["duration"]))
    return None
