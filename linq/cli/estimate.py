"""`linq estimate`: the exact cost of resources for a duration at registry prices."""

from __future__ import annotations

import click
from rich.table import Table

from linq.cli.matching import (
    _console,
    _open_index,
    _requirements,
    index_options,
    requirement_options,
)
from linq.cli.options import echo_json, json_option
from linq.market.encoding import checksum
from linq.market.match import match
from linq.protocol.money import deposit_for, runway_seconds
from linq.units import (
    format_duration,
    format_lnq,
    format_rate,
)


@click.command()
@requirement_options
@click.option("--provider", default=None, help="Price at this provider's registry prices (default: the best match).")
@index_options
@json_option
def estimate(devnet_dir, rpc, addresses, index_path, as_json, provider, **opts) -> None:
    """Exact cost of resources for a duration: hourly rate, deposit and its runway, in LNQ."""
    req = _requirements(**opts)
    index, _ = _open_index(devnet_dir, rpc, addresses, index_path)
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
        echo_json(data)
        return
    table = Table(show_header=False, title=f"estimate at {best.provider}")
    table.add_column("", style="bold")
    table.add_column("")
    r = best.resources(req)
    table.add_row(
        "resources",
        f"{r.cpu_millis}m CPU, {r.memory_mib} MiB, {r.storage_gib} GiB"
        + (f", {r.gpu_count} GPU class #{r.gpu_class}" if r.gpu_count else ""),
    )
    table.add_row("rate", f"{format_rate(rate)}  ({rate} wei/h)")
    table.add_row(f"deposit for {format_duration(req.duration_seconds)}", f"{format_lnq(deposit)}  ({deposit} wei)")
    table.add_row("runway of that deposit", format_duration(runway) if runway is not None else "unlimited")
    table.add_row("minimum deposit", f"{format_lnq(min_deposit)} ({format_duration(min_prepaid)} prepaid)")
    _console().print(table)
