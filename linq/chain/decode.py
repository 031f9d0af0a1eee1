"""Revert data -> a sentence a person understands.

The error table is built from the exported artifacts' ABIs (every custom error of LNQ, ProviderRegistry
and Escrow, plus Solidity's Error(string) and Panic(uint256)); nothing is copied by hand. `explain`
turns a decoded error into a sentence, using the call's context (which provider, which escrow) when the
error's own arguments do not say it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from linq.contracts import CONTRACT_NAMES, load_artifact
from linq.protocol.status import EscrowStatus
from linq.units import format_duration, format_lnq

ERROR_STRING = bytes.fromhex("08c379a0")
PANIC = bytes.fromhex("4e487b71")
RESOURCES = {0: ("CPU", "millicores"), 1: ("memory", "MiB"), 2: ("storage", "GiB"), 3: ("GPU", "GPUs")}
PANICS = {
    0x01: "an assertion failed",
    0x11: "an arithmetic overflow or underflow",
    0x12: "a division by zero",
    0x21: "an invalid enum value",
    0x32: "an out-of-bounds array index",
}


@dataclass(frozen=True)
class DecodedError:
    name: str
    args: tuple[Any, ...]
    sentence: str


@cache
def error_table() -> dict[bytes, tuple[str, tuple[str, ...]]]:
    """selector -> (error name, argument types), from every artifact's ABI."""
    table: dict[bytes, tuple[str, tuple[str, ...]]] = {}
    for contract_name in CONTRACT_NAMES:
        for item in load_artifact(contract_name).abi:
            if item.get("type") != "error":
                continue
            types = tuple(_abi_type(i) for i in item["inputs"])
            table[function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})")] = (item["name"], types)
    return table


def _abi_type(item: Mapping[str, Any]) -> str:
    if item["type"].startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in item["components"]) + ")" + item["type"][5:]
    return str(item["type"])


