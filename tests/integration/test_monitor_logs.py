"""`linq logs` against a real source: the API server's pods/log, proxied to kwok's kubelet server, which
reads CRI-format log files this test writes (kwok `Logs` objects say which file is which container's)."""

from __future__ import annotations

import datetime as dt
import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from linq.devnet import Devnet
from linq.devnet.kubeapi import KubeAPI
from tests.integration.test_monitor_support import deploy, linq, running_pod, wait_for

pytestmark = pytest.mark.integration


def cri_line(text: str, seconds_ago: float, stream: str = "stdout") -> str:
    moment = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds_ago)
    return f"{moment.strftime('%Y-%m-%dT%H:%M:%S.%f')}000Z {stream} F {text}\n"


def serve_logs(api: KubeAPI, namespace: str, pod: str, current: Path, previous: Path) -> None:
    api.post(
        f"/apis/kwok.x-k8s.io/v1alpha1/namespaces/{namespace}/logs",
        {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "Logs",
            "metadata": {"name": pod, "namespace": namespace},
            "spec": {
                "logs": [
                    {
                        "containers": ["custom"],
                        "logsFile": str(current),
                        "previousLogsFile": str(previous),
                        "follow": True,
                    }
                ]
            },
        },
    )


@pytest.fixture(scope="module")
def logged(devnet: Devnet, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    name, namespace, api = deploy(devnet, "logged")
    pod = running_pod(api, namespace)
    assert pod is not None
    folder = tmp_path_factory.mktemp("pod-logs")
    current, previous = folder / "current.log", folder / "previous.log"
    current.write_text(
        cri_line("booting v1.0.0", 7200)
        + cri_line("old error: disk full", 7100, "stderr")
        + cri_line("GET /health 200", 90)
        + cri_line("ERROR db timeout after 5s", 60, "stderr")
        + cri_line("GET /api/items 500", 30)
    )
    previous.write_text(cri_line("panic: missing DATABASE_URL", 600, "stderr"))
    serve_logs(api, namespace, pod["metadata"]["name"], current, previous)
    # kwok picks up the Logs object from its watch: wait until the API serves the file
    wait_for(lambda: linq("logs", name, "--devnet-dir", str(devnet.state_dir))[0] == 0, what="kwok serving the logs")
    return name, current


def _texts(devnet: Devnet, name: str, *extra: str) -> tuple[int, list[str]]:
    code, out, _err = linq("logs", name, "--devnet-dir", str(devnet.state_dir), "--json", *extra)
    return code, [json.loads(line)["text"] for line in out.splitlines() if line.strip()]


def test_all_lines_in_order_with_pod_container_and_time(devnet: Devnet, logged: tuple[str, Path]) -> None:
    name, _ = logged
    code, out, _ = linq("logs", name, "--devnet-dir", str(devnet.state_dir), "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["text"] for r in rows] == [
        "booting v1.0.0",
        "old error: disk full",
        "GET /health 200",
        "ERROR db timeout after 5s",
        "GET /api/items 500",
    ]
    assert {r["container"] for r in rows} == {"custom"} and all(r["pod"].startswith(name) for r in rows)
    assert rows == sorted(rows, key=lambda r: r["time"])
    code, plain, _ = linq("logs", name, "--devnet-dir", str(devnet.state_dir), "--timestamps")
    assert code == 0 and plain.splitlines()[-1].endswith("Z GET /api/items 500")


def test_since_grep_tail(devnet: Devnet, logged: tuple[str, Path]) -> None:
    name, _ = logged
    assert _texts(devnet, name, "--since", "10m") == (
        0,
        ["GET /health 200", "ERROR db timeout after 5s", "GET /api/items 500"],
    )
    assert _texts(devnet, name, "--grep", r"ERROR|\b500\b") == (0, ["ERROR db timeout after 5s", "GET /api/items 500"])
    assert _texts(devnet, name, "--grep", "(?i)error", "--tail", "1") == (0, ["ERROR db timeout after 5s"])
    assert _texts(devnet, name, "--tail", "2") == (0, ["ERROR db timeout after 5s", "GET /api/items 500"])
    assert _texts(devnet, name, "--since", "10m", "--grep", "disk") == (1, [])  # nothing matched: exit 1, like grep
    assert _texts(devnet, name, "--previous") == (0, ["panic: missing DATABASE_URL"])


def test_bad_container_and_regex_are_usage_errors(devnet: Devnet, logged: tuple[str, Path]) -> None:
    name, _ = logged
    code, _out, err = linq("logs", name, "--devnet-dir", str(devnet.state_dir), "--container", "sidecar")
    assert code == 2 and "--container 'sidecar'" in err and "['custom']" in err
    code, _out, err = linq("logs", name, "--devnet-dir", str(devnet.state_dir), "--grep", "([")
    assert code == 2 and "--grep '(['" in err
    code, _out, err = linq("logs", "no-such-app", "--devnet-dir", str(devnet.state_dir))
    assert code == 2 and "no-such-app" in err and "namespace" in err


def test_pod_without_a_log_source_says_so(devnet: Devnet) -> None:
    name, _namespace, _api = deploy(devnet, "silent")
    code, _out, err = linq("logs", name, "--devnet-dir", str(devnet.state_dir))
    assert code == 3 and "logs not available" in err and 'no logs found for container "custom"' in err


def test_follow_streams_new_lines(devnet: Devnet, logged: tuple[str, Path]) -> None:
    name, current = logged
    cli = Path(sys.executable).parent / "linq"
    proc = subprocess.Popen(
        [str(cli), "logs", name, "--devnet-dir", str(devnet.state_dir), "-f", "--tail", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.rstrip("\n")) for line in proc.stdout or []], daemon=True).start()
    try:
        assert lines.get(timeout=20) == "GET /api/items 500"  # the tail of what was there
        time.sleep(0.5)
        with current.open("a") as log:
            log.write(cri_line("GET /api/items 201 (new)", 0))
        assert lines.get(timeout=20) == "GET /api/items 201 (new)"
        assert proc.poll() is None  # still following
    finally:
        proc.terminate()
        proc.wait(timeout=10)
