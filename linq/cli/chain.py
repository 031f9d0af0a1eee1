"""`linq escrow status | list | top-up | withdraw | stop | finalize` and `linq provider register | update | show`.

Network: --devnet-dir DIR (the local devnet), or --rpc URL --addresses FILE [--chain-id N]; without flags,
$LINQ_RPC_URL + $LINQ_ADDRESSES, $LINQ_DEVNET_DIR, then the default devnet. Key (writes only): $LINQ_PRIVATE_KEY,
or --keystore FILE with the password from $LINQ_KEYSTORE_PASSWORD / --password-file. No key is ever printed.

Exit codes: 0 done, 1 the chain refused or a transaction failed, 2 bad input, 3 network unreachable or
misconfigured, 4 no signing key.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from linq.chain import (
    ChainClient,
    ChainError,
    InputError,
    NetworkConfigError,
    RpcUnavailable,
    SignerError,
    resolve_profile,
    resolve_signer,
)
from linq.chain import escrows as ops
from linq.chain import registration as reg
from linq.chain.signers import from_keystore
from linq.contracts.terms import Terms
from linq.market.encoding import EncodingError, checksum
from linq.units import UnitError, format_duration, format_lnq, parse_amount

F = TypeVar("F", bound=Callable[..., Any])


class CliError(click.ClickException):
    """A user-facing error with its own exit code (see the module docstring)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.exit_code = code  # type: ignore[misc]  # click declares it on the class; per-instance is intended


def _errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (InputError, UnitError, EncodingError) as err:
            raise CliError(str(err), 2) from None
        except (RpcUnavailable, NetworkConfigError) as err:
            raise CliError(str(err), 3) from None
        except SignerError as err:
            raise CliError(str(err), 4) from None
        except ChainError as err:
            raise CliError(str(err), 1) from None

    return wrapper  # type: ignore[return-value]


def network_options(fn: F) -> F:
    for option in reversed(
        [
            click.option(
                "--devnet-dir",
                type=click.Path(file_okay=False, path_type=Path),
                default=None,
                help="Local devnet state directory (default: $LINQ_DEVNET_DIR or .linq/devnet).",
            ),
            click.option("--rpc", default=None, help="JSON-RPC URL of any chain (needs --addresses)."),
            click.option("--chain-id", type=int, default=None, help="Expected chain id (checked against the node)."),
            click.option(
                "--addresses",
                type=click.Path(dir_okay=False, path_type=Path),
                default=None,
                help="Address book JSON (chain_id, lnq, registry, escrow, deployed_block).",
            ),
        ]
    ):
        fn = option(fn)
    return fn


def key_options(fn: F) -> F:
    fn = click.option(
        "--password-file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="File holding the keystore password (else $LINQ_KEYSTORE_PASSWORD).",
    )(fn)
    fn = click.option(
        "--keystore",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Encrypted JSON keystore (else $LINQ_PRIVATE_KEY).",
    )(fn)
    return fn


def json_option(fn: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(fn)


def _client(
    devnet_dir: Path | None,
    rpc: str | None,
    chain_id: int | None,
    addresses: Path | None,
    *,
    keystore: Path | None = None,
    password_file: Path | None = None,
    signer: bool = False,
) -> ChainClient:
    profile = resolve_profile(devnet_dir=devnet_dir, rpc_url=rpc, chain_id=chain_id, addresses=addresses)
    key = None
    if signer:
        key = from_keystore(keystore, password_file=password_file) if keystore else resolve_signer()
    return ChainClient(profile, key)


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))


# ----- escrow -------------------------------------------------------------------------------------------
@click.group()
def escrow() -> None:
    """Inspect and act on on-chain escrows (ids as 0x + 64 hex digits)."""


def _terms(client: ChainClient, escrow_id: str) -> Terms:
    text = escrow_id.strip().lower()
    if not (text.startswith("0x") and len(text) == 66 and all(c in "0123456789abcdef" for c in text[2:])):
        raise InputError("ESCROW_ID", escrow_id, "is not an escrow id", "give 0x followed by 64 hex digits")
    terms = ops.find_by_id(client, bytes.fromhex(text[2:]))
    if terms is None:
        raise InputError(
            "ESCROW_ID",
            escrow_id,
            f"is not an escrow of {client.escrow.address} on chain {client.chain_id}",
            "check the id and the network (`linq escrow list`)",
        )
    return ops.follow(client, terms)


