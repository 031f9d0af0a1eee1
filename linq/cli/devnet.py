"""`linq devnet up | down | status` (filled in by the Foundation work)."""

from __future__ import annotations

import click


@click.group()
def devnet() -> None:
    """The embedded local environment: anvil, a Kubernetes control plane, a file:// Pulumi backend."""


commands: list[click.Command] = [devnet]
