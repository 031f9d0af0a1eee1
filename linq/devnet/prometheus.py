"""The devnet's Prometheus: Debian's `prometheus` on 127.0.0.1 scraping the real node's kubelet, so
`linq metrics` (and the gateway's tenant metrics) read real CPU and memory (docs/monitoring.md).

It scrapes the kubelet's HTTPS port (the node address, from the host through the node's veth) at
/metrics/cadvisor (per-container CPU, memory, network) and /metrics/resource (the kubelet's summary figures),
as the LPStack's kube-prometheus-stack does: every series gets `job="kubelet"` and a `metrics_path` label, so
the same queries work on both. It authenticates with a client certificate from the devnet CA (user
`linq:prometheus`, allowed `get nodes/metrics` and nothing else: the kubelet asks the API server by
SubjectAccessReview) and verifies the kubelet's serving certificate with the devnet CA.

Cheap on purpose: one process, a 5 s scrape interval, one hour of retention, data under
`<state>/prometheus` (wiped at each start). Started by `linq devnet up` after the real node, stopped by
`down` like every devnet process.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

from linq.devnet import kube, node, pki, process
from linq.devnet.kubeapi import KubeAPI

NAME = "prometheus"
USER = "linq:prometheus"  # the client certificate's user; RBAC: get nodes/metrics only
RULES = [{"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]}]
SCRAPE_INTERVAL = "5s"
RETENTION = "1h"
KUBELET_PORT = 10250
METRICS_PATHS = ("/metrics/cadvisor", "/metrics/resource")
START_TIMEOUT = 90.0


def binary() -> str:
    found = shutil.which("prometheus")
    if not found:
        raise RuntimeError(
            "prometheus is not installed: `make setup` installs Debian's package (apt-get install prometheus)"
        )
    return found


def scrape_config(node_ip: str, ca: Path, cert: Path, key: Path) -> dict:
    """One scrape job per kubelet path; both relabelled to job="kubelet" with a metrics_path label."""
    jobs = []
    for path in METRICS_PATHS:
        jobs.append(
            {
                "job_name": "kubelet" + path.replace("/metrics", "").replace("/", "-"),
                "scheme": "https",
                "metrics_path": path,
                "tls_config": {"ca_file": str(ca), "cert_file": str(cert), "key_file": str(key)},
                "static_configs": [{"targets": [f"{node_ip}:{KUBELET_PORT}"], "labels": {"node": node.NODE_NAME}}],
                "relabel_configs": [
                    {"target_label": "job", "replacement": "kubelet"},
                    {"source_labels": ["__metrics_path__"], "target_label": "metrics_path"},
                ],
                # cAdvisor's namespace/pod/container labels are the kubelet's, never the workload's: keep them
                "honor_labels": False,
            }
        )
    return {"global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": "30s"}, "scrape_configs": jobs}


def start(state_dir: Path, log_dir: Path, admin: Path) -> process.ProcessRecord:
    """Grant the scrape identity, write the configuration and start Prometheus; waits until it is ready."""
    state = node.read_state(state_dir)
    if state is None:
        raise RuntimeError("the devnet's Prometheus scrapes the real node, and none was started")
    layout = state.layout(state_dir)
    certs = kube.certificates(state_dir)
    folder = state_dir / NAME
    shutil.rmtree(folder / "data", ignore_errors=True)
    cert, key = pki.issue(certs, folder / "pki", "prometheus", common_name=USER)
    node._grant(KubeAPI.from_kubeconfig(admin), USER, RULES)
    config = folder / "prometheus.yml"
    config.write_text(json.dumps(scrape_config(layout.node_ip, certs["ca_cert"], cert, key), indent=2) + "\n")
    port = process.free_port()
    argv = [
        binary(),
        f"--config.file={config}",
        f"--storage.tsdb.path={folder / 'data'}",
        f"--storage.tsdb.retention.time={RETENTION}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    record = process.start(NAME, argv, log_dir, ports={"http": port})
    try:
        process.wait_until(lambda: ready(url_of(record)), what="Prometheus ready", timeout=START_TIMEOUT, record=record)
    except BaseException:
        process.stop(record)
        raise
    return record


def url_of(record: process.ProcessRecord) -> str:
    return f"http://127.0.0.1:{record.ports['http']}"


def ready(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/-/ready", timeout=3) as response:  # noqa: S310 - loopback
        return bool(response.status == 200)


def targets(url: str) -> list[dict]:
    """The scrape targets and their health (for `linq devnet status` and tests)."""
    with urllib.request.urlopen(f"{url}/api/v1/targets", timeout=5) as response:  # noqa: S310 - loopback
        return list(json.loads(response.read())["data"]["activeTargets"])
