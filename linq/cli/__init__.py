"""The `linq` command line. Each area lives in its own module and registers its commands here."""

from __future__ import annotations

import importlib

import click

# One line per area: module under linq.cli that defines `commands: list[click.Command]`.
AREAS = [
    "catalog",
    "chain",
    "devnet",
    "image",
    "market",
    "lpstack",
    "agent",
    "monitor",
    "runway",
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="linq-toolkit")
def main() -> None:
    """LinqProtocol toolkit: escrows, providers, app deployments and the local devnet."""


for _area in AREAS:
    for _command in importlib.import_module(f"linq.cli.{_area}").commands:
        main.add_command(_command)
