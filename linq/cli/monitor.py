"""`linq status | logs | metrics | issues`: the requestor's dashboard in the terminal.

Where to look: --stack [PROJECT/]STACK reads the stack's `deployments` output from its Pulumi backend (the
devnet's with --devnet-dir or $LINQ_DEVNET_DIR, else $PULUMI_BACKEND_URL); or name one deployment (its
namespace follows the catalog's naming) or pass --namespace. The cluster: --kubeconfig, --devnet-dir's
kubeconfig, $KUBECONFIG, the default devnet's, ~/.kube/config; or, for `status` and `logs` with
--via-gateway, the requestor's key alone: each deployment's escrow names its provider, whose gateway (found on
chain) issues a fresh namespace-scoped token read through its /k8s proxy (linq.monitor.access). Escrows are
read live from the chain (--devnet-dir, or --rpc and --addresses) when reachable.

Exit codes (the one table: linq/cli/errors.py, docs/cli.md): 0 ok; 1 problems found (an issue, a deployment
not Running/Stopped, no log line matched); 2 bad usage, or a source (cluster, chain, Prometheus, Pulumi
backend) that cannot be reached.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from linq.cli.errors import EXIT_FAILED as EXIT_PROBLEMS
from linq.cli.errors import EXIT_OK, EXIT_SOURCE, CliError
from linq.cli.options import ADDRESSES, DEVNET_DIR, JSON, KEYSTORE, PASSWORD_FILE, RPC, F, echo_json
from linq.monitor import access, render, snapshot, status, targets
from linq.monitor import logs as log_reader
from linq.monitor import metrics as metric_reader
from linq.monitor.cluster import Cluster, default_kubeconfig
from linq.monitor.errors import InputError
from linq.monitor.escrow import parse_id, read_live
from linq.units import parse_duration


def _options(fn: F, specs: list[Callable[[F], F]]) -> F:
    for spec in reversed(specs):
        fn = spec(fn)
    return fn


def where_options(fn: F) -> F:
    return _options(
        fn,
        [
            click.option(
                "--namespace", "-n", default=None, help="The deployment's namespace (default: from its name)."
            ),
            click.option(
                "--kubeconfig",
                type=click.Path(dir_okay=False, path_type=Path),
                default=None,
                help="The provider cluster's kubeconfig (default: $KUBECONFIG, the devnet's, ~/.kube/config).",
            ),
            click.option("--context", default=None, help="Kubeconfig context (default: its current-context)."),
            DEVNET_DIR,
            JSON,
        ],
    )


def chain_options(fn: F) -> F:
    return _options(
        fn,
        [
            click.option("--stack", default=None, help="[PROJECT/]STACK whose `deployments` output to read."),
            click.option(
                "--project", default=None, help=f"Pulumi project of --stack (default: {targets.DEFAULT_PROJECT})."
            ),
            click.option(
                "--escrow", "escrow_id", default=None, help="The deployment's escrow id (one deployment only)."
            ),
            RPC,
            ADDRESSES,
            click.option(
                "--runway-threshold",
                default="2h",
                show_default=True,
                help="Warn when an escrow's runway is below this (e.g. 30m, 2h, 1d).",
            ),
        ],
    )


def gateway_options(fn: F) -> F:
    """--via-gateway and the requestor's key (`status`, `logs`)."""
    return _options(
        fn,
        [
            click.option(
                "--via-gateway",
                is_flag=True,
                help="Reach each deployment with the requestor's key alone: a fresh lease token from its "
                "provider's gateway (found on chain), read through the gateway. Needs --escrow or --stack.",
            ),
            KEYSTORE,
            PASSWORD_FILE,
        ],
    )


def _cluster(kubeconfig: Path | None, context: str | None, devnet_dir: Path | None) -> Cluster:
    return Cluster.from_kubeconfig(kubeconfig or default_kubeconfig(devnet_dir), context)


