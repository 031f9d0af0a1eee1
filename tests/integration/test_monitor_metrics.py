"""`linq metrics` (and the usage column of `linq status`) against real sources: a real Prometheus (Debian's
package) on loopback scraping a small exporter this test serves, whose counters grow with wall time as
cAdvisor's and Istio's do; and the Kubernetes API when no Prometheus is given."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from linq.devnet import Devnet
from linq.devnet.process import free_port
from tests.integration.test_monitor_support import deploy, linq, linq_json, running_pod, wait_for

pytestmark = pytest.mark.integration

CPU_CORES_PER_SECOND = 0.25  # the exporter's pod burns a quarter core
MEMORY_BYTES = 96 * 2**20 + 12_345
REQUESTS_PER_SECOND = 5.0
PROMETHEUS_TTL = "300"  # seconds: Prometheus stops itself even if the test is killed


class Exporter:
    """Serves /metrics for one pod of one namespace, plus series of another namespace that must be ignored."""

    def __init__(self, namespace: str, pod: str) -> None:
        self.namespace, self.pod, self.started = namespace, pod, time.monotonic()
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = exporter.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def render(self) -> str:
        elapsed = time.monotonic() - self.started
        ns, pod = self.namespace, self.pod
        return "\n".join(
            [
                "# TYPE container_cpu_usage_seconds_total counter",
                f'container_cpu_usage_seconds_total{{namespace="{ns}",pod="{pod}",container="custom"}} '
                f"{100 + CPU_CORES_PER_SECOND * elapsed}",
                f'container_cpu_usage_seconds_total{{namespace="{ns}",pod="{pod}",container="POD"}} {50 + elapsed}',
                f'container_cpu_usage_seconds_total{{namespace="other",pod="x",container="app"}} {7 * elapsed}',
                "# TYPE container_memory_working_set_bytes gauge",
                f'container_memory_working_set_bytes{{namespace="{ns}",pod="{pod}",container="custom"}} {MEMORY_BYTES}',
                'container_memory_working_set_bytes{namespace="other",pod="x",container="app"} 999999999',
                "# TYPE istio_requests_total counter",
                f'istio_requests_total{{destination_workload_namespace="{ns}",reporter="destination",response_code="200"}}'
                f" {REQUESTS_PER_SECOND * elapsed}",
                f'istio_requests_total{{destination_workload_namespace="{ns}",reporter="source",response_code="200"}}'
                f" {100 * elapsed}",
                "",
            ]
        )


@pytest.fixture(scope="module")
def measured(devnet: Devnet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """(deployment, namespace, Prometheus URL) with Prometheus already holding a few scrapes."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus is not installed: `apt-get install prometheus` (the setup script installs it)"
    name, namespace, api = deploy(devnet, "measured")
    pod = running_pod(api, namespace)
    assert pod is not None
    exporter = Exporter(namespace, pod["metadata"]["name"])
    folder = tmp_path_factory.mktemp("prometheus")
    config = folder / "prometheus.yml"
    config.write_text(
        json.dumps(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "scrape_configs": [
                    {"job_name": "lpstack-tenant", "static_configs": [{"targets": [f"127.0.0.1:{exporter.port}"]}]}
                ],
            }
        )
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (folder / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            "timeout",
            PROMETHEUS_TTL,
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def has_rate() -> bool:
            query = f'rate(container_cpu_usage_seconds_total{{namespace="{namespace}",container="custom"}}[10s])'
            address = f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": query})
            with urllib.request.urlopen(address, timeout=3) as response:  # noqa: S310 - loopback Prometheus
                return bool(json.loads(response.read())["data"]["result"])

        wait_for(lambda: _quiet(has_rate), what="Prometheus scraping the exporter", timeout=60, interval=0.5)
        # rate() divides by the whole window: the series must be older than the 10s window the tests use
        time.sleep(12)
        yield name, namespace, url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
        exporter.server.shutdown()


def _quiet(check: Callable[[], bool]) -> bool:  # Prometheus not listening yet is "not ready", not a failure
    try:
        return bool(check())
    except OSError:
        return False


def test_prometheus_cpu_memory_and_request_rate(devnet: Devnet, measured: tuple[str, str, str]) -> None:
    name, _namespace, url = measured
    code, usage = linq_json(
        "metrics", name, "--devnet-dir", str(devnet.state_dir), "--prometheus", url, "--window", "10s"
    )
    assert code == 0 and usage["source"] == f"prometheus {url}"
    assert 200 <= usage["cpu_millis"] <= 300  # 250m, give or take rate()'s extrapolation at the window's edges
    assert usage["memory_bytes"] == MEMORY_BYTES  # the gauge, exactly; the other namespace's series excluded
    assert 4.0 <= usage["requests_per_second"] <= 6.0  # reporter="destination" only
    assert list(usage["per_pod"]) == [p["name"] for p in usage["pods"]]
    assert usage["plan"]["cpu_request_millis"] == 250 and usage["plan"]["memory_limit_bytes"] == 256 * 2**20

    code, text, _ = linq("metrics", name, "--devnet-dir", str(devnet.state_dir), "--prometheus", url, "--window", "10s")
    assert code == 0 and "96.0Mi" in text and "256Mi" in text and "/s" in text

    code, status = linq_json("status", name, "--devnet-dir", str(devnet.state_dir), "--prometheus", url)
    assert code == 0 and status["deployments"][0]["usage"]["memory_bytes"] == MEMORY_BYTES


def test_kubernetes_api_fallback_without_prometheus(devnet: Devnet, measured: tuple[str, str, str]) -> None:
    name, namespace, _url = measured
    code, usage = linq_json("metrics", name, "--devnet-dir", str(devnet.state_dir))
    assert code == 0 and usage["source"] == "kubernetes API" and usage["namespace"] == namespace
    assert usage["cpu_millis"] is None and usage["memory_bytes"] is None  # the devnet serves no metrics.k8s.io
    assert any("metrics.k8s.io is not served" in note for note in usage["notes"])
    assert usage["plan"] == {
        "cpu_request_millis": 250,
        "cpu_limit_millis": 250,
        "memory_request_bytes": 256 * 2**20,
        "memory_limit_bytes": 256 * 2**20,
    }
    assert [(p["phase"], p["ready"]) for p in usage["pods"]] == [("Running", True)]


def test_unreachable_prometheus_is_exit_3_bad_window_2(devnet: Devnet, measured: tuple[str, str, str]) -> None:
    name, _namespace, url = measured
    code, _out, err = linq(
        "metrics", name, "--devnet-dir", str(devnet.state_dir), "--prometheus", f"http://127.0.0.1:{free_port()}"
    )
    assert code == 3 and "does not answer" in err
    code, _out, err = linq(
        "metrics", name, "--devnet-dir", str(devnet.state_dir), "--prometheus", url, "--window", "ten"
    )
    assert code == 2 and "--window 'ten'" in err
