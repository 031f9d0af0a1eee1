"""`linq provider agent`: the provider agent, as a command (see docs/agent.md).

linq/cli/provider.py adds it to the `linq provider` group. Exit codes: the one table (linq/cli/errors.py,
docs/cli.md); 0 done (--once: the pass had no failed action; loop: stopped by SIGTERM/SIGINT), 1 an action
failed in a --once pass, 5 the cluster (kubeconfig or API) is unusable.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from linq.chain import ChainClient, InputError, resolve_profile, resolve_signer
from linq.chain.signers import Signer, from_keystore
from linq.cli.errors import EXIT_FAILED, CliError
from linq.cli.options import provider_service_options
from linq.units import parse_amount, parse_duration

ENV_PROVIDER_ADDRESS = "LINQ_PROVIDER_ADDRESS"  # set by the LPStack: the wallet this cluster belongs to
ENV_WITHDRAW_INTERVAL = "LINQ_WITHDRAW_INTERVAL_SECONDS"  # set by the LPStack from agent.withdraw_interval_seconds
ENV_STATE_FILE = "LINQ_AGENT_STATE_FILE"
ENV_CLUSTER_NAME = "LINQ_CLUSTER_NAME"  # set by the LPStack; only logged


def _signer(
    profile_devnet: Path | None, keystore: Path | None, password_file: Path | None, dev_key_index: int | None
) -> Signer:
    if keystore and dev_key_index is not None:
        raise InputError("--dev-key-index", dev_key_index, "conflicts with --keystore", "pass only one of the two")
    if keystore:
        return from_keystore(keystore, password_file=password_file)
    if dev_key_index is not None:
        if profile_devnet is None:
            fix = "pass --devnet-dir, or a key ($LINQ_PRIVATE_KEY / --keystore) for other networks"
            raise InputError("--dev-key-index", dev_key_index, "only works on the devnet", fix)
        # through resolve_signer: a $LINQ_PRIVATE_KEY naming another account is a conflict, not a silent override
        return resolve_signer(
            dev_account=dev_key_index, dev_account_source="--dev-key-index", devnet_dir=profile_devnet
        )
    return resolve_signer(devnet_dir=profile_devnet)


def _default_state_file(devnet_dir: Path | None, chain_id: int, provider_address: str) -> Path:
    name = f"agent-{chain_id}-{provider_address.lower()}.json"
    if os.environ.get(ENV_STATE_FILE):
        return Path(os.environ[ENV_STATE_FILE])
    if devnet_dir is not None:
        return devnet_dir / "agent" / name
    # In the LPStack pod the root filesystem is read-only and /tmp is an emptyDir: the file is only a cache.
    return Path(os.environ.get("TMPDIR", "/tmp")) / "linq-agent" / name  # noqa: S108 - a cache, see docs/agent.md


def _duration(text: str, field: str, minimum: int) -> int:
    seconds = parse_duration(text, field=field)
    if seconds < minimum:
        raise InputError(field, text, f"is below {minimum} second(s)", f"give at least {minimum}s, e.g. 30s or 1h")
    return seconds


@click.command("agent")
@provider_service_options
@click.option("--context", "kube_context", default=None, help="Kubeconfig context (default: its current-context).")
@click.option("--interval", default="30s", show_default=True, help="Time between passes (e.g. 10s, 1m).")
@click.option("--once", is_flag=True, help="Run one reconcile pass and exit (for cron and tests).")
@click.option(
    "--withdraw-every", default=None, help=f"Chain time between withdrawals [default: ${ENV_WITHDRAW_INTERVAL} or 1h]."
)
@click.option(
    "--min-withdraw",
    default="1 wei",
    show_default=True,
    help="Leave an escrow's earnings for later while below this (e.g. 0.5 LNQ, 1000 wei).",
)
@click.option(
    "--decline-before",
    default="1h",
    show_default=True,
    help="Decline an escrow that still cannot start this long before its start window closes (full refund to "
    "the requestor, no reputation change; unanswered past the window it counts as cancelled).",
)
@click.option(
    "--state-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Cache file [default: ${ENV_STATE_FILE}, <devnet dir>/agent/, or $TMPDIR].",
)
def agent(
    devnet_dir,
    rpc,
    chain_id,
    addresses,
    keystore,
    password_file,
    dev_key_index,
    kubeconfig,
    kube_context,
    interval,
    once,
    withdraw_every,
    min_withdraw,
    decline_before,
    state_file,
) -> None:
    """Run the provider agent: start escrows when their workload is ready, withdraw, finalize, reclaim.

    Logs one JSON line per action on stdout (escrow id, tx hash); never a key.
    """
    from linq.agent import ActionLog, Agent, Cluster, ClusterError, Settings, run_forever, run_once

    pause = _duration(interval, "--interval", 1)
    withdraw_text = withdraw_every or os.environ.get(ENV_WITHDRAW_INTERVAL) or "1h"
    withdraw_field = "--withdraw-every" if withdraw_every else f"${ENV_WITHDRAW_INTERVAL}"
    every = _duration(withdraw_text, withdraw_field, 0)
    floor = parse_amount(min_withdraw, field="--min-withdraw")
    before = _duration(decline_before, "--decline-before", 0)

    profile = resolve_profile(devnet_dir=devnet_dir, rpc_url=rpc, chain_id=chain_id, addresses=addresses)
    signer = _signer(profile.devnet_dir, keystore, password_file, dev_key_index)
    expected = os.environ.get(ENV_PROVIDER_ADDRESS, "").strip()
    if expected and expected.lower() != signer.address.lower():
        raise InputError(
            f"${ENV_PROVIDER_ADDRESS}",
            expected,
            f"is not the signer's address {signer.address}",
            "give the agent the provider wallet's key, or fix the LPStack's provider_address",
        )
    if kubeconfig is None and not os.environ.get("KUBECONFIG") and profile.devnet_dir is not None:
        kubeconfig = profile.devnet_dir / "kubeconfig"
    cluster = Cluster.connect(kubeconfig, kube_context)  # ClusterConfigError: exit 5 by the table

    client = ChainClient(profile, signer)
    settings = Settings(
        withdraw_every=every,
        min_withdraw=floor,
        decline_before=before,
        state_file=state_file or _default_state_file(profile.devnet_dir, profile.chain_id, signer.address),
    )
    log = ActionLog()
    worker = Agent(client, cluster, settings, log)
    log.info(
        "agent-started",
        provider=signer.address,
        key_source=signer.source,
        chain_id=profile.chain_id,
        escrow_contract=client.escrow.address,
        cluster=cluster.where,
        cluster_name=os.environ.get(ENV_CLUSTER_NAME) or None,
        interval=pause,
        once=once,
        withdraw_every=every,
        min_withdraw=floor,
        state_file=str(settings.state_file),
    )
    if not once:
        run_forever(worker, pause)
        return
    try:
        report = run_once(worker)
    except ClusterError as err:
        log.error("pass-failed", detail=str(err))
        raise
    if not report.ok:
        raise CliError(f"{len(report.errors)} action(s) failed: " + "; ".join(report.errors), EXIT_FAILED)