def _threshold(text: str) -> int:
    seconds = parse_duration(text, field="--runway-threshold")
    if seconds <= 0:
        raise InputError("--runway-threshold", text, "must be longer than zero", "use e.g. 2h")
    return seconds


def _escrow_reader(devnet_dir: Path | None, rpc: str | None, addresses: Path | None) -> status.EscrowReader:
    return lambda escrow_id: read_live(escrow_id, devnet_dir=devnet_dir, rpc_url=rpc, addresses=addresses)


def _targets(
    deployment: str | None,
    namespace: str | None,
    stack: str | None,
    project: str | None,
    escrow_id: str | None,
    devnet_dir: Path | None,
    cluster: Cluster | None,
) -> list[targets.Target]:
    if stack:
        if namespace:
            raise InputError(
                "--namespace",
                namespace,
                "cannot be combined with --stack",
                "the stack's outputs name each deployment's namespace; drop one of the two",
            )
        outputs = targets.read_stack_outputs(stack, project=project, devnet_dir=devnet_dir)
        found = targets.from_outputs(outputs, f"stack {stack}")
        if deployment:
            found = [t for t in found if t.name == deployment]
            if not found:
                raise InputError(
                    "DEPLOYMENT",
                    deployment,
                    f"is not a deployment of stack {stack}",
                    "see `linq status --stack` for its names",
                )
        if escrow_id:
            raise InputError(
                "--escrow", escrow_id, "cannot be combined with --stack", "the stack records each deployment's escrow"
            )
        return found
    if deployment or namespace:
        if escrow_id:
            parse_id(escrow_id)  # a malformed id is a usage error, not a chain that cannot be read
        return [targets.one(deployment, namespace, escrow_id)]
    if escrow_id:
        raise InputError("--escrow", escrow_id, "needs one deployment", "name the DEPLOYMENT or pass --namespace")
    if cluster is None:
        raise InputError("DEPLOYMENT", "", "is missing", "name the deployment with --escrow 0x…, or pass --stack")
    return targets.tenants(cluster)


def _gateway_targets(params: dict[str, Any], *, one: bool = False) -> list[targets.Target]:
    """The deployments --via-gateway reads, each with the escrow whose gateway to ask (`one`: exactly one)."""
    deployment, namespace, stack, project = (params[k] for k in ("deployment", "namespace", "stack", "project"))
    escrow_id, devnet_dir, kubeconfig, context = (
        params[k] for k in ("escrow_id", "devnet_dir", "kubeconfig", "context")
    )
    if kubeconfig or context or namespace:
        raise InputError(
            "--via-gateway",
            "on",
            "cannot be combined with --kubeconfig, --context or --namespace",
            "drop them: the gateway issues the credential and names the lease namespace",
        )
    if stack or not escrow_id:
        chosen = _targets(deployment, None, stack, project, escrow_id, devnet_dir, None)
    else:
        parse_id(escrow_id)
        chosen = [
            targets.Target(name=deployment or escrow_id[:10], namespace="", escrow_id=escrow_id, source="gateway")
        ]
    for target in chosen:
        if not target.escrow_id:
            raise InputError(
                "DEPLOYMENT",
                target.name,
                "has no escrow id to ask a gateway about",
                "pass --escrow 0x… (or use --kubeconfig for a provider you reach directly)",
            )
    if one and len(chosen) != 1:
        raise InputError(
            "DEPLOYMENT",
            deployment or "",
            f"names {len(chosen)} deployments",
            "name one deployment of the stack (see `linq status --stack`), or pass --escrow ID",
        )
    return chosen