def state_json(state: ops.EscrowState, settlement: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"escrow_id": state.escrow_id, "status": state.status.value, **state.terms.to_json(), **state.figures_json(),
            "now": state.now, "settlement": settlement or {}}  # fmt: skip


def _state_table(state: ops.EscrowState, settlement: dict[str, Any] | None) -> Table:
    t = state.terms
    table = Table(show_header=False, title=f"escrow {state.escrow_id}")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    r = t.resources
    gpu = f", {r.gpu_count} GPU(s) of class {r.gpu_class}" if r.gpu_count else ""
    rows = [
        ("status", state.status),
        ("requestor", t.requestor),
        ("provider", t.provider),
        ("resources", f"{r.cpu_millis} millicores, {r.memory_mib} MiB, {r.storage_gib} GiB{gpu}"),
        ("rate", f"{format_lnq(t.rate_per_hour)}/h"),
        ("deposited", format_lnq(state.deposited)),
        ("earned", format_lnq(state.earned)),
        ("withdrawn", format_lnq(state.withdrawn)),
        ("withdrawable", format_lnq(state.withdrawable)),
        ("remaining", format_lnq(state.remaining)),
        ("start", str(state.start or "-")),
        ("end", str(state.end or "-")),
        ("runway", format_duration(state.runway)),
    ]
    if settlement:
        rows.append(
            (
                "settled",
                f"{settlement['event']} by {settlement['by']} (to provider "
                f"{format_lnq(int(settlement['to_provider']))}, refund "
                f"{format_lnq(int(settlement['refund']))}) tx {settlement['tx']}",
            )
        )
    for key, value in rows:
        table.add_row(key, value)
    return table


def _show(client: ChainClient, terms: Terms, as_json: bool, extra: dict[str, Any] | None = None) -> None:
    state = ops.read_state(client, terms)
    settled = ops.settlement(client, terms.escrow_id) if state.status.is_settled else None
    if as_json:
        _echo_json({**(extra or {}), "escrow": state_json(state, settled)})
        return
    if extra:
        for key, value in extra.items():
            click.echo(f"{key}: {value}")
    Console().print(_state_table(state, settled))


@escrow.command("status")
@click.argument("escrow_id")
@network_options
@json_option
@_errors
def escrow_status(escrow_id: str, devnet_dir, rpc, chain_id, addresses, as_json: bool) -> None:
    """Every figure of one escrow, read from the chain now."""
    client = _client(devnet_dir, rpc, chain_id, addresses)
    _show(client, _terms(client, escrow_id), as_json)


@escrow.command("list")
@click.option("--requestor", default=None, help="Escrows created by this address (default: the signer's).")
@click.option("--provider", default=None, help="Escrows held by this provider.")
@click.option("--open", "open_only", is_flag=True, help="Only Created, Active and Ended escrows.")
@network_options
@key_options
@json_option
@_errors
def escrow_list(
    requestor, provider, open_only, devnet_dir, rpc, chain_id, addresses, keystore, password_file, as_json
) -> None:
    """Escrows of a requestor and/or provider."""
    if requestor:
        requestor = checksum(requestor, field="--requestor")
    if provider:
        provider = checksum(provider, field="--provider")
    if not requestor and not provider:
        client = _client(
            devnet_dir, rpc, chain_id, addresses, keystore=keystore, password_file=password_file, signer=True
        )
        requestor = client.address
    else:
        client = _client(devnet_dir, rpc, chain_id, addresses)
    states = [ops.read_state(client, t) for t in ops.list_escrows(client, requestor=requestor, provider=provider)]
    if open_only:
        states = [s for s in states if s.is_open]
    if as_json:
        _echo_json({"escrows": [state_json(s) for s in states]})
        return
    table = Table(title=f"{len(states)} escrows")
    for col in ("escrow id", "status", "provider", "deposited", "earned", "withdrawn", "runway"):
        table.add_column(col, overflow="fold")
    for s in states:
        table.add_row(
            s.escrow_id,
            s.status,
            s.terms.provider,
            format_lnq(s.deposited),
            format_lnq(s.earned),
            format_lnq(s.withdrawn),
            format_duration(s.runway),
        )
    Console().print(table)


