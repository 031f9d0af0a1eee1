"""`linq providers list | show | match`, `linq estimate`, `linq offer sign | verify`.

Network: --rpc URL (or $LINQ_RPC_URL) and --addresses FILE (or $LINQ_ADDRESSES, the devnet's address
book). Provider data comes from the registry index, cached at --index FILE (default under
~/.cache/linq/market/) and brought up to date from chain events on every command.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from linq.market.chain import NetworkError, connect, load_address_book
from linq.market.encoding import EncodingError, checksum
from linq.market.index import RegistryIndex, UpdateStats
from linq.market.match import match
from linq.market.models import (
    GpuClassRecord,
    GpuRequirement,
    MatchResult,
    ProviderRecord,
    RankingWeights,
    Requirements,
    Resources,
    rate_at,
)
from linq.market.offers import Domain, Offer, OfferError, SignedOffer, random_nonce, sign_offer, verify_offer
from linq.market.plans import PlanError, plan_size
from linq.protocol.money import PricingError, deposit_for, offer_deposit_bounds, runway_seconds
from linq.units import (
    UnitError,
    format_duration,
    format_lnq,
    format_rate,
    parse_amount,
    parse_cpu,
    parse_duration,
    parse_memory,
    parse_rate,
    parse_storage,
)

ENV_KEY = "LINQ_PRIVATE_KEY"
ENV_KEYSTORE_PASSWORD = "LINQ_KEYSTORE_PASSWORD"  # noqa: S105 — the name of a variable, not a secret
F = TypeVar("F", bound=Callable[..., Any])

_USER_ERRORS = (UnitError, OfferError, NetworkError, PlanError, PricingError, EncodingError)


def _friendly(fn: F) -> F:
    """Turn the library's field-naming errors into clean CLI errors (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except _USER_ERRORS as err:
            raise click.ClickException(str(err)) from None
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "value"
            flag = "--" + str(first["loc"][0]).replace("_", "-") if first["loc"] else "the input"
            raise click.ClickException(
                f"{where}: {first['msg']} (got {first.get('input')!r}); correct {flag} and run again"
            ) from None

    return wrapper  # type: ignore[return-value]


def network_options(fn: F) -> F:
    fn = click.option(
        "--index",
        "index_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Registry index cache file (default: ~/.cache/linq/market/<chain>-<registry>.json).",
    )(fn)
    fn = click.option("--addresses", type=click.Path(dir_okay=False, path_type=Path), default=None,
                      help="Address book JSON (default: $LINQ_ADDRESSES).")(fn)  # fmt: skip
    fn = click.option("--rpc", default=None, help="JSON-RPC URL (default: $LINQ_RPC_URL).")(fn)
    return fn