def _placed(params: dict[str, Any]) -> list[tuple[targets.Target, Cluster]]:
    """Each chosen deployment with the cluster to read it from: the kubeconfig's, or its lease through the
    provider's gateway (--via-gateway). `params`: the command's own (status and logs name them alike)."""
    deployment, namespace, stack, project = (params[k] for k in ("deployment", "namespace", "stack", "project"))
    escrow_id, devnet_dir, kubeconfig, context = (
        params[k] for k in ("escrow_id", "devnet_dir", "kubeconfig", "context")
    )
    via_gateway = params["via_gateway"]
    if not via_gateway:
        cluster = _cluster(kubeconfig, context, devnet_dir)
        return [(t, cluster) for t in _targets(deployment, namespace, stack, project, escrow_id, devnet_dir, cluster)]
    placed = []
    for target in _gateway_targets(params):
        view = access.through_gateway(
            target.escrow_id,
            devnet_dir=devnet_dir,
            rpc_url=params["rpc"],
            addresses=params["addresses"],
            keystore=params["keystore"],
            password_file=params["password_file"],
        )
        lease = replace(target, namespace=view.namespace, provider=target.provider or view.provider)
        placed.append((lease, view.cluster))
    return placed


# ---- status ----------------------------------------------------------------------------------------------
@click.command("status")
@click.argument("deployment", required=False)
@where_options
@chain_options
@click.option("--prometheus", default=None, help="Prometheus URL of the provider's LPStack, for resource use.")
@gateway_options
def status_command(
    deployment,
    namespace,
    kubeconfig,
    context,
    devnet_dir,
    as_json,
    stack,
    project,
    escrow_id,
    rpc,
    addresses,
    runway_threshold,
    prometheus,
    via_gateway,
    keystore,
    password_file,
) -> None:
    """Every deployment of a stack (or one): state computed live from the cluster, endpoint, provider,
    resource use against the plan, escrow remaining and runway.

    \b
    Examples:
      linq status --stack apps/dev
      linq status chat --escrow 0x…          # one deployment by name, escrow read live
      linq status -n lq-chat-1a2b3c4d --kubeconfig provider.yaml --json
      linq status chat --escrow 0x… --via-gateway   # the requestor's key alone ($LINQ_PRIVATE_KEY)
    """
    threshold = _threshold(runway_threshold)
    placed = _placed(click.get_current_context().params)
    reader = _escrow_reader(devnet_dir, rpc, addresses)
    rows = [
        status.collect(cluster, t, read_live=reader, runway_threshold=threshold, prometheus=prometheus)
        for t, cluster in placed
    ]
    healthy = all(r.healthy for r in rows)
    if as_json:
        echo_json({"deployments": [r.to_json() for r in rows], "healthy": healthy})
    else:
        console = Console()
        if not rows:
            console.print("no deployments found (no tenant namespace on the cluster; try --stack)")
        else:
            console.print(render.status_view(rows, threshold), highlight=False)
        for note in render.status_notes(rows):
            console.print(f"• {note}", highlight=False, soft_wrap=True)
    sys.exit(EXIT_OK if healthy else EXIT_PROBLEMS)


# ---- issues ----------------------------------------------------------------------------------------------
@click.command("issues")
@click.argument("deployment", required=False)
@where_options
@chain_options
def issues_command(
    deployment,
    namespace,
    kubeconfig,
    context,
    devnet_dir,
    as_json,
    stack,
    project,
    escrow_id,
    rpc,
    addresses,
    runway_threshold,
) -> None:
    """Problems found automatically, each with a suggested fix: crash loops, OOM kills, image pull errors,
    pods pending for capacity, failing probes, escrow runway below --runway-threshold, an escrow ended
    while the workload still runs. Without DEPLOYMENT: every deployment of --stack, or every tenant
    namespace of the cluster. Exit 1 when any issue is found."""
    threshold = _threshold(runway_threshold)
    cluster = _cluster(kubeconfig, context, devnet_dir)
    chosen = _targets(deployment, namespace, stack, project, escrow_id, devnet_dir, cluster)
    reader = _escrow_reader(devnet_dir, rpc, addresses)
    rows = [status.collect(cluster, t, read_live=reader, runway_threshold=threshold, with_usage=False) for t in chosen]
    found = [i for r in rows for i in r.issues]
    if as_json:
        echo_json(
            {
                "issues": [i.to_json() for i in found],
                "checked": [r.target.name for r in rows],
                "states": {r.target.name: r.state for r in rows},
            }
        )
    elif found:
        Console().print(render.issues_view(found), highlight=False)
    else:
        click.echo(f"no issues in {len(rows)} deployment(s): {', '.join(r.target.name for r in rows) or '-'}")
    for row in rows:
        if row.escrow_note and row.target.escrow_id and not as_json:
            click.echo(f"note: {row.target.name}: {row.escrow_note}", err=True)
    sys.exit(EXIT_PROBLEMS if found else EXIT_OK)