def _write(action: Callable[[ChainClient, Terms], Any], name: str) -> Callable[..., None]:
    @click.argument("escrow_id")
    @network_options
    @key_options
    @json_option
    @_errors
    def command(escrow_id, devnet_dir, rpc, chain_id, addresses, keystore, password_file, as_json) -> None:
        client = _client(
            devnet_dir, rpc, chain_id, addresses, keystore=keystore, password_file=password_file, signer=True
        )
        terms = _terms(client, escrow_id)
        tx = action(client, terms)
        _show(client, terms, as_json, {"action": name, "tx": tx})

    return command


escrow.command("withdraw", help="Pay the provider what it has earned (anyone may send this).")(
    _write(ops.withdraw, "withdraw")
)
escrow.command(
    "stop", help="Stop a running escrow (requestor): the provider keeps its earnings, the rest is refunded."
)(_write(ops.stop, "stop"))
escrow.command("finalize", help="Settle an ended escrow (anyone): pays the provider's remainder.")(
    _write(ops.finalize, "finalize")
)


@escrow.command("top-up")
@click.argument("escrow_id")
@click.argument("amount")
@network_options
@key_options
@json_option
@_errors
def escrow_top_up(escrow_id, amount, devnet_dir, rpc, chain_id, addresses, keystore, password_file, as_json) -> None:
    """Add AMOUNT ('1.5 LNQ' or '42 wei'; a bare number is refused) to the deposit; extends the runway."""
    wei = parse_amount(amount, field="AMOUNT")
    if wei == 0:
        raise InputError("AMOUNT", amount, "is zero", "give an amount above 0, e.g. 1.5 LNQ")
    client = _client(devnet_dir, rpc, chain_id, addresses, keystore=keystore, password_file=password_file, signer=True)
    terms = _terms(client, escrow_id)
    hashes = ops.top_up(client, terms, wei)
    _show(client, terms, as_json, {"action": "top-up", "tx": hashes})


# ----- provider -----------------------------------------------------------------------------------------
@click.group()
def provider() -> None:
    """Register this wallet as a provider, update its record, show a record."""


def registration_options(required: bool) -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        options = [
            click.option("--cpu", required=required, help="Total CPU, millicores (e.g. 16000)."),
            click.option("--memory", required=required, help="Total memory, MiB."),
            click.option("--storage", required=required, help="Total storage, GiB."),
            click.option("--price-cpu", required=required, help="LNQ wei per millicore-hour."),
            click.option("--price-memory", required=required, help="LNQ wei per MiB-hour."),
            click.option("--price-storage", required=required, help="LNQ wei per GiB-hour."),
            click.option("--region", required=required, help="Short ASCII region, e.g. eu-west."),
            click.option("--meta", required=required, help="Metadata: 0x + 64 hex (used as is) or text (hashed)."),
            click.option("--gpu", "gpus", multiple=True, help="GPU class CLASS:MODEL:COUNT:PRICE (repeatable)."),
        ]
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


def _record_json(address: str, record: reg.RegistrationSpec | None) -> dict[str, Any]:
    return {"provider": address, "registered": record is not None, **(record.to_json() if record else {})}


def _apply(client: ChainClient, want: reg.RegistrationSpec, as_json: bool) -> None:
    calls, hashes = reg.apply(client, want)
    record = reg.read(client, client.address)
    if as_json:
        _echo_json(
            {
                "changed": bool(calls),
                "calls": calls,
                "tx_hashes": hashes,
                "record": _record_json(client.address, record),
            }
        )
        return
    click.echo(f"{client.address}: " + (f"sent {', '.join(calls)}" if calls else "already up to date, nothing sent"))
    Console().print(_record_table(client.address, record))


