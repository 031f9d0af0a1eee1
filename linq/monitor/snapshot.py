"""One read of a deployment's namespace (workloads, pods, events), and its state computed from it live.

States are the protocol's: Pending, Running, Stopped, Errored. They come from the cluster now, never from
what the stack recorded at its last `pulumi up`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from linq.monitor.cluster import ApiError, Cluster
from linq.monitor.targets import Target
from linq.units import kube_cpu_millis, kube_memory_bytes

WORKLOAD_PATHS = (
    ("Deployment", "/apis/apps/v1/namespaces/{ns}/deployments"),
    ("StatefulSet", "/apis/apps/v1/namespaces/{ns}/statefulsets"),
)


def parse_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Container:
    name: str
    image: str
    ready: bool
    restarts: int
    state: str  # running | waiting | terminated | unknown
    reason: str = ""
    message: str = ""
    exit_code: int | None = None
    since: dt.datetime | None = None  # when the current state began (running: startedAt)
    last_reason: str = ""  # of the previous termination
    last_exit_code: int | None = None
    last_finished: dt.datetime | None = None
    readiness_probe: bool = False
    liveness_probe: bool = False
    cpu_request_millis: int = 0
    cpu_limit_millis: int = 0
    memory_request_bytes: int = 0
    memory_limit_bytes: int = 0


@dataclass(frozen=True)
class Pod:
    name: str
    phase: str
    node: str
    created: dt.datetime | None
    deleting: bool
    containers: tuple[Container, ...]
    conditions: dict[str, dict[str, str]]  # type -> {status, reason, message, lastTransitionTime}

    @property
    def ready(self) -> bool:
        return self.conditions.get("Ready", {}).get("status") == "True"

    def condition_since(self, kind: str) -> dt.datetime | None:
        return parse_time(self.conditions.get(kind, {}).get("lastTransitionTime"))


@dataclass(frozen=True)
class Workload:
    kind: str
    name: str
    replicas: int
    ready: int
    cpu_request_millis: int  # per replica, from the pod template
    cpu_limit_millis: int
    memory_request_bytes: int
    memory_limit_bytes: int


@dataclass(frozen=True)
class Event:
    kind: str  # Normal | Warning
    reason: str
    message: str
    object_kind: str
    object_name: str
    count: int
    last_seen: dt.datetime | None


@dataclass
class Snapshot:
    target: Target
    namespace_exists: bool
    annotations: dict[str, str] = field(default_factory=dict)  # the namespace's (escrow id, provider)
    workloads: list[Workload] = field(default_factory=list)
    pods: list[Pod] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    read_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def desired(self) -> int:
        return sum(w.replicas for w in self.workloads)

    @property
    def ready(self) -> int:
        return sum(w.ready for w in self.workloads)

    def plan(self) -> dict[str, int]:
        """What the deployment asked for: requests and limits of every desired replica."""
        return {
            "cpu_request_millis": sum(w.cpu_request_millis * w.replicas for w in self.workloads),
            "cpu_limit_millis": sum(w.cpu_limit_millis * w.replicas for w in self.workloads),
            "memory_request_bytes": sum(w.memory_request_bytes * w.replicas for w in self.workloads),
            "memory_limit_bytes": sum(w.memory_limit_bytes * w.replicas for w in self.workloads),
        }


def _resources(container: dict[str, Any]) -> dict[str, int]:
    res = container.get("resources", {})
    req, lim = res.get("requests", {}), res.get("limits", {})
    return {
        "cpu_request_millis": kube_cpu_millis(req.get("cpu", lim.get("cpu", 0))),
        "cpu_limit_millis": kube_cpu_millis(lim.get("cpu", 0)),
        "memory_request_bytes": kube_memory_bytes(req.get("memory", lim.get("memory", 0))),
        "memory_limit_bytes": kube_memory_bytes(lim.get("memory", 0)),
    }


def _pod_template_totals(spec: dict[str, Any]) -> dict[str, int]:
    totals = dict.fromkeys(("cpu_request_millis", "cpu_limit_millis", "memory_request_bytes", "memory_limit_bytes"), 0)
    for container in spec.get("containers", []):
        for key, value in _resources(container).items():
            totals[key] += value
    return totals


def _container(spec: dict[str, Any], status: dict[str, Any] | None) -> Container:
    status = status or {}
    state_obj = status.get("state", {})
    state = next(iter(state_obj), "unknown") if state_obj else "unknown"
    detail = state_obj.get(state, {}) if state_obj else {}
    last = status.get("lastState", {}).get("terminated", {})
    since = detail.get("startedAt") or detail.get("finishedAt")
    return Container(
        name=spec["name"],
        image=str(spec.get("image", "")),
        ready=bool(status.get("ready")),
        restarts=int(status.get("restartCount", 0)),
        state=state,
        reason=str(detail.get("reason", "")),
        message=str(detail.get("message", "")),
        exit_code=detail.get("exitCode"),
        since=parse_time(since),
        last_reason=str(last.get("reason", "")),
        last_exit_code=last.get("exitCode"),
        last_finished=parse_time(last.get("finishedAt")),
        readiness_probe="readinessProbe" in spec,
        liveness_probe="livenessProbe" in spec,
        **_resources(spec),
    )


def pod_from_json(obj: dict[str, Any]) -> Pod:
    status = obj.get("status", {})
    by_name = {s["name"]: s for s in status.get("containerStatuses", [])}
    containers = tuple(_container(c, by_name.get(c["name"])) for c in obj["spec"].get("containers", []))
    conditions = {
        c["type"]: {k: str(c.get(k, "")) for k in ("status", "reason", "message", "lastTransitionTime")}
        for c in status.get("conditions", [])
    }
    meta = obj["metadata"]
    return Pod(
        name=meta["name"],
        phase=str(status.get("phase", "Unknown")),
        node=str(obj["spec"].get("nodeName", "")),
        created=parse_time(meta.get("creationTimestamp")),
        deleting="deletionTimestamp" in meta,
        containers=containers,
        conditions=conditions,
    )


def _event(obj: dict[str, Any]) -> Event:
    involved = obj.get("involvedObject", {})
    last = obj.get("lastTimestamp") or obj.get("eventTime") or obj["metadata"].get("creationTimestamp")
    series = obj.get("series") or {}
    return Event(
        kind=str(obj.get("type", "")),
        reason=str(obj.get("reason", "")),
        message=str(obj.get("message", "")),
        object_kind=str(involved.get("kind", "")),
        object_name=str(involved.get("name", "")),
        count=int(obj.get("count") or series.get("count") or 1),
        last_seen=parse_time(last),
    )


def take(cluster: Cluster, target: Target) -> Snapshot:
    ns = target.namespace
    try:
        namespace = cluster.get_optional(f"/api/v1/namespaces/{ns}")
    except ApiError as error:  # a lease token (through the gateway) reads inside its namespace, not the object
        if error.status != 403:
            raise
        namespace = {"metadata": {}}
    if namespace is None:
        return Snapshot(target, namespace_exists=False)
    snap = Snapshot(target, namespace_exists=True, annotations=dict(namespace["metadata"].get("annotations", {})))
    for kind, path in WORKLOAD_PATHS:
        for obj in cluster.items(path.format(ns=ns)):
            spec = obj.get("spec", {})
            status = obj.get("status", {})
            totals = _pod_template_totals(spec.get("template", {}).get("spec", {}))
            snap.workloads.append(
                Workload(
                    kind=kind,
                    name=obj["metadata"]["name"],
                    replicas=int(spec.get("replicas", 1)),
                    ready=int(status.get("readyReplicas", 0)),
                    **totals,
                )
            )
    snap.pods = sorted((pod_from_json(p) for p in cluster.items(f"/api/v1/namespaces/{ns}/pods")), key=lambda p: p.name)
    snap.events = [_event(e) for e in cluster.items(f"/api/v1/namespaces/{ns}/events")]
    return snap


def live_state(snap: Snapshot, error_reasons: list[str]) -> tuple[str, str]:
    """(state, why) from the snapshot and the error-severity issues found in it."""
    ns = snap.target.namespace
    if not snap.namespace_exists:
        return "Errored", f"namespace {ns} does not exist on the cluster (not deployed, or deleted)"
    if not snap.workloads:
        return "Errored", f"no Deployment or StatefulSet in namespace {ns}"
    if snap.desired == 0:
        running = [p.name for p in snap.pods if p.phase == "Running" and not p.deleting]
        if running:
            return "Pending", f"scaled to 0; {len(running)} pod(s) still stopping"
        return "Stopped", "scaled to 0 replicas"
    if error_reasons:
        return "Errored", "; ".join(error_reasons)
    if snap.ready >= snap.desired:
        return "Running", f"{snap.ready}/{snap.desired} ready"
    return "Pending", f"{snap.ready}/{snap.desired} ready"