# ---- logs ------------------------------------------------------------------------------------------------
@click.command("logs")
@click.argument("deployment", required=False)
@where_options
@click.option("--stack", default=None, help="[PROJECT/]STACK to find DEPLOYMENT's namespace in.")
@click.option("--project", default=None, help="Pulumi project of --stack.")
@click.option("--follow", "-f", is_flag=True, help="Keep streaming new lines until interrupted.")
@click.option("--since", default=None, help="Only lines newer than this (e.g. 10m, 1h, 90s).")
@click.option("--grep", default=None, help="Only lines whose text matches this regular expression.")
@click.option("--container", "-c", default=None, help="Only this container (default: every container).")
@click.option("--tail", type=click.IntRange(min=0), default=None, help="Only the last N lines (after --grep).")
@click.option("--previous", is_flag=True, help="The previous (crashed) instance of each container.")
@click.option("--timestamps", is_flag=True, help="Show each line's time.")
@click.option("--escrow", "escrow_id", default=None, help="The deployment's escrow id (for --via-gateway).")
@RPC
@ADDRESSES
@gateway_options
def logs_command(
    deployment,
    namespace,
    kubeconfig,
    context,
    devnet_dir,
    as_json,
    stack,
    project,
    follow,
    since,
    grep,
    container,
    tail,
    previous,
    timestamps,
    escrow_id,
    rpc,
    addresses,
    via_gateway,
    keystore,
    password_file,
) -> None:
    """Container logs of a deployment from the Kubernetes API (pods/log). --json prints one JSON object
    per line (pod, container, time, text). Exit 1 when --grep matched nothing. With --via-gateway (and
    --escrow or --stack) the requestor's key alone: the logs stream through the provider's gateway."""
    since_seconds = parse_duration(since, field="--since") if since else None
    if since_seconds == 0:
        raise InputError("--since", since, "must be longer than zero", "use e.g. 10m")
    query = log_reader.LogQuery(
        container=container,
        since_seconds=since_seconds,
        tail=tail,
        grep=log_reader.compile_grep(grep),
        follow=follow,
        previous=previous,
    )
    if not (deployment or namespace or (via_gateway and escrow_id)):
        raise InputError("DEPLOYMENT", "", "is missing", "name one deployment (or pass --namespace)")
    if escrow_id and not via_gateway:
        raise InputError("--escrow", escrow_id, "is only used with --via-gateway", "add --via-gateway or drop it")
    target, cluster = _placed(click.get_current_context().params)[0]
    snap = snapshot.take(cluster, target)
    multi = len(log_reader.streams(snap, container)) > 1

    def show(line: log_reader.LogLine) -> None:
        if as_json:
            click.echo(json.dumps(line.to_json()))
            return
        prefix = f"[{line.pod}/{line.container}] " if multi else ""
        stamp = f"{line.time} " if timestamps and line.time else ""
        click.echo(f"{prefix}{stamp}{line.text}")

    printed, failures = 0, []
    if follow:
        try:
            for item in log_reader.follow(cluster, snap, query):
                if isinstance(item, log_reader.StreamError):
                    failures.append(item)
                    click.echo(f"{item.pod}/{item.container}: {item.message}", err=True)
                else:
                    show(item)
                    printed += 1
        except KeyboardInterrupt:
            pass
    else:
        lines, failures = log_reader.read(cluster, snap, query)
        for failure in failures:
            click.echo(f"{failure.pod}/{failure.container}: logs not available: {failure.message}", err=True)
        for line in lines:
            show(line)
        printed = len(lines)
    if failures and not printed and len(failures) == len(log_reader.streams(snap, container)):
        raise CliError("no container's logs could be read (see above); the node serving them may be down", EXIT_SOURCE)
    sys.exit(EXIT_PROBLEMS if grep and not printed else EXIT_OK)


