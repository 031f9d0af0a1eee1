"""`linq runway guard`: apply opt-in auto top-ups (threshold, amount, spending cap) to escrows."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from linq.cli.options import chain_client, key_options, network_options
from linq.runway import Ledger, RunwayPolicy, guard_once
from linq.units import UnitError, above_zero, parse_amount, parse_duration

DEFAULT_LEDGER = Path(".linq") / "runway-ledger.json"


def _stack_policies(stack: str, project: str | None, devnet_dir: Path | None) -> dict[str, RunwayPolicy]:
    from linq.monitor.targets import read_stack_outputs

    outputs = read_stack_outputs(stack, project=project, devnet_dir=devnet_dir)
    policies = {}
    for name, deployment in (outputs.get("deployments") or {}).items():
        policy, escrow = deployment.get("autoTopUp"), deployment.get("escrow") or {}
        if policy and escrow.get("id"):
            policies[str(escrow["id"])] = RunwayPolicy(
                int(policy["belowSeconds"]), int(policy["amount"]), int(policy["cap"])
            )
        elif policy:
            click.echo(f"{name}: autoTopUp set but no open escrow in the stack outputs; skipped", err=True)
    return policies


@click.group()
def runway() -> None:
    """Runway protection: opt-in auto top-ups with a spending cap."""


@runway.command("guard")
@click.option("--stack", default=None, help="Apply the autoTopUp policies of this stack's deployments.")
@click.option("--project", default=None, help="Pulumi project of --stack (default: linq).")
@click.option("--escrow", "escrow_ids", multiple=True, help="An escrow id (with --below/--amount/--cap).")
@click.option("--below", default=None, help="Top up when the runway is below this, e.g. 6h.")
@click.option("--amount", default=None, help="Each top-up, e.g. '0.5 LNQ'.")
@click.option("--cap", default=None, help="Never spend more than this in auto top-ups per escrow, e.g. '5 LNQ'.")
@click.option(
    "--ledger",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_LEDGER,
    show_default=True,
    help="Where sent auto top-ups are recorded (the cap counts them and the tagged txs).",
)
@click.option("--once", is_flag=True, help="One pass, then exit (for cron).")
@click.option("--interval", default="5m", show_default=True, help="Time between passes, e.g. 5m or 300.")
@network_options
@key_options
def guard(
    stack,
    project,
    escrow_ids,
    below,
    amount,
    cap,
    ledger,
    once,
    interval,
    devnet_dir,
    rpc,
    chain_id,
    addresses,
    keystore,
    password_file,
) -> None:
    """Top up escrows whose runway falls below a threshold; one JSON line per decision.

    Exit codes: the one table (linq/cli/errors.py, docs/cli.md)."""
    policies: dict[str, RunwayPolicy] = {}
    try:
        pause = above_zero("--interval", interval, parse_duration(interval, field="--interval"), "5m")
        if escrow_ids:
            if not (below and amount and cap):
                raise click.UsageError("--escrow needs --below, --amount and --cap")
            policy = RunwayPolicy(
                above_zero("--below", below, parse_duration(below, field="--below"), "6h"),
                above_zero("--amount", amount, parse_amount(amount, field="--amount"), "'0.5 LNQ'"),
                above_zero("--cap", cap, parse_amount(cap, field="--cap"), "'5 LNQ'"),
            )
            policies.update({e.lower(): policy for e in escrow_ids})
        if stack:
            policies.update(_stack_policies(stack, project, devnet_dir))
    except UnitError:
        raise  # the one exit-code table words it (field, value, fix)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    if not policies:
        raise click.UsageError("nothing to guard: give --escrow … or a --stack whose deployments set autoTopUp")
    client = chain_client(
        devnet_dir, rpc, chain_id, addresses, keystore=keystore, password_file=password_file, signer=True
    )
    book = Ledger(ledger)
    while True:
        for action in guard_once(client, policies, book):
            click.echo(json.dumps(action, sort_keys=True))
        if once:
            return
        time.sleep(pause)
