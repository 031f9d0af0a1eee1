"""`linq escrow status | list | top-up | withdraw | stop | finalize`.

Network: --devnet-dir DIR (the local devnet), or --rpc URL --addresses FILE [--chain-id N]; without flags,
$LINQ_RPC_URL + $LINQ_ADDRESSES, $LINQ_DEVNET_DIR, then the default devnet. Key (writes only): $LINQ_PRIVATE_KEY,
or --keystore FILE with the password from $LINQ_KEYSTORE_PASSWORD / --password-file. No key is ever printed.
Exit codes: the one table in linq/cli/errors.py (docs/cli.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from linq.chain import ChainClient, InputError
from linq.chain import escrows as ops
from linq.cli.options import (
    chain_client,
    confirm_money_move,
    echo_json,
    json_option,
    key_options,
    network_options,
    yes_option,
)
from linq.cli.tables import ShowId, compact, print_table
from linq.contracts.terms import Terms
from linq.market.encoding import checksum
from linq.protocol.figures import runway_left
from linq.protocol.money import end_time
from linq.protocol.status import EscrowStatus
from linq.units import format_duration, format_lnq, parse_amount


@click.group()
def escrow() -> None:
    """Inspect and act on on-chain escrows (ids as 0x + 64 hex digits)."""


def _terms(client: ChainClient, escrow_id: str) -> Terms:
    return ops.terms_by_id(client, escrow_id)


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
        echo_json({**(extra or {}), "escrow": state.status_json(settled)})
        return
    if extra:
        for key, value in extra.items():
            click.echo(f"{key}: {value}")
    Console().print(_state_table(state, settled))


@escrow.command("status")
@click.argument("escrow_id")
@network_options
@json_option
def escrow_status(escrow_id: str, devnet_dir, rpc, chain_id, addresses, as_json: bool) -> None:
    """Every figure of one escrow, read from the chain now."""
    client = chain_client(devnet_dir, rpc, chain_id, addresses)
    _show(client, _terms(client, escrow_id), as_json)


@escrow.command("list")
@click.option("--requestor", default=None, help="Escrows created by this address (default: the signer's).")
@click.option("--provider", default=None, help="Escrows held by this provider.")
@click.option("--open", "open_only", is_flag=True, help="Only Created, Active and Ended escrows.")
@network_options
@key_options
@json_option
def escrow_list(
    requestor, provider, open_only, devnet_dir, rpc, chain_id, addresses, keystore, password_file, as_json
) -> None:
    """Escrows of a requestor and/or provider."""
    if requestor:
        requestor = checksum(requestor, field="--requestor")
    if provider:
        provider = checksum(provider, field="--provider")
    if not requestor and not provider:
        client = chain_client(
            devnet_dir, rpc, chain_id, addresses, keystore=keystore, password_file=password_file, signer=True
        )
        requestor = client.address
    else:
        client = chain_client(devnet_dir, rpc, chain_id, addresses)
    states = [ops.read_state(client, t) for t in ops.list_escrows(client, requestor=requestor, provider=provider)]
    if open_only:
        states = [s for s in states if s.is_open]
    if as_json:
        echo_json({"escrows": [s.status_json() for s in states]})
        return

    def build(show: ShowId) -> Table:
        table = compact(f"{len(states)} escrows (LNQ)")
        for col in ("escrow id", "status", "provider", "deposit", "earned", "paid out", "runway"):
            table.add_column(col, overflow="fold", no_wrap=col == "escrow id")
        for s in states:
            table.add_row(
                show(s.escrow_id),
                s.status,
                show(s.terms.provider),
                format_lnq(s.deposited, unit=""),
                format_lnq(s.earned, unit=""),
                format_lnq(s.withdrawn, unit=""),
                format_duration(s.runway),
            )
        return table

    print_table(build)


def _write(action: Callable[[ChainClient, Terms], Any], name: str) -> Callable[..., None]:
    @click.argument("escrow_id")
    @network_options
    @key_options
    @json_option
    def command(escrow_id, devnet_dir, rpc, chain_id, addresses, keystore, password_file, as_json) -> None:
        client = chain_client(
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
escrow.command(
    "decline",
    help="Refuse an escrow not started yet (its provider): the requestor gets the whole deposit back, capacity is "
    "freed, reputation is unchanged. Do it within the start window: an escrow left unanswered past it counts "
    "as cancelled.",
)(_write(ops.decline, "decline"))
escrow.command("finalize", help="Settle an ended escrow (anyone): pays the provider's remainder.")(
    _write(ops.finalize, "finalize")
)


def runway_after_top_up(state: ops.EscrowState, amount: int) -> int | None:
    """The runway once `amount` more wei is deposited (None: the escrow cannot be topped up)."""
    if state.status not in (EscrowStatus.CREATED, EscrowStatus.ACTIVE) or not state.rate_per_hour:
        return None
    deposited = state.deposited + amount
    end = end_time(deposited, state.rate_per_hour, state.start) if state.start else 0
    return runway_left(state.status, deposited, state.rate_per_hour, end, state.now)


def _top_up_figures(client: ChainClient, terms: Terms, wei: int) -> list[tuple[str, str]]:
    state = ops.read_state(client, terms)
    after = runway_after_top_up(state, wei)
    return [
        ("payer", client.address),
        ("amount", f"{format_lnq(wei)} ({wei} wei)"),
        ("escrow", f"{state.escrow_id} ({state.status.value}, provider {terms.provider})"),
        ("deposit", f"{format_lnq(state.deposited)} -> {format_lnq(state.deposited + wei)}"),
        ("runway", f"{format_duration(state.runway)} -> {format_duration(after) if after is not None else '-'}"),
    ]


@escrow.command("top-up", context_settings={"ignore_unknown_options": True})
@click.argument("escrow_id")
@click.argument("amount")
@network_options
@key_options
@yes_option
@json_option
def escrow_top_up(
    escrow_id, amount, devnet_dir, rpc, chain_id, addresses, keystore, password_file, yes, as_json
) -> None:
    """Add AMOUNT ('1.5 LNQ' or '42 wei'; a bare number is refused) to the deposit; extends the runway.

    Above the confirmation threshold (10 LNQ, or $LINQ_CONFIRM_ABOVE) it shows the payer, the amount, the
    escrow and the new runway and asks first; --yes sends without asking."""
    wei = parse_amount(amount, field="AMOUNT")
    if wei == 0:
        raise InputError("AMOUNT", amount, "is zero", "give an amount above 0, e.g. 1.5 LNQ")
    client = chain_client(
        devnet_dir, rpc, chain_id, addresses, keystore=keystore, password_file=password_file, signer=True
    )
    terms = _terms(client, escrow_id)
    confirm_money_move("top up an escrow", wei, lambda: _top_up_figures(client, terms, wei), yes=yes)
    hashes = ops.top_up(client, terms, wei)
    _show(client, terms, as_json, {"action": "top-up", "tx": hashes})
