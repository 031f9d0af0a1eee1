"""Problems found automatically in a deployment's snapshot and escrow, each with a suggested fix.

Kinds: crash-loop, oom-killed, image-pull, unschedulable, quota-exceeded, probe-failing, not-deployed,
runway-low, escrow-ended-still-running. Severity "error" makes the deployment Errored; "warning" is
something to act on before it becomes one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from linq.monitor.escrow import top_up_for
from linq.monitor.snapshot import Container, Pod, Snapshot
from linq.protocol.figures import EscrowFigures
from linq.protocol.status import EscrowStatus
from linq.units import format_duration, format_lnq

IMAGE_PULL_REASONS = frozenset({"ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull"})
CRASH_RESTARTS = 3  # restarts after which repeated failures count as a crash loop even between back-offs
RECENT = dt.timedelta(minutes=15)  # an OOM kill or a probe failure older than this is history, not an issue
PROBE_GRACE = dt.timedelta(seconds=60)  # running but not ready for this long = the readiness probe fails
DEFAULT_RUNWAY_THRESHOLD = 2 * 3600


@dataclass(frozen=True)
class Issue:
    kind: str
    severity: str  # error | warning
    deployment: str
    subject: str  # pod/container, escrow id, namespace
    summary: str
    fix: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _recent(moment: dt.datetime | None, now: dt.datetime) -> bool:
    return moment is not None and now - moment <= RECENT


def _container_issues(name: str, pod: Pod, c: Container, snap: Snapshot) -> list[Issue]:
    now, subject = snap.read_at, f"pod/{pod.name} container {c.name}"
    out: list[Issue] = []
    logs = f"linq logs {name} --container {c.name} --previous"
    if c.state == "waiting" and c.reason in IMAGE_PULL_REASONS:
        out.append(
            Issue(
                "image-pull",
                "error",
                name,
                subject,
                f"image {c.image} cannot be pulled ({c.reason}: {c.message or 'no detail'})",
                "check the image name and tag exist and are public, or give the provider pull access; "
                "pin a digest or tag that exists, then `pulumi up`",
                {"image": c.image, "reason": c.reason},
            )
        )
    oom_now = c.state == "terminated" and c.reason == "OOMKilled"
    oom_before = c.last_reason == "OOMKilled" and _recent(c.last_finished, now)
    if oom_now or oom_before:
        limit = f"{c.memory_limit_bytes // 2**20}Mi" if c.memory_limit_bytes else "no limit"
        out.append(
            Issue(
                "oom-killed",
                "error",
                name,
                subject,
                f"killed for using more memory than its limit ({limit}); restarted {c.restarts} time(s)",
                "choose a larger plan (linq:deployments[].plan, see `linq templates plans`) or raise "
                "resources.memory, then `pulumi up`",
                {"memory_limit_bytes": c.memory_limit_bytes, "restarts": c.restarts},
            )
        )
    crash_waiting = c.state == "waiting" and c.reason == "CrashLoopBackOff"
    crash_repeated = c.restarts >= CRASH_RESTARTS and c.last_exit_code not in (None, 0) and not oom_before
    if (crash_waiting or crash_repeated) and not oom_now:
        code = f"exit code {c.last_exit_code}" if c.last_exit_code is not None else "no exit code"
        why = f" ({c.last_reason})" if c.last_reason and c.last_reason != "Error" else ""
        out.append(
            Issue(
                "crash-loop",
                "error",
                name,
                subject,
                f"crash loop: restarted {c.restarts} time(s), last {code}{why}",
                f"read why it exits with `{logs}`; fix the command, env or secrets it needs, then "
                "`pulumi up` (set linq:deployments[].redeploy to force a rollout)",
                {"restarts": c.restarts, "last_exit_code": c.last_exit_code, "last_reason": c.last_reason},
            )
        )
    return out


def _probe_issue(name: str, pod: Pod, snap: Snapshot) -> Issue | None:
    """A probe fails when the kubelet says so (Unhealthy events), or a running container with a readiness
    probe stays not-ready past the grace period."""
    now = snap.read_at
    unhealthy = [
        e
        for e in snap.events
        if e.reason == "Unhealthy"
        and e.object_name == pod.name
        and e.object_kind == "Pod"
        and _recent(e.last_seen, now)
    ]
    stuck = [
        c
        for c in pod.containers
        if c.state == "running"
        and not c.ready
        and c.readiness_probe
        and c.since is not None
        and now - c.since >= PROBE_GRACE
    ]
    if not unhealthy and not stuck:
        return None
    probe = "liveness" if any("Liveness" in e.message for e in unhealthy) else "readiness"
    last = unhealthy[-1].message if unhealthy else f"container {stuck[0].name} running but not ready"
    return Issue(
        "probe-failing",
        "error" if probe == "liveness" else "warning",
        name,
        f"pod/{pod.name}",
        f"{probe} probe failing ({sum(e.count for e in unhealthy) or 1}x): {last}",
        "the app does not answer its health check: check the port and path of the template's probe, the "
        f"app's start-up time and its logs (`linq logs {name}`); a slow start needs a larger plan",
        {"probe": probe, "events": [e.message for e in unhealthy[-3:]]},
    )


def _scheduling_issue(name: str, pod: Pod) -> Issue | None:
    cond = pod.conditions.get("PodScheduled", {})
    if pod.phase != "Pending" or cond.get("status") != "False" or cond.get("reason") != "Unschedulable":
        return None
    message = cond.get("message", "")
    return Issue(
        "unschedulable",
        "error",
        name,
        f"pod/{pod.name}",
        f"pending: no node has room ({message})",
        "the provider's cluster lacks the capacity this plan asks for: choose a smaller plan, or move the "
        "deployment to a provider with free capacity (`linq providers match`), then `pulumi up`",
        {"scheduler": message},
    )


def _quota_issues(snap: Snapshot) -> list[Issue]:
    name = snap.target.name
    failed = [
        e
        for e in snap.events
        if e.reason == "FailedCreate" and "exceeded quota" in e.message and _recent(e.last_seen, snap.read_at)
    ]
    if not failed:
        return []
    return [
        Issue(
            "quota-exceeded",
            "error",
            name,
            f"{failed[-1].object_kind.lower()}/{failed[-1].object_name}",
            f"pods cannot be created: {failed[-1].message}",
            "the workload asks for more than its namespace quota (the plan): patch it back to the plan's "
            "resources or choose a larger plan, then `pulumi up`",
            {"event": failed[-1].message},
        )
    ]


def pod_issues(snap: Snapshot) -> list[Issue]:
    name = snap.target.name
    if not snap.namespace_exists:
        return [
            Issue(
                "not-deployed",
                "error",
                name,
                f"namespace/{snap.target.namespace}",
                f"namespace {snap.target.namespace} is not on the cluster",
                "deploy it with `pulumi up`, or check --kubeconfig points at the provider's cluster",
            )
        ]
    out: list[Issue] = []
    for pod in snap.pods:
        if pod.deleting:
            continue
        for container in pod.containers:
            out.extend(_container_issues(name, pod, container, snap))
        scheduling = _scheduling_issue(name, pod)
        if scheduling:
            out.append(scheduling)
        probe = _probe_issue(name, pod, snap)
        if probe:
            out.append(probe)
    return out + _quota_issues(snap)


def escrow_issues(snap: Snapshot, escrow: EscrowFigures | None, runway_threshold: int) -> list[Issue]:
    if escrow is None:
        return []
    name, out = snap.target.name, []
    running = [p.name for p in snap.pods if p.phase == "Running" and not p.deleting]
    subject = f"escrow {escrow.escrow_id}"
    if not escrow.paid_through and running:
        ended = "ran out" if escrow.status == EscrowStatus.ACTIVE else f"is {escrow.status}"
        out.append(
            Issue(
                "escrow-ended-still-running",
                "error",
                name,
                subject,
                f"escrow {ended} (end {escrow.end}, now {escrow.now}) but {len(running)} pod(s) still run unpaid",
                f"top it up to keep the app (`linq escrow top-up {escrow.escrow_id} AMOUNT`, "
                "only while not settled), or stop the deployment (state: stopped, `pulumi up`) "
                "or `pulumi destroy`",
                {"status": escrow.status, "running_pods": running},
            )
        )
    elif escrow.paid_through and escrow.runway < runway_threshold:
        want = runway_threshold * 12  # suggest enough for a day past the warning line, at the escrow's rate
        amount = top_up_for(escrow, want - escrow.runway)
        out.append(
            Issue(
                "runway-low",
                "warning",
                name,
                subject,
                f"escrow runway {format_duration(escrow.runway)} is below {format_duration(runway_threshold)}"
                f" ({format_lnq(escrow.remaining)} left at {format_lnq(escrow.rate_per_hour)}/h)",
                f"top up: `linq escrow top-up {escrow.escrow_id} '{amount} wei'` adds "
                f"{format_duration(want - escrow.runway)} (runway {format_duration(want)}); or enable the "
                "deployment's auto top-up policy",
                {"runway": escrow.runway, "threshold": runway_threshold, "suggested_top_up_wei": str(amount)},
            )
        )
    return out


def find(snap: Snapshot, escrow: EscrowFigures | None, runway_threshold: int = DEFAULT_RUNWAY_THRESHOLD) -> list[Issue]:
    return pod_issues(snap) + escrow_issues(snap, escrow, runway_threshold)
