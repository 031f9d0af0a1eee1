"""The `linq` command line: the whole command tree, composed here explicitly (no module attaches a command
to another's group when imported). Each command's module is named after it; errors leave through the one
exit-code table (linq/cli/errors.py, documented in docs/cli.md).

    linq escrow …      linq/cli/escrow.py          linq providers …   linq/cli/providers.py
    linq provider …    linq/cli/provider.py        linq estimate      linq/cli/estimate.py
      (provider agent: linq/cli/agent.py)          linq offer …       linq/cli/offer.py
    linq runway …      linq/cli/runway.py          linq devnet …      linq/cli/devnet.py
    linq image …       linq/cli/image.py           linq api …         linq/cli/api.py
    linq lpstack …     linq/cli/lpstack.py         linq render, templates: linq/cli/catalog.py
    linq status, logs, metrics, issues: linq/cli/monitor.py
"""

from __future__ import annotations

import click

from linq.cli import api, catalog, devnet, escrow, estimate, image, lpstack, monitor, offer, provider, providers, runway
from linq.cli.errors import LinqGroup

COMMANDS: list[click.Command] = [
    catalog.render_command,
    catalog.templates,
    escrow.escrow,
    provider.provider,
    devnet.devnet,
    image.image,
    providers.providers,
    estimate.estimate,
    offer.offer,
    lpstack.lpstack,
    monitor.status_command,
    monitor.logs_command,
    monitor.metrics_command,
    monitor.issues_command,
    runway.runway,
    api.api,
]


@click.group(cls=LinqGroup, commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="linq-toolkit")
def main() -> None:
    """LinqProtocol toolkit: escrows, providers, app deployments and the local devnet."""
