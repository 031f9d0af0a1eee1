"""`linq estimate`: the exact cost of resources for a duration at registry prices."""

from __future__ import annotations

import click
from rich.table import Table

from linq.cli.matching import (
    _console,
    _open_index,
    index_options,
    requirement_options,
)
from linq.cli.options import echo_json, json_option
from linq.market.encoding import checksum
from linq.market.estimate import estimate_json
from linq.market.match import match
from linq.market.requirements import read_requirements
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
    req = read_requirements(**opts)
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
    data = estimate_json(best, req, int(index.escrow.functions.minPrepaidSeconds().call()))
    rate, deposit, runway = best.rate_per_hour, best.total_cost, data["runway_seconds"]
    min_prepaid, min_deposit = data["min_prepaid_seconds"], int(data["min_deposit_wei"])
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
