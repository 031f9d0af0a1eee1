"""Terminal views: the status table with its runway bars, the issues list, the metrics table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from rich.console import Group
from rich.table import Table
from rich.text import Text

from linq.monitor.issues import Issue
from linq.monitor.metrics import Usage
from linq.monitor.status import DeploymentStatus
from linq.protocol.figures import EscrowFigures
from linq.protocol.status import EscrowStatus
from linq.units import format_cpu, format_duration, format_lnq, format_mib_bytes

STATE_STYLE = {"Running": "green", "Stopped": "dim", "Pending": "yellow", "Errored": "bold red"}
BAR_WIDTH = 20


def runway_bar(escrow: EscrowFigures, threshold: int, width: int = BAR_WIDTH) -> Text:
    """remaining/deposited as a bar, coloured by runway against the warning threshold."""
    filled = (escrow.remaining * width + escrow.deposited // 2) // escrow.deposited if escrow.deposited else 0
    filled = min(max(filled, 1 if escrow.remaining else 0), width)
    style = "red" if escrow.runway < threshold else "yellow" if escrow.runway < 4 * threshold else "green"
    if not escrow.paid_through:
        style = "red"
    bar = Text("█" * filled, style=style)
    bar.append("░" * (width - filled), style="dim")
    percent = (escrow.remaining * 100 // escrow.deposited) if escrow.deposited else 0
    bar.append(f" {percent}%")
    return bar


def empties_at(escrow: EscrowFigures) -> str:
    if escrow.status == EscrowStatus.ACTIVE and escrow.end:
        return dt.datetime.fromtimestamp(escrow.end, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    if escrow.status == EscrowStatus.CREATED:
        return "not started (runway counts from start)"
    return escrow.status.lower()


def _usage(used: int | None, planned: int, render: Callable[[int], str]) -> str:
    return f"{render(used) if used is not None else '?'} / {render(planned) if planned else '-'}"


def status_view(rows: list[DeploymentStatus], threshold: int) -> Group:
    """One block per deployment: it fits an 80-column terminal, where a nine-column table would not."""
    blocks: list[Text] = []
    for row in rows:
        plan, usage, t = row.snap.plan(), row.usage, row.target
        cpu = _usage(usage.cpu_millis if usage else None, plan["cpu_request_millis"], format_cpu)
        memory = _usage(usage.memory_bytes if usage else None, plan["memory_request_bytes"], format_mib_bytes)
        block = Text()
        block.append(t.name, style="bold")
        block.append(f"  ● {row.state}", style=STATE_STYLE.get(row.state, ""))
        block.append(f"  {row.snap.ready}/{row.snap.desired} ready  {t.namespace}\n", style="dim")
        block.append(f"  {'endpoint':<9}", style="bold")
        block.append(f"{t.endpoint or '-'}\n")
        block.append(f"  {'provider':<9}", style="bold")
        block.append(f"{t.provider or '-'}\n")
        block.append(f"  {'use/plan':<9}", style="bold")
        block.append(f"cpu {cpu}   memory {memory}")
        if usage is None or usage.cpu_millis is None:
            block.append("   (use needs --prometheus)", style="dim")
        if row.escrow is not None:
            e = row.escrow
            block.append(f"\n  {'escrow':<9}", style="bold")
            block.append_text(runway_bar(e, threshold))
            block.append(f"  {e.status}")
            block.append(f"\n  {'funds':<9}", style="bold")
            block.append(f"{format_lnq(e.remaining)} left of {format_lnq(e.deposited)}")
            block.append(f"\n  {'runway':<9}", style="bold")
            block.append(f"{format_duration(e.runway)}  · empty: {empties_at(e)}")
        blocks.append(block)
    return Group(*blocks)


def status_notes(rows: list[DeploymentStatus]) -> list[str]:
    notes = []
    for row in rows:
        if row.state != "Running":
            notes.append(f"{row.target.name}: {row.state} — {row.why}")
        if row.escrow_note and row.target.escrow_id:
            notes.append(f"{row.target.name}: {row.escrow_note}")
        if row.escrow is not None and "stack" in row.escrow.source:
            notes.append(f"{row.target.name}: escrow figures are from {row.escrow.source}")
        errors = [i for i in row.issues if i.severity == "error"]
        if errors or any(i.severity == "warning" for i in row.issues):
            notes.append(f"{row.target.name}: {len(row.issues)} issue(s) — `linq issues {row.target.name}`")
    return notes


def issues_view(found: list[Issue]) -> Group:
    """One block per issue (problem and fix on their own lines read better than a wrapped table)."""
    blocks: list[Text] = [Text(f"{len(found)} issue(s)", style="bold")]
    for issue in found:
        style = "bold red" if issue.severity == "error" else "yellow"
        block = Text()
        block.append(f"{'✖' if issue.severity == 'error' else '!'} {issue.severity:<7} ", style=style)
        block.append(f"{issue.kind}", style="bold")
        block.append(f"  {issue.deployment} · {issue.subject}\n", style="dim")
        block.append("  problem: ", style="bold")
        block.append(issue.summary + "\n")
        block.append("  fix:     ", style="bold")
        block.append(issue.fix)
        blocks.append(block)
    return Group(*blocks)


def metrics_table(usage: Usage) -> Table:
    plan = usage.plan
    table = Table()
    table.add_column("metric")
    table.add_column("now", justify="right")
    table.add_column("requested", justify="right")
    table.add_column("limit", justify="right")
    cpu = format_cpu(usage.cpu_millis) if usage.cpu_millis is not None else "?"
    memory = format_mib_bytes(usage.memory_bytes) if usage.memory_bytes is not None else "?"
    rate = f"{usage.requests_per_second:g}/s" if usage.requests_per_second is not None else "?"
    table.add_row(
        "cpu", cpu, format_cpu(plan.get("cpu_request_millis", 0)), format_cpu(plan.get("cpu_limit_millis", 0))
    )
    table.add_row(
        "memory",
        memory,
        format_mib_bytes(plan.get("memory_request_bytes", 0)),
        format_mib_bytes(plan.get("memory_limit_bytes", 0)),
    )
    table.add_row("requests", rate, "-", "-")
    for label, value in (
        ("network in", usage.network_receive_bytes_per_second),
        ("network out", usage.network_transmit_bytes_per_second),
    ):
        if value is not None:
            table.add_row(label, f"{value:g} B/s", "-", "-")
    return table


def pods_table(usage: Usage) -> Table:
    table = Table(title="pods", title_justify="left")
    for column in ("pod", "phase", "ready", "restarts", "node", "cpu", "memory"):
        table.add_column(column, overflow="fold")
    for pod in usage.pods:
        use = usage.per_pod.get(pod["name"], {})
        cpu = format_cpu(use["cpu_millis"]) if "cpu_millis" in use else "?"
        memory = format_mib_bytes(use["memory_bytes"]) if "memory_bytes" in use else "?"
        table.add_row(
            pod["name"],
            pod["phase"],
            "yes" if pod["ready"] else "no",
            str(pod["restarts"]),
            pod["node"] or "-",
            cpu,
            memory,
        )
    return table