def _desired(
    cpu,
    memory,
    storage,
    price_cpu,
    price_memory,
    price_storage,
    region,
    meta,
    gpus,
    current: reg.RegistrationSpec | None = None,
) -> reg.RegistrationSpec:
    def pick(value: Any, field: str, now: Any) -> Any:
        if value is not None:
            return value
        if current is None:
            raise InputError(f"--{field}", None, "is required to register", f"pass --{field}")
        return now

    c = current
    gpu_specs = tuple(reg.parse_gpu(g) for g in gpus) if gpus else (c.gpu_classes if c else ())
    return reg.spec(
        cpu=pick(cpu, "cpu", c and c.cpu_millis),
        memory=pick(memory, "memory", c and c.memory_mib),
        storage=pick(storage, "storage", c and c.storage_gib),
        price_cpu=pick(price_cpu, "price-cpu", c and c.price_cpu),
        price_memory=pick(price_memory, "price-memory", c and c.price_memory),
        price_storage=pick(price_storage, "price-storage", c and c.price_storage),
        region=pick(region, "region", c and c.region),
        meta=pick(meta, "meta", c and "0x" + c.meta_hash.hex()),
        gpus=gpu_specs,
    )


REGISTRATION_FIELDS = ("cpu", "memory", "storage", "price_cpu", "price_memory", "price_storage", "region", "meta",
                       "gpus")  # fmt: skip


def _register_or_update(options: dict[str, Any], *, must_exist: bool) -> None:
    """register: flags are checked before any network call; update: flags left out keep the chain's value."""
    flags: dict[str, Any] = {field: options[field] for field in REGISTRATION_FIELDS}
    want = None if must_exist else _desired(**flags)
    client = _client(options["devnet_dir"], options["rpc"], options["chain_id"], options["addresses"],
                     keystore=options["keystore"], password_file=options["password_file"], signer=True)  # fmt: skip
    if want is None:
        current = reg.read(client, client.address)
        if current is None:
            raise InputError("wallet", client.address, "is not registered", "run `linq provider register` first")
        want = _desired(**flags, current=current)
    _apply(client, want, options["as_json"])


@provider.command("register")
@registration_options(required=True)
@network_options
@key_options
@json_option
@_errors
def provider_register(**options: Any) -> None:
    """Register the signer's wallet; if it is already registered, update only what differs (idempotent)."""
    _register_or_update(options, must_exist=False)


@provider.command("update")
@registration_options(required=False)
@network_options
@key_options
@json_option
@_errors
def provider_update(**options: Any) -> None:
    """Change capacity, prices, region, metadata or GPU classes; flags left out keep their value."""
    _register_or_update(options, must_exist=True)


def _record_table(address: str, record: reg.RegistrationSpec | None) -> Table:
    table = Table(show_header=False, title=f"provider {address}")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    if record is None:
        table.add_row("registered", "no")
        return table
    gpus = (
        ", ".join(f"#{g.class_id} {g.model} x{g.count} at {format_lnq(g.price_per_hour)}/h" for g in record.gpu_classes)
        or "-"
    )
    for key, value in (
        ("active", "yes" if record.active else "no"),
        ("region", record.region),
        ("capacity", f"{record.cpu_millis} millicores, {record.memory_mib} MiB, {record.storage_gib} GiB"),
        (
            "prices (wei/unit-h)",
            f"cpu {record.price_cpu}, memory {record.price_memory}, storage {record.price_storage}",
        ),
        ("GPU classes", gpus),
        ("metadata hash", "0x" + record.meta_hash.hex()),
    ):
        table.add_row(key, value)
    return table


@provider.command("show")
@click.argument("address", required=False)
@network_options
@key_options
@json_option
@_errors
def provider_show(address, devnet_dir, rpc, chain_id, addresses, keystore, password_file, as_json) -> None:
    """A provider's registry record (default: the signer's own)."""
    if address:
        client = _client(devnet_dir, rpc, chain_id, addresses)
        address = checksum(address, field="ADDRESS")
    else:
        client = _client(
            devnet_dir, rpc, chain_id, addresses, keystore=keystore, password_file=password_file, signer=True
        )
        address = client.address
    record = reg.read(client, address)
    if as_json:
        _echo_json(_record_json(address, record))
        return
    Console().print(_record_table(address, record))


commands: list[click.Command] = [escrow, provider]
