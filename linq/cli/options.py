"""The options every command shares, declared once: where the chain is (network), who signs (key) and how
results are printed (--json). Commands stack these decorators; their help text is the same everywhere."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from linq.chain import ChainClient, InputError, resolve_profile, resolve_signer
from linq.chain.signers import from_keystore
from linq.units import WEI_PER_LNQ, format_lnq, parse_amount

F = TypeVar("F", bound=Callable[..., Any])

DEVNET_DIR = click.option(
    "--devnet-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Local devnet state directory (default: $LINQ_DEVNET_DIR or .linq/devnet).",
)
RPC = click.option("--rpc", default=None, help="JSON-RPC URL of any chain, with --addresses (default: $LINQ_RPC_URL).")
CHAIN_ID = click.option("--chain-id", type=int, default=None, help="Expected chain id (checked against the node).")
ADDRESSES = click.option(
    "--addresses",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Address book JSON: chain_id, lnq, registry, escrow, deployed_block (default: $LINQ_ADDRESSES).",
)
KEYSTORE = click.option(
    "--keystore",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Encrypted JSON keystore (else $LINQ_PRIVATE_KEY).",
)
PASSWORD_FILE = click.option(
    "--password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File holding the keystore password (else $LINQ_KEYSTORE_PASSWORD).",
)
JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
DEV_KEY_INDEX = click.option(
    "--dev-key-index",
    type=int,
    default=None,
    help="Devnet only: sign with dev account N (1 is the devnet's own provider).",
)
KUBECONFIG = click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Provider cluster kubeconfig (default: $KUBECONFIG, the devnet's, or in-cluster).",
)
YES = click.option(
    "--yes",
    "-y",
    "yes",
    is_flag=True,
    help="Send without asking, whatever the amount (for scripts; see $LINQ_CONFIRM_ABOVE).",
)

# A move of LNQ above this asks first (docs/cli.md "Confirming money moves"); $LINQ_CONFIRM_ABOVE overrides it.
CONFIRM_ABOVE = 10 * WEI_PER_LNQ
CONFIRM_ABOVE_ENV = "LINQ_CONFIRM_ABOVE"


def stack(*options: Callable[[F], F]) -> Callable[[F], F]:
    """Apply options so they list in the order given."""

    def decorate(fn: F) -> F:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


def network_options(fn: F) -> F:
    """--devnet-dir, --rpc, --chain-id, --addresses (linq.chain.resolve_profile's inputs)."""
    return stack(DEVNET_DIR, RPC, CHAIN_ID, ADDRESSES)(fn)


def rpc_options(fn: F) -> F:
    """--rpc and --addresses alone, for commands that read any chain by URL."""
    return stack(RPC, ADDRESSES)(fn)


def key_options(fn: F) -> F:
    """--keystore, --password-file (else $LINQ_PRIVATE_KEY)."""
    return stack(KEYSTORE, PASSWORD_FILE)(fn)


def provider_service_options(fn: F) -> F:
    """The provider's long-running services (agent, gateway): network, key, --dev-key-index, --kubeconfig."""
    return stack(DEVNET_DIR, RPC, CHAIN_ID, ADDRESSES, KEYSTORE, PASSWORD_FILE, DEV_KEY_INDEX, KUBECONFIG)(fn)


def json_option(fn: F) -> F:
    return JSON(fn)


def yes_option(fn: F) -> F:
    """--yes: skip the confirmation of a large money move (confirm_money_move)."""
    return YES(fn)


def confirm_threshold() -> int:
    """Wei above which a money move asks first: $LINQ_CONFIRM_ABOVE ('0 LNQ' asks every time), else 10 LNQ."""
    text = os.environ.get(CONFIRM_ABOVE_ENV)
    return CONFIRM_ABOVE if text is None else parse_amount(text, field=f"${CONFIRM_ABOVE_ENV}")


def confirm_money_move(
    action: str, amount: int, figures: Callable[[], Sequence[tuple[str, str]]], *, yes: bool
) -> None:
    """Before sending `amount` wei: above the threshold, show what moves (`figures()`, read only then; on stderr,
    so --json stays clean) and ask; `--yes` skips the question. Without a terminal to ask and without --yes it
    refuses: nothing is sent."""
    threshold = confirm_threshold()
    if yes or amount <= threshold:
        return
    lines = [f"{action}:", *(f"  {key:<8} {value}" for key, value in figures())]
    click.echo("\n".join(lines), err=True)
    if not sys.stdin.isatty():
        raise InputError(
            "--yes",
            "not given",
            f"is needed to {action} ({format_lnq(amount)}, {amount} wei) without a terminal: it is above the "
            f"confirmation threshold {format_lnq(threshold)} (${CONFIRM_ABOVE_ENV}); nothing was sent",
            "check the figures above and run again with --yes, or run it in a terminal to answer the question",
        )
    if not click.confirm("Send it?", default=False, err=True):
        click.echo("Not sent: nothing moved.", err=True)
        raise click.exceptions.Exit(1)


def chain_client(
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
        key = (
            from_keystore(keystore, password_file=password_file)
            if keystore
            else resolve_signer(devnet_dir=profile.devnet_dir)
        )  # $LINQ_DEV_ACCOUNT needs the devnet's keys
    return ChainClient(profile, key)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))
