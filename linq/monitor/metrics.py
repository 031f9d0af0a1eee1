"""CPU, memory, network and request rate of a deployment: from Prometheus's HTTP API when the provider's LPStack
serves one (--prometheus URL; the provider gateway's /v1/metrics uses the same templates for a tenant, see
linq.gateway.metrics), else from the Kubernetes API (metrics.k8s.io when served; requests, limits and pod
status always).

Prometheus series are the ones the LPStack's kube-prometheus-stack, the devnet's Prometheus
(linq.devnet.prometheus) and Istio export: cAdvisor's container_cpu_usage_seconds_total,
container_memory_working_set_bytes and container_network_*_bytes_total, and istio_requests_total.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from linq.monitor.cluster import Cluster
from linq.monitor.errors import InputError, SourceUnavailable
from linq.monitor.snapshot import Snapshot
from linq.units import kube_cpu_millis, kube_memory_bytes

# The fixed query templates: the only PromQL this toolkit sends, for `linq metrics --prometheus` and for the
# provider gateway's tenant metrics (linq.gateway.metrics), which fills them with the namespace it owns for the
# escrow and never accepts PromQL from a requestor. {ns} and {window} are filled by `fill` (plain replacement of
# checked values: PromQL itself is full of braces). The kubelet's /metrics/resource repeats cAdvisor's container
# CPU and memory under the same names; kube-prometheus-stack (and the devnet's Prometheus) label each series with
# its metrics_path, so those copies are excluded and nothing is counted twice.
CADVISOR = 'namespace="{ns}",metrics_path!="/metrics/resource"'
CONTAINERS = CADVISOR + ',container!="",container!="POD"'
QUERIES = {
    "cpu": "sum by (pod) (rate(container_cpu_usage_seconds_total{" + CONTAINERS + "}[{window}]))",
    "memory": "sum by (pod) (container_memory_working_set_bytes{" + CONTAINERS + "})",
    "requests": 'sum(rate(istio_requests_total{destination_workload_namespace="{ns}",'
    'reporter="destination"}[{window}]))',
    "network_receive": "sum(rate(container_network_receive_bytes_total{" + CADVISOR + "}[{window}]))",
    "network_transmit": "sum(rate(container_network_transmit_bytes_total{" + CADVISOR + "}[{window}]))",
}
NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")  # a Kubernetes namespace name (DNS label)
WINDOW = re.compile(r"(\d+(ms|s|m|h|d|w|y))+")  # a PromQL range duration
LPSTACK_PROMETHEUS = "http://kps-prometheus.<monitoring namespace>.svc:9090"


@dataclass
class Usage:
    deployment: str
    namespace: str
    source: str
    cpu_millis: int | None = None
    memory_bytes: int | None = None
    requests_per_second: float | None = None
    network_receive_bytes_per_second: float | None = None
    network_transmit_bytes_per_second: float | None = None
    per_pod: dict[str, dict[str, int]] = field(default_factory=dict)
    plan: dict[str, int] = field(default_factory=dict)
    pods: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment,
            "namespace": self.namespace,
            "source": self.source,
            "cpu_millis": self.cpu_millis,
            "memory_bytes": self.memory_bytes,
            "requests_per_second": self.requests_per_second,
            "network_receive_bytes_per_second": self.network_receive_bytes_per_second,
            "network_transmit_bytes_per_second": self.network_transmit_bytes_per_second,
            "per_pod": self.per_pod,
            "plan": self.plan,
            "pods": self.pods,
            "notes": self.notes,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Usage:
        """The inverse of to_json (a gateway's answer); unknown keys (escrowId, window) are ignored."""
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})


class Prometheus:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise InputError(
                "--prometheus",
                url,
                "is not an HTTP(S) URL",
                f"pass the LPStack's Prometheus, e.g. {LPSTACK_PROMETHEUS} (port-forwarded)",
            )
        self.url = url.rstrip("/")
        self.timeout = timeout

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query's result vector ([{metric: {...}, value: [ts, "v"]}])."""
        address = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
        try:
            with urllib.request.urlopen(address, timeout=self.timeout) as response:  # noqa: S310 - user's URL
                body = json.loads(response.read())
        except urllib.error.HTTPError as error:
            body = json.loads(error.read() or b"{}") if error.code in (400, 422, 503) else {}
            if not body:
                raise SourceUnavailable(
                    f"--prometheus {self.url}: HTTP {error.code} for a query; "
                    "check the URL points at Prometheus's HTTP API"
                ) from None
        except (urllib.error.URLError, OSError) as error:
            raise SourceUnavailable(
                f"--prometheus {self.url} does not answer ({getattr(error, 'reason', error)}); check the URL "
                f"(the LPStack serves it at {LPSTACK_PROMETHEUS}) or leave the flag out for the Kubernetes API"
            ) from None
        if body.get("status") != "success":
            raise SourceUnavailable(f"--prometheus {self.url} refused the query {promql!r}: {body.get('error')}")
        return list(body["data"]["result"])