# ---- metrics ---------------------------------------------------------------------------------------------
@click.command("metrics")
@click.argument("deployment", required=False)
@where_options
@click.option("--stack", default=None, help="[PROJECT/]STACK to find DEPLOYMENT's namespace (and escrow) in.")
@click.option("--project", default=None, help="Pulumi project of --stack.")
@click.option(
    "--prometheus",
    default=None,
    help="Prometheus URL of the provider's LPStack (else the Kubernetes API: requests, limits, "
    "metrics.k8s.io when served).",
)
@click.option("--window", default="2m", show_default=True, help="Rate window for CPU and requests (PromQL).")
@click.option(
    "--escrow", "escrow_id", default=None, help="The deployment's escrow id (with --via-gateway; one deployment)."
)
@RPC
@ADDRESSES
@gateway_options
def metrics_command(
    deployment,
    namespace,
    kubeconfig,
    context,
    devnet_dir,
    as_json,
    stack,
    project,
    prometheus,
    window,
    escrow_id,
    rpc,
    addresses,
    via_gateway,
    keystore,
    password_file,
) -> None:
    """CPU, memory and request rate of a deployment, against what its plan requests and limits.

    \b
    Sources:
      --via-gateway (--escrow ID, or --stack S)  the provider's gateway, with the requestor's key alone
      --prometheus URL                           the provider's Prometheus (the provider's view)
      neither                                    the Kubernetes API (requests, limits, metrics.k8s.io)
    Exit 1 when the deployment has no running pod to measure."""
    window = metric_reader.check_window(window)
    if via_gateway:
        if prometheus:
            raise InputError(
                "--prometheus",
                prometheus,
                "cannot be combined with --via-gateway",
                "drop one: the gateway reads the provider's Prometheus for you",
            )
        (target,) = _gateway_targets(click.get_current_context().params, one=True)
        answer = access.metrics_through_gateway(
            target.escrow_id,
            window,
            devnet_dir=devnet_dir,
            rpc_url=rpc,
            addresses=addresses,
            keystore=keystore,
            password_file=password_file,
        )  # GatewayError: its own exit code by the table
        usage = metric_reader.Usage.from_json(answer)
        usage.deployment = target.name or usage.namespace
    else:
        if escrow_id:
            raise InputError(
                "--escrow", escrow_id, "is only used with --via-gateway", "add --via-gateway or drop --escrow"
            )
        if not (deployment or namespace):
            raise InputError(
                "DEPLOYMENT", "", "is missing", "name one deployment (or pass --namespace, or --escrow ID)"
            )
        cluster = _cluster(kubeconfig, context, devnet_dir)
        chosen = _targets(deployment, namespace, stack, project, None, devnet_dir, cluster)
        snap = snapshot.take(cluster, chosen[0])
        if not snap.namespace_exists:
            raise InputError(
                "DEPLOYMENT",
                chosen[0].name or chosen[0].namespace,
                f"has no namespace {chosen[0].namespace} on the cluster",
                "check the name (`linq status`), --namespace, or --kubeconfig",
            )
        usage = metric_reader.collect(cluster, snap, prometheus, window)
    running = any(p["phase"] == "Running" for p in usage.pods)
    if as_json:
        echo_json(usage.to_json())
    else:
        console = Console()
        console.print(
            f"{usage.deployment} ({usage.namespace}) — source: {usage.source}", highlight=False, soft_wrap=True
        )
        console.print(render.metrics_table(usage))
        console.print(render.pods_table(usage))
        for note in usage.notes:
            console.print(f"• {note}", highlight=False, soft_wrap=True)
    sys.exit(EXIT_OK if running else EXIT_PROBLEMS)