def revert_data(value: Any) -> bytes | None:
    """Revert bytes from what web3 puts on its exceptions (hex string, bytes, or a (msg, data) pair)."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            return None
    if isinstance(value, dict):
        return revert_data(value.get("data"))
    if isinstance(value, (tuple, list)):
        for part in value:
            found = revert_data(part)
            if found is not None:
                return found
    return None


def decode_revert(data: bytes | None, context: Mapping[str, Any] | None = None) -> DecodedError:
    context = context or {}
    if not data:
        return DecodedError("", (), "the call reverted without a reason (out of gas, or a non-contract address)")
    selector, body = data[:4], data[4:]
    try:
        if selector == ERROR_STRING:
            (message,) = abi_decode(["string"], body)
            return DecodedError("Error", (message,), f"reverted: {message}")
        if selector == PANIC:
            (code,) = abi_decode(["uint256"], body)
            what = PANICS.get(code, f"panic code 0x{code:x}")
            return DecodedError("Panic", (code,), f"the contract hit {what}; this is a contract bug — report it")
        entry = error_table().get(selector)
        if entry is None:
            return DecodedError(
                "",
                (),
                f"reverted with unknown error 0x{data.hex()[:8]} (not in the LNQ, "
                "ProviderRegistry or Escrow ABIs); check --addresses",
            )
        name, types = entry
        # Addresses come back lower-case; people compare them with the checksummed form they configured.
        args = tuple(
            to_checksum_address(v) if t == "address" else v
            for t, v in zip(types, abi_decode(list(types), body), strict=True)
        )
    except Exception:  # malformed revert payloads: say so rather than crash
        return DecodedError("", (), f"reverted with undecodable data 0x{data.hex()[:80]}")
    return DecodedError(name, args, explain(name, args, context))


def _who(context: Mapping[str, Any], key: str, default: str) -> str:
    value = context.get(key)
    return str(value) if value else default


def _lnq(wei: int) -> str:
    return f"{format_lnq(int(wei))} ({int(wei)} wei)"


def _hex(value: Any) -> str:
    return "0x" + bytes(value).hex() if isinstance(value, (bytes, bytearray)) else str(value)


def _res(code: int) -> tuple[str, str]:
    return RESOURCES.get(int(code), (f"resource {code}", "units"))


def _capacity(a: tuple[Any, ...], c: Mapping[str, Any]) -> str:
    label, unit = _res(a[0])
    return (
        f"provider {_who(c, 'provider', '(the provider)')} has {a[2]} {unit} {label} free, you asked for {a[1]}; "
        f"request less {label} or pick another provider (`linq providers match`)"
    )


def _below_used(a: tuple[Any, ...], c: Mapping[str, Any]) -> str:
    label, unit = _res(a[0])
    return (
        f"new total {label} {a[1]} {unit} is below the {a[2]} {unit} open escrows use; "
        f"keep at least {a[2]} {unit} until those escrows end"
    )


def _wrong_status(a: tuple[Any, ...], c: Mapping[str, Any]) -> str:
    status = EscrowStatus.from_code(a[1]).value if a[1] < len(EscrowStatus) else str(a[1])
    action = _who(c, "action", "this action")
    return f"escrow {_hex(a[0])} is {status}, which does not allow {action}; `linq escrow status` shows what it allows"


def _duration_out_of_range(a: tuple[Any, ...], c: Mapping[str, Any]) -> str:
    bought, low, high = (format_duration(int(x)) for x in a[:3])
    if int(a[1]) == 0:  # a top-up: the whole deposit against the escrow's bound
        return (
            f"with this top-up the deposit would buy {bought}, above the escrow's bound of {high} (the offer's "
            "maxDuration, in whole hours); top up less or open a new escrow"
        )
    return f"the deposit buys {bought}, outside the offer's {low}..{high}; change the deposit"


def _time(ts: int) -> str:
    return f"unix time {ts}"


_SENTENCES: dict[str, Callable[[tuple[Any, ...], Mapping[str, Any]], str]] = {
    "InsufficientCapacity": _capacity,
    "CapacityBelowUsed": _below_used,
    "NotRegistered": lambda a, c: (
        f"provider {a[0]} is not registered; check the address or register it (`linq provider register`)"
    ),
    "ProviderInactive": lambda a, c: f"provider {a[0]} is deactivated and takes no new escrows; pick another provider",
    "AlreadyRegistered": lambda a, c: f"{a[0]} is already registered; use `linq provider update` to change it",
    "UnknownGpuClass": lambda a, c: (
        f"provider {a[0]} has no GPU class {a[1]}; use a class it lists (`linq providers show {a[0]}`)"
    ),
    "InvalidGpuModel": lambda a, c: f"GPU class {a[0]} needs a model name; give CLASS:MODEL:COUNT:PRICE",
    "TooManyGpuClasses": lambda a, c: f"a provider may list at most {a[0]} GPU classes; reuse a class id",
    "InvalidRegion": lambda a, c: "region is empty; give a short ASCII region such as eu-west",
    "EscrowExists": lambda a, c: f"an escrow with these terms already exists ({_hex(a[0])}); use another salt",
    "UnknownEscrow": lambda a, c: f"escrow {_hex(a[0])} does not exist on this chain; check the id and the network",
    "WrongStatus": _wrong_status,
    "NotRequestor": lambda a, c: (
        f"only the requestor {a[1]} may do this, the signer is {a[0]}; sign with the requestor's key"
    ),
    "NotProvider": lambda a, c: (
        f"only the provider {a[1]} may do this, the signer is {a[0]}; sign with the provider's key"
    ),
    "ZeroAmount": lambda a, c: "the amount is 0; give an amount above 0 LNQ",
    "ZeroRate": lambda a, c: (
        f"the rate for these resources at provider {_who(c, 'provider', '(the provider)')} is 0; "
        "request resources the provider prices"
    ),
    "RateAboveMax": lambda a, c: (
        f"provider {_who(c, 'provider', '(the provider)')} now charges {_lnq(a[0])} per hour, above "
        f"your maxRatePerHour {_lnq(a[1])}; raise max_rate_per_hour or pick another provider"
    ),
    "BelowMinPrepaid": lambda a, c: (
        f"a deposit of {_lnq(a[0])} is below the minimum prepaid {_lnq(a[1])}; deposit at least "
        f"{a[1]} wei (a longer duration)"
    ),
    "AmountTooLarge": lambda a, c: (
        f"the amount {a[0]} wei does not fit the escrow's 96-bit accounting; use a smaller amount"
    ),
    "NothingToWithdraw": lambda a, c: f"escrow {_hex(a[0])} has nothing to withdraw yet; wait until it has earned more",
    "ProviderMismatch": lambda a, c: (
        f"escrows of provider {a[1]} were mixed with {a[0]}'s; withdraw one provider at a time"
    ),
    "EmptyBatch": lambda a, c: "no escrows were given; pass at least one",
    "NotEnded": lambda a, c: (
        f"escrow {_hex(a[0])} runs until {_time(a[1])}; finalize after that, or stop it (requestor)"
    ),
    "AlreadyEnded": lambda a, c: f"escrow {_hex(a[0])} already ended at {_time(a[1])}; finalize it instead",
    "SameProvider": lambda a, c: f"the escrow already uses provider {a[0]}; give a different provider",
    "OfferExpired": lambda a, c: f"the offer's deadline {_time(a[0])} has passed; ask the provider for a fresh offer",
    "NonceUsed": lambda a, c: (
        f"offer nonce {a[1]} of {a[0]} was already used or revoked; ask the provider for a new offer"
    ),
    "OfferNotForCaller": lambda a, c: (
        f"the offer is bound to requestor {a[1]}, the signer is {a[0]}; sign with that key"
    ),
    "BadSignature": lambda a, c: f"the offer's signature is not {a[0]}'s; the offer was altered — ask for a new one",
    "DurationOutOfRange": _duration_out_of_range,
    "StartWindowOpen": lambda a, c: (
        f"escrow {_hex(a[0])} is still in its start window until {_time(a[1])}: only the requestor may cancel "
        "it before then (the provider may decline it); anyone may cancel it after"
    ),
    "ReentrancyGuardReentrantCall": lambda a, c: "the escrow was re-entered; this call pattern is not allowed",
    "ERC20InsufficientBalance": lambda a, c: (
        f"{a[0]} holds {_lnq(a[1])} but {_lnq(a[2])} is needed; "
        f"fund {a[0]} with at least {int(a[2]) - int(a[1])} more wei of LNQ"
    ),
    "ERC20InsufficientAllowance": lambda a, c: (
        f"{a[0]} may spend only {_lnq(a[1])} of the signer's LNQ but needs "
        f"{_lnq(a[2])}; approve the escrow for at least {a[2]} wei first"
    ),
    "ERC2612ExpiredSignature": lambda a, c: f"the permit expired at {_time(a[0])}; sign a new permit",
    "ERC2612InvalidSigner": lambda a, c: (
        f"the permit was signed by {a[0]}, not the owner {a[1]}; sign with the owner's key"
    ),
    "SafeERC20FailedOperation": lambda a, c: f"the LNQ transfer failed at token {a[0]}; check balance and allowance",
}


def explain(name: str, args: tuple[Any, ...], context: Mapping[str, Any] | None = None) -> str:
    render = _SENTENCES.get(name)
    if render is None:
        shown = ", ".join(_hex(a) for a in args)
        return f"reverted with {name}({shown})"
    return render(args, context or {})
