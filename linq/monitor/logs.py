"""Container logs through the Kubernetes API's pods/log: since, tail, grep, per container, follow.

The API server fetches them from the node (on the devnet, kwok's kubelet server). Timestamps are always
requested so every line carries the time it was written; `--timestamps` only decides whether it is shown.
`--tail N` keeps the last N lines after `--grep` (when following, the API's tail is taken first).
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from linq.monitor.cluster import ApiError, Cluster
from linq.monitor.errors import InputError, MonitorError
from linq.monitor.snapshot import Snapshot


@dataclass(frozen=True)
class LogQuery:
    container: str | None = None
    since_seconds: int | None = None
    tail: int | None = None
    grep: re.Pattern[str] | None = None
    follow: bool = False
    previous: bool = False


@dataclass(frozen=True)
class LogLine:
    pod: str
    container: str
    time: str
    text: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class StreamError:
    pod: str
    container: str
    message: str


def compile_grep(pattern: str | None) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as err:
        raise InputError(
            "--grep",
            pattern,
            f"is not a regular expression ({err})",
            "escape special characters, e.g. 'error\\(' or use a simpler pattern",
        ) from None


def streams(snap: Snapshot, container: str | None) -> list[tuple[str, str]]:
    """(pod, container) pairs to read: pods placed on a node, every container or the one asked for."""
    if not snap.namespace_exists:
        raise InputError(
            "DEPLOYMENT",
            snap.target.name or snap.target.namespace,
            f"has no namespace {snap.target.namespace} on the cluster",
            "check the name (`linq status`), --namespace, or --kubeconfig",
        )
    placed = [p for p in snap.pods if p.node]
    if not placed:
        raise InputError(
            "DEPLOYMENT",
            snap.target.name or snap.target.namespace,
            "has no pod on a node yet",
            "see why with `linq issues`; logs exist once a pod is scheduled",
        )
    names = sorted({c.name for p in placed for c in p.containers})
    if container and container not in names:
        raise InputError("--container", container, "is not a container of this deployment", f"use one of {names}")
    return [(p.name, c.name) for p in placed for c in p.containers if container in (None, c.name)]


def _split(raw: str) -> tuple[str, str]:
    stamp, sep, text = raw.partition(" ")
    if sep and stamp[:4].isdigit() and "T" in stamp:
        return stamp, text
    return "", raw


def read_stream(
    cluster: Cluster, namespace: str, pod: str, container: str, query: LogQuery, *, server_tail: int | None
) -> Iterator[LogLine]:
    params: dict[str, str | int | bool | None] = {
        "container": container,
        "timestamps": True,
        "follow": query.follow or None,
        "sinceSeconds": query.since_seconds,
        "tailLines": server_tail,
        "previous": query.previous or None,
    }
    path = f"/api/v1/namespaces/{namespace}/pods/{pod}/log"
    for raw in cluster.lines(path, params, timeout=None if query.follow else cluster.timeout):
        if not raw:
            continue
        stamp, text = _split(raw)
        if query.grep is None or query.grep.search(text):
            yield LogLine(pod, container, stamp, text)


def read(cluster: Cluster, snap: Snapshot, query: LogQuery) -> tuple[list[LogLine], list[StreamError]]:
    """Everything asked for, without following: lines of all streams in time order, and per-stream errors."""
    lines: list[LogLine] = []
    errors: list[StreamError] = []
    server_tail = query.tail if query.grep is None else None
    for pod, container in streams(snap, query.container):
        try:
            got = list(read_stream(cluster, snap.target.namespace, pod, container, query, server_tail=server_tail))
        except ApiError as err:
            errors.append(StreamError(pod, container, err.message))
            continue
        lines.extend(got[-query.tail :] if query.tail is not None else got)
    lines.sort(key=lambda line: line.time)  # RFC 3339 with fixed-width nanoseconds sorts as text
    if query.tail is not None:
        lines = lines[-query.tail :] if query.tail else []
    return lines, errors


_DONE = object()


def follow(cluster: Cluster, snap: Snapshot, query: LogQuery) -> Iterator[LogLine | StreamError]:
    """Lines from every stream as they arrive (one reader thread per stream) until all streams close."""
    pairs = streams(snap, query.container)
    inbox: queue.Queue[object] = queue.Queue()

    def pump(pod: str, container: str) -> None:
        try:
            for line in read_stream(cluster, snap.target.namespace, pod, container, query, server_tail=query.tail):
                inbox.put(line)
        except MonitorError as err:
            inbox.put(StreamError(pod, container, getattr(err, "message", str(err))))
        except OSError as err:  # the connection dropped mid-stream
            inbox.put(StreamError(pod, container, f"stream closed: {err}"))
        finally:
            inbox.put(_DONE)

    for pod, container in pairs:
        threading.Thread(target=pump, args=(pod, container), daemon=True, name=f"logs-{pod}-{container}").start()
    open_streams = len(pairs)
    while open_streams:
        item = inbox.get()
        if item is _DONE:
            open_streams -= 1
            continue
        assert isinstance(item, LogLine | StreamError)
        yield item
