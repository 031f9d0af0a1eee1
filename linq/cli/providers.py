"""`linq providers list | show | match`: the on-chain registry, read through the registry index.

Network: the shared flags (--devnet-dir, or --rpc URL --addresses FILE; else $LINQ_RPC_URL + $LINQ_ADDRESSES,
$LINQ_DEVNET_DIR, the default devnet). Provider data comes from the registry index, cached at --index FILE
(default under ~/.cache/linq/market/) and brought up to date from chain events on every command.
"""

from __future__ import annotations

import time
from collections import Counter

import click
from rich.table import Table

from linq.cli.matching import (
    _console,
    _gpu_line,
    _gpu_text,
    _index_meta,
    _open_index,
    _stale_note,
    index_options,
    requirement_options,
)
from linq.cli.options import echo_json, json_option
from linq.cli.tables import ShowId, compact, print_table
from linq.market.encoding import checksum
from linq.market.match import match
from linq.market.models import (
    MatchResult,
)
from linq.market.requirements import read_requirements
from linq.units import (
    format_cpu,
    format_duration,
    format_lnq,
    format_memory,
    format_storage,
)


@click.group()
def providers() -> None:
    """Providers in the on-chain registry (indexed and cached locally)."""


@providers.command("list")
@index_options
@json_option
@click.option("--region", "regions", multiple=True, help="Only these regions ('eu' matches eu-*).")
@click.option("--active-only", is_flag=True, help="Hide deactivated providers.")
def providers_list(devnet_dir, rpc, addresses, index_path, as_json, regions, active_only) -> None:
    """Every registered provider: capacity free/total, prices, GPUs, reputation."""
    from linq.market.encoding import region_matches

    index, stats = _open_index(devnet_dir, rpc, addresses, index_path)
    rows = [
        p
        for p in index.providers
        if (not active_only or p.active) and (not regions or any(region_matches(p.region, r) for r in regions))
    ]
    if as_json:
        echo_json({"index": _index_meta(index, stats), "providers": [p.model_dump(mode="json") for p in rows]})
        return

    def build(show: ShowId) -> Table:
        table = compact(f"{len(rows)} providers (free capacity)", _stale_note(index, stats))
        table.add_column("provider", no_wrap=True)
        for col in ("region", "CPU", "memory", "storage", "LNQ/ core-h", "GPUs", "rep.", "state"):
            table.add_column(col, overflow="fold")
        for p in rows:
            table.add_row(
                show(p.address),
                p.region,
                format_cpu(p.free.cpu_millis),
                format_memory(p.free.memory_mib),
                format_storage(p.free.storage_gib),
                format_lnq(p.prices.cpu_per_milli_hour * 1000, unit=""),
                _gpu_text(p),
                f"{p.reputation.score:.2f}",
                ("gateway" if p.gateway else "active") if p.active else "off",
            )
        return table

    print_table(build, _console())


@providers.command("show")
@click.argument("address")
@index_options
@json_option
def providers_show(address, devnet_dir, rpc, addresses, index_path, as_json) -> None:
    """One provider in full, with its reputation explained."""
    wanted = checksum(address, field="ADDRESS")
    index, stats = _open_index(devnet_dir, rpc, addresses, index_path)
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
        echo_json({"index": _index_meta(index, stats), "provider": data})
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
        ("gateway", f"{p.gateway.url}\nTLS SPKI sha256 {p.gateway.tls_spki_sha256}" if p.gateway else "none published"),
        ("CPU", f"{free.cpu_millis} of {p.total.cpu_millis} millicores free"),
        ("memory", f"{free.memory_mib} of {p.total.memory_mib} MiB free"),
        ("storage", f"{free.storage_gib} of {p.total.storage_gib} GiB free"),
        ("CPU price", f"{format_lnq(p.prices.cpu_per_milli_hour)} per millicore-hour"),
        ("memory price", f"{format_lnq(p.prices.memory_per_mib_hour)} per MiB-hour"),
        ("storage price", f"{format_lnq(p.prices.storage_per_gib_hour)} per GiB-hour"),
        ("GPU classes", "\n".join(_gpu_line(g) for g in p.gpu_classes) or "none"),
        ("escrows", f"{rep.completed} completed, {rep.stopped_early} stopped early, {rep.cancelled} cancelled"),
        ("earned", format_lnq(rep.total_earned)),
        (
            "reputation",
            f"{detail.score:.4f}  ({float(detail.successes):g} credited successes of "
            f"{detail.outcomes} outcomes + prior"
            f"{'; capped by earnings' if detail.capped_by_earnings else ''})",
        ),
    ):
        table.add_row(key, value)
    _console().print(table)


def _print_match(result: MatchResult, explain: bool, note: str) -> None:
    console = _console()
    req = result.requirements

    def build(show: ShowId) -> Table:
        table = compact(f"{len(result.candidates)} of {result.considered} providers match", note)
        table.add_column("#")
        table.add_column("provider", no_wrap=True)
        total_col = f"LNQ for {format_duration(req.duration_seconds)}"
        for col in ("region", "GPU", "LNQ/h", total_col, "price", "rep.", "room", "score"):
            table.add_column(col, overflow="fold")
        for c in result.candidates:
            table.add_row(
                str(c.rank),
                show(c.provider),
                c.region,
                "-" if c.gpu_class_id is None else f"#{c.gpu_class_id}",
                format_lnq(c.rate_per_hour, unit=""),
                format_lnq(c.total_cost, unit=""),
                f"{c.score.price:.2f}",
                f"{c.score.reputation:.2f}",
                f"{c.score.headroom:.2f}",
                f"{c.score.total:.3f}",
            )
        return table

    print_table(build, console)
    if not result.rejected:
        return
    if explain:

        def rejected(show: ShowId) -> Table:
            table = Table(title=f"{len(result.rejected)} rejected")
            table.add_column("provider", no_wrap=True)
            table.add_column("reasons", overflow="fold")
            for r in result.rejected:
                table.add_row(show(r.provider), "; ".join(reason.message for reason in r.reasons))
            return table

        print_table(rejected, console)
    else:
        counts = Counter(code.value for r in result.rejected for code in r.codes)
        summary = ", ".join(f"{n} {code}" for code, n in counts.most_common())
        console.print(f"{len(result.rejected)} rejected ({summary}); --explain lists every reason")


@providers.command("match")
@requirement_options
@click.option("--limit", type=int, default=None, help="Show at most this many candidates.")
@click.option("--explain", is_flag=True, help="List every rejected provider with all its reasons.")
@index_options
@json_option
def providers_match(devnet_dir, rpc, addresses, index_path, as_json, explain, limit, **opts) -> None:
    """Rank the providers that can run these requirements, and say why each other one cannot."""
    req = read_requirements(**opts, limit=limit)
    index, stats = _open_index(devnet_dir, rpc, addresses, index_path)
    started = time.perf_counter()
    result = match(index.providers, req)
    elapsed = time.perf_counter() - started
    if as_json:
        data = result.model_dump(mode="json")
        data["index"] = _index_meta(index, stats)
        data["match_ms"] = round(elapsed * 1000, 3)
        echo_json(data)
        return
    _print_match(result, explain, _stale_note(index, stats) + f"; matched in {elapsed * 1000:.1f} ms")
