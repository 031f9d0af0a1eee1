"""Running passes: once (cron, tests) or every --interval until SIGTERM/SIGINT.

In the loop a failed pass (RPC down, API server restarting, a refused transaction) is logged and retried
at the next interval: the next pass starts again from chain and cluster state, so nothing is lost.
A signal ends the loop between passes, never in the middle of a send.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType

from linq.agent.cluster import ClusterError
from linq.agent.reconcile import Agent, PassReport
from linq.chain.errors import ChainError


def summary(report: PassReport) -> dict[str, object]:
    return {
        "block": report.block,
        "chain_time": report.now,
        "discovered": len(report.discovered),
        "started": len(report.started),
        "declined": len(report.declined),
        "withdrawn": str(sum(report.withdrawn.values())),
        "finalized": len(report.finalized),
        "namespaces_deleted": len(report.reclaimed),
        "waiting": len(report.waiting),
        "left_alone": len(report.left_alone),
        "errors": len(report.errors),
    }


def _eventful(report: PassReport) -> bool:
    return bool(
        report.discovered
        or report.started
        or report.declined
        or report.withdrawn
        or report.finalized
        or report.reclaimed
        or report.errors
    )


def run_once(agent: Agent) -> PassReport:
    report = agent.reconcile_once()
    agent.log.emit("pass", level="error" if report.errors else "info", **summary(report))
    return report


def run_forever(
    agent: Agent, interval: float, *, stop: threading.Event | None = None, install_signals: bool = True
) -> int:
    """Pass after pass until `stop` is set (SIGTERM / SIGINT set it); returns the number of passes."""
    stop = stop or threading.Event()
    restore: list[tuple[int, Callable[..., object] | int | None]] = []
    if install_signals:

        def _stop(signum: int, _frame: FrameType | None) -> None:
            agent.log.info("agent-stopping", signal=signal.Signals(signum).name)
            stop.set()

        for sig in (signal.SIGTERM.value, signal.SIGINT.value):
            restore.append((sig, signal.getsignal(sig)))
            signal.signal(sig, _stop)
        agent.log.info("agent-started", interval=interval)  # from here a SIGTERM stops it cleanly
    passes = 0
    try:
        while not stop.is_set():
            try:
                report = agent.reconcile_once()
                if _eventful(report):
                    agent.log.emit("pass", level="error" if report.errors else "info", **summary(report))
            except (ChainError, ClusterError) as err:
                agent.log.error("pass-failed", detail=str(err), retry_in=interval)
            passes += 1
            stop.wait(interval)
    finally:
        for sig, handler in restore:
            signal.signal(sig, handler)
    return passes
