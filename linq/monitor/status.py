"""Everything `linq status` and `linq issues` show for a deployment, gathered in one pass."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from linq.catalog.names import ANNOTATION_ESCROW_ID, ANNOTATION_PROVIDER
from linq.monitor import issues as issue_rules
from linq.monitor import metrics, snapshot
from linq.monitor.cluster import Cluster
from linq.monitor.errors import MonitorError
from linq.monitor.escrow import from_snapshot
from linq.monitor.targets import Target
from linq.protocol.figures import EscrowFigures

EscrowReader = Callable[[str], EscrowFigures]


@dataclass
class DeploymentStatus:
    target: Target
    state: str
    why: str
    snap: snapshot.Snapshot
    escrow: EscrowFigures | None = None
    escrow_note: str = ""
    usage: metrics.Usage | None = None
    issues: list[issue_rules.Issue] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.state in ("Running", "Stopped") and not any(i.severity == "error" for i in self.issues)

    def to_json(self) -> dict[str, Any]:
        t = self.target
        return {
            "name": t.name,
            "namespace": t.namespace,
            "state": self.state,
            "why": self.why,
            "endpoint": t.endpoint,
            "provider": t.provider,
            "declared_state": t.declared_state,
            "replicas": {"desired": self.snap.desired, "ready": self.snap.ready},
            "plan": self.snap.plan(),
            "usage": self.usage.to_json() if self.usage else None,
            "escrow": self.escrow.to_json() if self.escrow else None,
            "escrow_note": self.escrow_note,
            "issues": [i.to_json() for i in self.issues],
        }


def escrow_for(target: Target, read_live: EscrowReader | None) -> tuple[EscrowFigures | None, str]:
    """Live figures when the chain answers; the stack's snapshot (said so) when it does not."""
    if not target.escrow_id:
        return None, "no escrow recorded for this deployment"
    if read_live is not None:
        try:
            return read_live(target.escrow_id), ""
        except MonitorError as err:
            if not target.escrow_snapshot:
                return None, f"escrow not read: {err}"
            return from_snapshot(target.escrow_snapshot), f"chain not reachable ({err}); figures from the stack"
    if target.escrow_snapshot:
        return from_snapshot(target.escrow_snapshot), "no network given; figures from the stack's last pulumi up"
    return None, "no network given to read the escrow"


def with_namespace_records(target: Target, snap: snapshot.Snapshot) -> Target:
    """Fill the escrow id and provider from the tenant namespace's annotations (AppDeployment writes them
    for the provider's agent) when the command line or the stack did not give them."""
    escrow_id = target.escrow_id or snap.annotations.get(ANNOTATION_ESCROW_ID, "")
    provider = target.provider or snap.annotations.get(ANNOTATION_PROVIDER, "")
    if (escrow_id, provider) == (target.escrow_id, target.provider):
        return target
    return replace(target, escrow_id=escrow_id, provider=provider)


def collect(
    cluster: Cluster,
    target: Target,
    *,
    read_live: EscrowReader | None,
    runway_threshold: int,
    prometheus: str | None = None,
    window: str = "2m",
    with_usage: bool = True,
) -> DeploymentStatus:
    snap = snapshot.take(cluster, target)
    target = with_namespace_records(target, snap)
    snap.target = target
    escrow, note = escrow_for(target, read_live)
    found = issue_rules.find(snap, escrow, runway_threshold)
    state, why = snapshot.live_state(
        snap, [i.summary for i in found if i.severity == "error" and i.kind not in ESCROW_KINDS]
    )
    usage = None
    if with_usage and snap.namespace_exists:
        try:
            usage = metrics.collect(cluster, snap, prometheus, window)
        except MonitorError as err:
            note = f"{note}; usage not read: {err}" if note else f"usage not read: {err}"
    return DeploymentStatus(target, state, why, snap, escrow, note, usage, found)


ESCROW_KINDS = frozenset({"runway-low", "escrow-ended-still-running"})