def json_option(fn: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(fn)


def requirement_options(fn: F) -> F:
    options = [
        click.option("--plan", default=None, help="Plan name from templates/plans.yaml (starter … gpu-large)."),
        click.option("--cpu", default=None, help="CPU: cores (2, 0.5) or millicores (1500m)."),
        click.option("--memory", default=None, help="Memory: 512Mi, 4Gi, or MiB."),
        click.option("--storage", default=None, help="Storage: 20Gi, 1Ti, or GiB."),
        click.option("--gpu", default=None, help="GPUs as MODEL:COUNT (nvidia-a100:2) or #CLASS:COUNT (#1:2)."),
        click.option("--duration", default="1h", show_default=True, help="How long: 90m, 1h30m, 24h, 7d or seconds."),
        click.option("--max-price", default=None, help="Hourly ceiling, e.g. '0.05 LNQ/h' or '42 wei/h'."),
        click.option("--max-total", default=None, help="Ceiling for the whole duration, e.g. '5 LNQ' or '42 wei'."),
        click.option("--region", "regions", multiple=True, help="Wanted region (repeatable; 'eu' matches eu-*)."),
        click.option("--min-reputation", type=float, default=0.0, show_default=True, help="Score in [0, 1]."),
        click.option("--allow", multiple=True, help="Only these provider addresses (repeatable)."),
        click.option("--deny", multiple=True, help="Never these provider addresses (repeatable)."),
        click.option("--weights", default=None, help="Ranking weights, e.g. price=0.6,reputation=0.3,headroom=0.1."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


# ----- helpers -----
def _console() -> Console:
    return Console()


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))


def _default_cache(chain_id: int, registry: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "linq" / "market" / f"{chain_id}-{registry.lower()}.json"


def _open_index(rpc: str | None, addresses: Path | None, index_path: Path | None) -> tuple[RegistryIndex, UpdateStats]:
    w3 = connect(rpc)
    book = load_address_book(addresses)
    chain_id = int(w3.eth.chain_id)
    if book["chain_id"] and book["chain_id"] != chain_id:
        raise NetworkError(
            f"--addresses is for chain {book['chain_id']} but --rpc serves chain {chain_id}; "
            "pass the address book of this network"
        )
    cache = index_path or _default_cache(chain_id, str(book["registry"]))
    index = RegistryIndex(w3, str(book["registry"]), cache_path=cache, escrow_address=str(book["escrow"]),
                          from_block=int(book["deployed_block"]))  # fmt: skip
    return index, index.update()


def _gpu_requirement(text: str | None) -> GpuRequirement | None:
    if not text:
        return None
    selector, _, count_text = text.partition(":")
    count_text = count_text or "1"
    if not count_text.isdigit() or int(count_text) < 1:
        raise UnitError("--gpu", text, f"has count {count_text!r}", "write MODEL:COUNT, COUNT ≥ 1, e.g. nvidia-a100:2")
    if selector.startswith("#"):
        if not selector[1:].isdigit():
            raise UnitError("--gpu", text, f"has class {selector!r}, not a number", "write #CLASS:COUNT, e.g. #1:2")
        return GpuRequirement(class_id=int(selector[1:]), count=int(count_text))
    if not selector:
        raise UnitError("--gpu", text, "names no model", "write MODEL:COUNT, e.g. nvidia-a100:2")
    return GpuRequirement(model=selector.lower(), count=int(count_text))


def _weights(text: str | None) -> RankingWeights:
    if not text:
        return RankingWeights()
    values: dict[str, float] = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        key = key.strip()
        if key not in ("price", "reputation", "headroom"):
            raise UnitError("--weights", key, "is not a weight", "use price, reputation and headroom")
        try:
            values[key] = float(value)
        except ValueError:
            raise UnitError("--weights", f"{key}={value}", "is not a number", "e.g. price=0.6") from None
    return RankingWeights(**values)


def _requirements(
    plan: str | None, cpu: str | None, memory: str | None, storage: str | None, gpu: str | None,
    duration: str, max_price: str | None, max_total: str | None, regions: tuple[str, ...],
    min_reputation: float, allow: tuple[str, ...], deny: tuple[str, ...], weights: str | None,
    limit: int | None = None,
) -> Requirements:  # fmt: skip
    cpu_m = mem = sto = 0
    gpu_req = _gpu_requirement(gpu)
    if plan:
        size = plan_size(plan)
        cpu_m, mem, sto = size.cpu_millis, size.memory_mib, size.storage_gib
        if size.gpu_count and gpu_req is None:
            raise UnitError("--plan", plan, f"includes {size.gpu_count} GPU(s)",
                            f"add --gpu MODEL:{size.gpu_count} to say which model")  # fmt: skip
    if cpu is not None:
        cpu_m = parse_cpu(cpu, field="--cpu")
    if memory is not None:
        mem = parse_memory(memory, field="--memory")
    if storage is not None:
        sto = parse_storage(storage, field="--storage")
    if not (plan or cpu or memory or storage or gpu):
        raise UnitError("--plan", None, "is not given, nor are resources",
                        "pass --plan NAME or at least one of --cpu/--memory/--storage/--gpu")  # fmt: skip
    return Requirements(
        cpu_millis=cpu_m,
        memory_mib=mem,
        storage_gib=sto,
        gpu=gpu_req,
        duration_seconds=parse_duration(duration, field="--duration"),
        max_price_per_hour=parse_rate(max_price, field="--max-price") if max_price else None,
        max_total=parse_amount(max_total, field="--max-total") if max_total else None,
        regions=regions,
        min_reputation=min_reputation,
        allow=tuple(checksum(a, field="--allow") for a in allow),
        deny=tuple(checksum(a, field="--deny") for a in deny),
        weights=_weights(weights),
        limit=limit,
    )


def _gpu_text(p: ProviderRecord) -> str:
    return ", ".join(f"{g.model} {g.free}/{g.total} @{format_rate(g.price_per_hour)}" for g in p.gpu_classes) or "-"


def _gpu_line(g: GpuClassRecord) -> str:
    return f"#{g.class_id} {g.model}: {g.free} of {g.total} free, {format_rate(g.price_per_hour)} each"


def _index_meta(index: RegistryIndex, stats: UpdateStats) -> dict[str, Any]:
    snap = index.snapshot
    assert snap is not None
    return {
        "chain_id": snap.chain_id,
        "registry": snap.registry,
        "block": snap.block_number,
        "update": stats.reason,
        "providers": len(snap.providers),
        "cache": str(index.cache_path),
    }


def _stale_note(index: RegistryIndex, stats: UpdateStats) -> str:
    s = index.staleness()
    return (f"index at block {index.snapshot.block_number if index.snapshot else '?'} ({stats.reason}); "
            f"{s.blocks_behind} blocks / {s.seconds_behind} s behind head {s.head_block}")  # fmt: skip


# ----- providers -----
@click.group()
def providers() -> None:
    """Providers in the on-chain registry (indexed and cached locally)."""


@providers.command("list")
@network_options
@json_option
@click.option("--region", "regions", multiple=True, help="Only these regions ('eu' matches eu-*).")
@click.option("--active-only", is_flag=True, help="Hide deactivated providers.")
@_friendly
def providers_list(rpc, addresses, index_path, as_json, regions, active_only) -> None:
    """Every registered provider: capacity free/total, prices, GPUs, reputation."""
    from linq.market.encoding import region_matches

    index, stats = _open_index(rpc, addresses, index_path)
    rows = [
        p for p in index.providers
        if (not active_only or p.active)
        and (not regions or any(region_matches(p.region, r) for r in regions))
    ]  # fmt: skip
    if as_json:
        _echo_json({"index": _index_meta(index, stats), "providers": [p.model_dump(mode="json") for p in rows]})
        return
    table = Table(title=f"{len(rows)} providers", caption=_stale_note(index, stats))
    table.add_column("provider", no_wrap=True)
    for col in ("region", "active", "CPU m free/total", "memory MiB", "storage GiB",
                "CPU LNQ/core-h", "GPUs", "reputation"):  # fmt: skip
        table.add_column(col, overflow="fold")
    for p in rows:
        free = p.free
        table.add_row(
            p.address, p.region, "yes" if p.active else "no",
            f"{free.cpu_millis}/{p.total.cpu_millis}", f"{free.memory_mib}/{p.total.memory_mib}",
            f"{free.storage_gib}/{p.total.storage_gib}",
            format_lnq(p.prices.cpu_per_milli_hour * 1000, unit=""),
            _gpu_text(p), f"{p.reputation.score:.3f}",
        )  # fmt: skip
    _console().print(table)


@providers.command("show")
@click.argument("address")
@network_options
@json_option
@_friendly
def providers_show(address, rpc, addresses, index_path, as_json) -> None:
    """One provider in full, with its reputation explained."""
    wanted = checksum(address, field="ADDRESS")
    index, stats = _open_index(rpc, addresses, index_path)
    record = next((p for p in index.providers if p.address == wanted), None)
    if record is None:
        raise click.ClickException(
            f"ADDRESS {wanted} is not registered in {index.registry.address}; `linq providers list` shows who is"
        )
    detail = record.reputation.detail
    if as_json:
        data = record.model_dump(mode="json")
        data["reputation"]["score"] = detail.score
        data["reputation"]["credited_successes"] = str(detail.successes)
        data["reputation"]["capped_by_earnings"] = detail.capped_by_earnings
        _echo_json({"index": _index_meta(index, stats), "provider": data})
        return
    table = Table(show_header=False, title=record.address, caption=_stale_note(index, stats))
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    p, free, rep = record, record.free, record.reputation
    for key, value in (
        ("active", "yes" if p.active else "no (deactivated)"),
        ("region", p.region),
        ("registered", time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(p.registered_at))),
        ("metadata hash", p.meta_hash),
        ("CPU", f"{free.cpu_millis} of {p.total.cpu_millis} millicores free"),
        ("memory", f"{free.memory_mib} of {p.total.memory_mib} MiB free"),
        ("storage", f"{free.storage_gib} of {p.total.storage_gib} GiB free"),
        ("CPU price", f"{format_lnq(p.prices.cpu_per_milli_hour)} per millicore-hour"),
        ("memory price", f"{format_lnq(p.prices.memory_per_mib_hour)} per MiB-hour"),
        ("storage price", f"{format_lnq(p.prices.storage_per_gib_hour)} per GiB-hour"),
        ("GPU classes", "\n".join(_gpu_line(g) for g in p.gpu_classes) or "none"),
        ("escrows", f"{rep.completed} completed, {rep.stopped_early} stopped early, "
                    f"{rep.cancelled} cancelled"),
        ("earned", format_lnq(rep.total_earned)),
        ("reputation", f"{detail.score:.4f}  ({float(detail.successes):g} credited successes of "
                       f"{detail.outcomes} outcomes + prior"
                       f"{'; capped by earnings' if detail.capped_by_earnings else ''})"),
    ):  # fmt: skip
        table.add_row(key, value)
    _console().print(table)


def _print_match(result: MatchResult, explain: bool, note: str) -> None:
    console = _console()
    req = result.requirements
    table = Table(title=f"{len(result.candidates)} of {result.considered} providers match", caption=note)
    total_col = f"total for {format_duration(req.duration_seconds)}"
    table.add_column("#")
    table.add_column("provider", no_wrap=True)
    for col in ("region", "GPU class", "rate LNQ/h", total_col, "price", "reputation", "headroom", "score"):
        table.add_column(col, overflow="fold")
    for c in result.candidates:
        table.add_row(
            str(c.rank), c.provider, c.region, "-" if c.gpu_class_id is None else f"#{c.gpu_class_id}",
            format_lnq(c.rate_per_hour, unit=""), format_lnq(c.total_cost, unit=""),
            f"{c.score.price:.3f}", f"{c.score.reputation:.3f}", f"{c.score.headroom:.3f}",
            f"{c.score.total:.4f}",
        )  # fmt: skip
    console.print(table)
    if not result.rejected:
        return
    if explain:
        rejected = Table(title=f"{len(result.rejected)} rejected")
        rejected.add_column("provider", no_wrap=True)
        rejected.add_column("reasons", overflow="fold")
        for r in result.rejected:
            rejected.add_row(r.provider, "; ".join(reason.message for reason in r.reasons))
        console.print(rejected)
    else:
        counts = Counter(code.value for r in result.rejected for code in r.codes)
        summary = ", ".join(f"{n} {code}" for code, n in counts.most_common())
        console.print(f"{len(result.rejected)} rejected ({summary}); --explain lists every reason")


@providers.command("match")
@requirement_options
@click.option("--limit", type=int, default=None, help="Show at most this many candidates.")
@click.option("--explain", is_flag=True, help="List every rejected provider with all its reasons.")
@network_options
@json_option
@_friendly
def providers_match(rpc, addresses, index_path, as_json, explain, limit, **opts) -> None:
    """Rank the providers that can run these requirements, and say why each other one cannot."""
    req = _requirements(**opts, limit=limit)
    index, stats = _open_index(rpc, addresses, index_path)
    started = time.perf_counter()
    result = match(index.providers, req)
    elapsed = time.perf_counter() - started
    if as_json:
        data = result.model_dump(mode="json")
        data["index"] = _index_meta(index, stats)
        data["match_ms"] = round(elapsed * 1000, 3)
        _echo_json(data)
        return
    _print_match(result, explain, _stale_note(index, stats) + f"; matched in {elapsed * 1000:.1f} ms")


# ----- estimate -----
@click.command()
@requirement_options
@click.option("--provider", default=None, help="Price at this provider's registry prices (default: the best match).")
@network_options
@json_option
@_friendly
def estimate(rpc, addresses, index_path, as_json, provider, **opts) -> None:
    """Exact cost of resources for a duration: hourly rate, deposit and its runway, in LNQ."""
    req = _requirements(**opts)
    index, _ = _open_index(rpc, addresses, index_path)
    if provider:
        wanted = checksum(provider, field="--provider")
        result = match(index.providers, req.model_copy(update={"allow": (wanted,), "deny": ()}))
        if not result.candidates:
            rejection = result.rejection(wanted)
            why = "; ".join(r.message for r in rejection.reasons) if rejection else "not registered"
            raise click.ClickException(f"--provider {wanted} cannot run this: {why}")
    else:
        result = match(index.providers, req)
        if not result.candidates:
            raise click.ClickException(
                f"no provider matches ({len(result.rejected)} rejected); "
                "run `linq providers match --explain` "
                "with the same flags to see why"
            )
    best = result.candidates[0]
    rate, deposit = best.rate_per_hour, best.total_cost
    min_prepaid = int(index.escrow.functions.minPrepaidSeconds().call())
    min_deposit = deposit_for(rate, min_prepaid)
    runway = runway_seconds(rate, deposit)
    data = {
        "provider": best.provider,
        "gpu_class": best.gpu_class_id,
        "resources": best.resources(req).to_json(),
        "duration_seconds": req.duration_seconds,
        "rate_per_hour_wei": str(rate),
        "deposit_wei": str(deposit),
        "runway_seconds": runway,
        "min_prepaid_seconds": min_prepaid,
        "min_deposit_wei": str(min_deposit),
        "rate_per_hour": format_rate(rate),
        "deposit": format_lnq(deposit),
    }
    if as_json:
        _echo_json(data)
        return
    table = Table(show_header=False, title=f"estimate at {best.provider}")
    table.add_column("", style="bold")
    table.add_column("")
    r = best.resources(req)
    table.add_row("resources", f"{r.cpu_millis}m CPU, {r.memory_mib} MiB, {r.storage_gib} GiB"
                  + (f", {r.gpu_count} GPU class #{r.gpu_class}" if r.gpu_count else ""))  # fmt: skip
    table.add_row("rate", f"{format_rate(rate)}  ({rate} wei/h)")
    table.add_row(f"deposit for {format_duration(req.duration_seconds)}", f"{format_lnq(deposit)}  ({deposit} wei)")
    table.add_row("runway of that deposit", format_duration(runway) if runway is not None else "unlimited")
    table.add_row("minimum deposit", f"{format_lnq(min_deposit)} ({format_duration(min_prepaid)} prepaid)")
    _console().print(table)


# ----- offers -----
@click.group()
def offer() -> None:
    """EIP-712 offers: a provider signs terms; a requestor creates the escrow from the signed file."""


def _load_key(keystore: Path | None) -> str:
    if keystore is not None:
        from eth_account import Account

        password = os.environ.get(ENV_KEYSTORE_PASSWORD)
        if password is None:
            password = click.prompt(f"password for {keystore}", hide_input=True)
        try:
            return "0x" + bytes(Account.decrypt(json.loads(keystore.read_text()), password)).hex()
        except (ValueError, KeyError, json.JSONDecodeError) as err:
            raise click.ClickException(
                f"--keystore {keystore} could not be decrypted ({type(err).__name__}); check the file and password"
            ) from None
    key = os.environ.get(ENV_KEY)
    if not key:
        raise click.ClickException(f"no signing key: set ${ENV_KEY} or pass --keystore FILE")
    return key


@offer.command("sign")
@click.option("--plan", default=None, help="Plan name from templates/plans.yaml.")
@click.option("--cpu", default=None, help="CPU: cores or millicores (1500m).")
@click.option("--memory", default=None, help="Memory: 512Mi, 4Gi, or MiB.")
@click.option("--storage", default=None, help="Storage: 20Gi or GiB.")
@click.option("--gpu-class", type=int, default=0, show_default=True, help="Your GPU class id.")
@click.option("--gpu-count", type=int, default=0, show_default=True, help="GPUs of that class.")
@click.option("--rate", default=None, help="Hourly rate, e.g. '0.01 LNQ/h' or '10 wei/h' (default: registry prices).")
@click.option("--min-duration", default="10m", show_default=True, help="Shortest escrow accepted.")
@click.option("--max-duration", default="30d", show_default=True, help="Longest escrow accepted.")
@click.option("--requestor", default=None, help="Only this requestor may take the offer (default: anyone).")
@click.option("--nonce", type=int, default=None, help="Offer nonce (default: random 64-bit).")
@click.option("--valid-for", default="1h", show_default=True, help="Deadline = now + this.")
@click.option("--keystore", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help=f"Encrypted key file (password from ${ENV_KEYSTORE_PASSWORD} or a prompt).")  # fmt: skip
@click.option("--chain-id", type=int, default=None, help="Sign offline for this chain (with --escrow).")
@click.option("--escrow", default=None, help="Sign offline for this Escrow contract (with --chain-id).")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the offer file here (default: stdout).")  # fmt: skip
@network_options
@_friendly
def offer_sign(
    plan, cpu, memory, storage, gpu_class, gpu_count, rate, min_duration, max_duration, requestor,
    nonce, valid_for, keystore, chain_id, escrow, out, rpc, addresses, index_path,
) -> None:  # fmt: skip
    """Sign an offer with the provider key ($LINQ_PRIVATE_KEY or --keystore); the key is never printed."""
    from eth_account import Account

    key = _load_key(keystore)
    try:
        provider = Account.from_key(key).address
    except Exception:
        raise click.ClickException(f"${ENV_KEY} is not a valid private key; give 0x + 64 hex digits") from None
    cpu_m, mem, sto = 0, 0, 0
    if plan:
        size = plan_size(plan)
        cpu_m, mem, sto = size.cpu_millis, size.memory_mib, size.storage_gib
        gpu_count = gpu_count or size.gpu_count
    cpu_m = parse_cpu(cpu, field="--cpu") if cpu is not None else cpu_m
    mem = parse_memory(memory, field="--memory") if memory is not None else mem
    sto = parse_storage(storage, field="--storage") if storage is not None else sto
    resources = Resources(cpu_millis=cpu_m, memory_mib=mem, storage_gib=sto, gpu_class=gpu_class,
                          gpu_count=gpu_count)  # fmt: skip
    # Every flag is read before any network call.
    given_rate = parse_rate(rate, field="--rate") if rate is not None else None
    min_seconds = parse_duration(min_duration, field="--min-duration")
    max_seconds = parse_duration(max_duration, field="--max-duration")
    valid_seconds = parse_duration(valid_for, field="--valid-for")

    offline = chain_id is not None and escrow is not None
    now = int(time.time())
    if offline:
        domain = Domain(chain_id=chain_id, verifying_contract=checksum(escrow, field="--escrow"))
        if given_rate is None:
            raise click.ClickException("--rate is required when signing offline (--chain-id/--escrow)")
        rate_wei = given_rate
    else:
        w3 = connect(rpc)
        book = load_address_book(addresses)
        domain = Domain(chain_id=int(w3.eth.chain_id), verifying_contract=str(book["escrow"]))
        now = int(w3.eth.get_block("latest")["timestamp"])
        if given_rate is None:
            index, _ = _open_index(rpc, addresses, index_path)
            record = next((p for p in index.providers if p.address == provider), None)
            if record is None:
                raise click.ClickException(
                    f"{provider} (the key's address) is not registered; register first or pass --rate"
                )
            rate_wei = rate_at(resources, record)
        else:
            rate_wei = given_rate
    if rate_wei == 0:
        raise click.ClickException("--rate is 0; the escrow refuses a zero rate — give a price per hour")
    signed = sign_offer(
        Offer(
            provider=provider,
            requestor=checksum(requestor, field="--requestor") if requestor else "0x" + "00" * 20,
            resources=resources,
            rate_per_hour=rate_wei,
            min_duration=min_seconds,
            max_duration=max_seconds,
            nonce=random_nonce() if nonce is None else nonce,
            deadline=now + valid_seconds,
        ),
        domain,
        key,
    )
    if out is None:
        click.echo(signed.to_json(), nl=False)
    else:
        signed.write(out)
        low, high = offer_deposit_bounds(rate_wei, signed.offer.min_duration, signed.offer.max_duration)
        click.echo(f"wrote {out}: {format_rate(rate_wei)} by {provider}, deposits {format_lnq(low)} … "
                   f"{format_lnq(high)}, valid until {signed.offer.deadline}", err=True)  # fmt: skip


@offer.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--offline", is_flag=True, help="Check only the signature and deadline (local clock).")
@click.option("--chain-id", type=int, default=None, help="Expected chain id (offline).")
@click.option("--escrow", default=None, help="Expected Escrow contract (offline).")
@network_options
@json_option
@_friendly
def offer_verify(file, offline, chain_id, escrow, rpc, addresses, index_path, as_json) -> None:
    """Check an offer file: signer = provider, deadline, chain id, contract and (online) nonce unused."""
    signed = SignedOffer.read(file)
    if offline:
        report = verify_offer(signed, expected_chain_id=chain_id, expected_contract=escrow)
    else:
        w3 = connect(rpc)
        book = load_address_book(addresses)
        report = verify_offer(signed, w3=w3, expected_contract=escrow or str(book["escrow"]),
                              escrow_address=str(book["escrow"]))  # fmt: skip
    o = signed.offer
    low, high = offer_deposit_bounds(o.rate_per_hour, o.min_duration, o.max_duration)
    if as_json:
        _echo_json({
            "ok": report.ok, "signer": report.signer, "digest": report.digest, "checked": report.checked,
            "problems": report.problems, "offer": signed.model_dump(mode="json")["offer"],
            "deposit_range_wei": [str(low), str(high)],
        })  # fmt: skip
    else:
        console = _console()
        if report.ok:
            r = o.resources
            gpus = f", {r.gpu_count} GPU #{r.gpu_class}" if r.gpu_count else ""
            console.print(
                f"[green]valid[/green] offer by {o.provider}: {format_rate(o.rate_per_hour)} for "
                f"{r.cpu_millis}m CPU, {r.memory_mib} MiB, {r.storage_gib} GiB{gpus}; "
                f"deposit {format_lnq(low)} … {format_lnq(high)} "
                f"({format_duration(o.min_duration)} … {format_duration(o.max_duration)}); "
                f"checked {', '.join(report.checked)}"
            )
        else:
            console.print(f"[red]invalid[/red] offer {file}:")
            for problem in report.problems:
                console.print(f"  - {problem}")
    if not report.ok:
        raise SystemExit(1)


commands: list[click.Command] = [providers, estimate, offer]
