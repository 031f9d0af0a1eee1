"""`linq devnet up | down | status | env`."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from linq.cli.options import json_option
from linq.devnet import DEFAULT_TTL_SECONDS, Devnet, default_state_dir
from linq.devnet.kube import NodeSpec
from linq.devnet.localprovider import register_local_provider
from linq.tools.locate import ToolMissing
from linq.units import format_duration, parse_cpu, parse_duration, parse_memory

state_dir_option = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the devnet keeps its state and logs (default: $LINQ_DEVNET_DIR or ./.linq/devnet).",
)


def _devnet(state_dir: Path | None) -> Devnet:
    return Devnet(state_dir or default_state_dir())


@click.group()
def devnet() -> None:
    """The embedded local environment: anvil, a Kubernetes control plane, a file:// Pulumi backend."""


@devnet.command()
@state_dir_option
@click.option("--nodes", default=1, show_default=True, help="Number of fake (kwok) nodes.")
@click.option("--node-cpu", default="16", show_default=True, help="Allocatable CPU per node (cores, or 16000m).")
@click.option("--node-memory", default="64Gi", show_default=True, help="Allocatable memory per node.")
@click.option("--node-gpus", default=0, show_default=True, help="nvidia.com/gpu per node.")
@click.option("--gpu-model", default="", help="GPU model label for the nodes (e.g. nvidia-a100).")
@click.option("--no-kube", is_flag=True, help="Start only the chain (faster; no Kubernetes).")
@click.option(
    "--real-node/--no-real-node",
    default=None,
    help="Start one real node (kubelet, containerd) next to the kwok nodes [default: when root].",
)
@click.option(
    "--ttl",
    default=format_duration(DEFAULT_TTL_SECONDS),
    show_default=True,
    help="How long until the devnet stops itself (e.g. 90m, 6h, or seconds).",
)
def up(state_dir, nodes, node_cpu, node_memory, node_gpus, gpu_model, no_kube, real_node, ttl) -> None:
    """Start every part on loopback, each on a free port, and deploy the contracts."""
    console = Console(stderr=True)
    cpu, memory = parse_cpu(node_cpu, field="--node-cpu"), parse_memory(node_memory, field="--node-memory")
    ttl_seconds = parse_duration(ttl, field="--ttl")
    specs = [
        NodeSpec(name=f"lp-node-{i}", cpu_millis=cpu, memory_mib=memory, gpus=node_gpus, gpu_model=gpu_model)
        for i in range(nodes)
    ]
    net = _devnet(state_dir)
    try:
        net.up(
            nodes=specs,
            with_kube=not no_kube,
            real_node=real_node,
            ttl_seconds=ttl_seconds,
            progress=lambda m: console.print(f"[cyan]•[/] {m}"),
        )
        if not no_kube:  # the devnet's provider serves apps on the devnet's cluster: only with Kubernetes
            console.print("[cyan]•[/] registering the devnet's provider (dev account 1) on chain")
            console.print(f"  provider {register_local_provider(net.state_dir)} (`provider: local` in stacks/)")
    except (ToolMissing, RuntimeError, TimeoutError) as error:
        raise click.ClickException(str(error)) from error
    _print_status(net, as_json=False)
    console.print(f'\nUse it from a shell: [bold]eval "$(linq devnet env --state-dir {net.state_dir})"[/]')


@devnet.command()
@state_dir_option
def down(state_dir) -> None:
    """Stop everything the devnet started, and nothing else (state and logs are kept)."""
    stopped = _devnet(state_dir).down()
    click.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@devnet.command()
@state_dir_option
@json_option
def status(state_dir, as_json) -> None:
    """What runs where, and whether each part is healthy (exit code 1 if any part is down)."""
    net = _devnet(state_dir)
    healthy = _print_status(net, as_json=as_json)
    sys.exit(0 if healthy else 1)


@devnet.command()
def versions() -> None:
    """Each part of the devnet: its pinned version, where it comes from, whether it is installed."""
    from linq.devnet.parts import rows

    table = Table(title="devnet parts")
    for column in ("part", "pinned", "source", "installed"):
        table.add_column(column, overflow="fold")
    for row in rows():
        table.add_row(row["part"], row["pinned"], row["source"], row["installed"])
    Console().print(table)


@devnet.command()
@state_dir_option
def env(state_dir) -> None:
    """Shell `export` lines pointing pulumi, the toolkit and Kubernetes clients at the devnet."""
    from linq.tools.locate import tool_path_env

    net = _devnet(state_dir)
    variables = net.environment()
    variables["PATH"] = tool_path_env()["PATH"]
    for key, value in variables.items():
        click.echo(f"export {key}={shlex.quote(value)}")


def _print_status(net: Devnet, *, as_json: bool) -> bool:
    rows = net.status()
    healthy = bool(rows) and all(r["state"] == "healthy" for r in rows)
    if as_json:
        click.echo(json.dumps({"state_dir": str(net.state_dir), "healthy": healthy, "parts": rows}, indent=2))
        return healthy
    if not rows:
        click.echo(f"no devnet running from {net.state_dir}; start one with `linq devnet up`")
        return False
    table = Table(title=f"devnet {net.state_dir}")
    for column in ("part", "state", "pid", "where", "log"):
        table.add_column(column, overflow="fold")
    for row in rows:
        style = "green" if row["state"] == "healthy" else "red"
        table.add_row(row["part"], f"[{style}]{row['state']}[/]", row["pid"], row["where"], row["log"])
    Console().print(table)
    return healthy