def _pod_rows(snap: Snapshot) -> list[dict[str, Any]]:
    return [
        {
            "name": p.name,
            "phase": p.phase,
            "ready": p.ready,
            "node": p.node,
            "restarts": sum(c.restarts for c in p.containers),
        }
        for p in snap.pods
    ]


def fill(name: str, namespace: str, window: str) -> str:
    """Template `name` for one namespace and window; both are checked here, whoever the caller is, so no value
    can close the matcher's quotes or add a selector."""
    if not NAMESPACE.fullmatch(namespace):
        raise InputError("namespace", namespace, "is not a Kubernetes namespace name", "give a DNS label")
    return QUERIES[name].replace("{ns}", namespace).replace("{window}", check_window(window))


def from_prometheus(prom: Prometheus, snap: Snapshot, window: str, source: str | None = None) -> Usage:
    ns = snap.target.namespace
    usage = Usage(snap.target.name, ns, source or f"prometheus {prom.url}", plan=snap.plan(), pods=_pod_rows(snap))
    cpu = prom.query(fill("cpu", ns, window))
    memory = prom.query(fill("memory", ns, window))
    requests = prom.query(fill("requests", ns, window))
    received = prom.query(fill("network_receive", ns, window))
    sent = prom.query(fill("network_transmit", ns, window))
    for row in cpu:
        usage.per_pod.setdefault(row["metric"].get("pod", ""), {})["cpu_millis"] = round(float(row["value"][1]) * 1000)
    for row in memory:
        usage.per_pod.setdefault(row["metric"].get("pod", ""), {})["memory_bytes"] = round(float(row["value"][1]))
    if cpu:
        usage.cpu_millis = sum(p.get("cpu_millis", 0) for p in usage.per_pod.values())
    else:
        usage.notes.append(f"no CPU series for namespace {ns} in the last {window} (no pod scraped yet?)")
    if memory:
        usage.memory_bytes = sum(p.get("memory_bytes", 0) for p in usage.per_pod.values())
    else:
        usage.notes.append(f"no memory series for namespace {ns}")
    if requests:
        usage.requests_per_second = round(float(requests[0]["value"][1]), 3)
    else:
        usage.notes.append("no request series (istio_requests_total): the app had no traffic through the mesh")
    if received:
        usage.network_receive_bytes_per_second = round(float(received[0]["value"][1]), 1)
    if sent:
        usage.network_transmit_bytes_per_second = round(float(sent[0]["value"][1]), 1)
    return usage


def from_kubernetes(cluster: Cluster, snap: Snapshot) -> Usage:
    ns = snap.target.namespace
    usage = Usage(snap.target.name, ns, "kubernetes API", plan=snap.plan(), pods=_pod_rows(snap))
    served = cluster.get_optional(f"/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods")
    if served is None:
        usage.notes.append(
            "metrics.k8s.io is not served by this cluster: CPU and memory use are unknown; "
            "pass --prometheus URL for the LPStack's Prometheus"
        )
    else:
        usage.source = "metrics.k8s.io"
        for item in served.get("items", []):
            pod = item["metadata"]["name"]
            containers = item.get("containers", [])
            usage.per_pod[pod] = {
                "cpu_millis": sum(kube_cpu_millis(c["usage"].get("cpu", 0)) for c in containers),
                "memory_bytes": sum(kube_memory_bytes(c["usage"].get("memory", 0)) for c in containers),
            }
        usage.cpu_millis = sum(p["cpu_millis"] for p in usage.per_pod.values())
        usage.memory_bytes = sum(p["memory_bytes"] for p in usage.per_pod.values())
    usage.notes.append(f"request rate needs Prometheus with Istio metrics (--prometheus, {LPSTACK_PROMETHEUS})")
    return usage


def collect(cluster: Cluster, snap: Snapshot, prometheus: str | None, window: str = "2m") -> Usage:
    if prometheus:
        return from_prometheus(Prometheus(prometheus), snap, window)
    return from_kubernetes(cluster, snap)


def check_window(window: str) -> str:
    """A PromQL range duration such as 30s, 2m, 1h."""
    if not WINDOW.fullmatch(window):
        raise InputError("--window", window, "is not a PromQL duration", "use e.g. 30s, 2m or 1h")
    return window
