"""Shared by the monitor integration tests (no tests here): deploy a rendered app straight through the
devnet's Kubernetes API, put pods into the states a kubelet would report, and run the `linq` CLI."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from click.testing import CliRunner

from linq.catalog import DeploymentSpec, render
from linq.cli import main
from linq.devnet import Devnet
from linq.devnet.kubeapi import KubeAPI
from tests.waiting import wait_for

# kind -> (API prefix, plural, namespaced) for what the catalog renders
PATHS = {
    "Namespace": ("/api/v1", "namespaces", False),
    "ServiceAccount": ("/api/v1", "serviceaccounts", True),
    "ResourceQuota": ("/api/v1", "resourcequotas", True),
    "LimitRange": ("/api/v1", "limitranges", True),
    "Secret": ("/api/v1", "secrets", True),
    "ConfigMap": ("/api/v1", "configmaps", True),
    "Service": ("/api/v1", "services", True),
    "PersistentVolumeClaim": ("/api/v1", "persistentvolumeclaims", True),
    "NetworkPolicy": ("/apis/networking.k8s.io/v1", "networkpolicies", True),
    "Deployment": ("/apis/apps/v1", "deployments", True),
    "StatefulSet": ("/apis/apps/v1", "statefulsets", True),
}


def now_rfc3339(offset: float = 0.0) -> str:
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def deploy(
    devnet: Devnet, prefix: str, *, cpu_millis: int = 250, memory_mib: int = 256, wait_running: bool = True
) -> tuple[str, str, KubeAPI]:
    """Render a custom-image app as `linq render` would and create it; returns (name, namespace, api)."""
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    spec = DeploymentSpec.model_validate(
        {
            "name": name,
            "image": "ghcr.io/example/app:1.0.0",
            "ports": [{"name": "http", "containerPort": 8080}],
            "resources": {"cpuMillis": cpu_millis, "memoryMiB": memory_mib, "storageGiB": 0},
        }
    )
    api = KubeAPI.from_kubeconfig(devnet.kubeconfig)
    namespace = ""
    for manifest in render(spec):
        prefix_path, plural, namespaced = PATHS[manifest["kind"]]
        if manifest["kind"] == "Namespace":
            namespace = manifest["metadata"]["name"]
        where = f"/namespaces/{manifest['metadata']['namespace']}" if namespaced else ""
        api.post(f"{prefix_path}{where}/{plural}", manifest)
    if wait_running:
        wait_for(lambda: running_pod(api, namespace), what=f"a Running pod in {namespace}")
    return name, namespace, api


def pods(api: KubeAPI, namespace: str) -> list[dict[str, Any]]:
    return list(api.get(f"/api/v1/namespaces/{namespace}/pods")["items"])


def running_pod(api: KubeAPI, namespace: str) -> dict[str, Any] | None:
    return next((p for p in pods(api, namespace) if p["status"].get("phase") == "Running"), None)


def patch_status(api: KubeAPI, namespace: str, pod: str, status: dict[str, Any]) -> dict[str, Any]:
    """Write a pod's status as the kubelet does (the status subresource, a merge patch)."""
    result = api.request(
        "PATCH",
        f"/api/v1/namespaces/{namespace}/pods/{pod}/status",
        {"status": status},
        content_type="application/merge-patch+json",
    )
    return dict(result)


def not_ready_conditions(reason: str = "ContainersNotReady") -> list[dict[str, str]]:
    stamp = now_rfc3339()
    return [
        {"type": "Initialized", "status": "True", "lastTransitionTime": stamp},
        {"type": "Ready", "status": "False", "reason": reason, "lastTransitionTime": stamp},
        {"type": "ContainersReady", "status": "False", "reason": reason, "lastTransitionTime": stamp},
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": stamp},
    ]


def kubelet_event(api: KubeAPI, pod: dict[str, Any], reason: str, message: str, count: int = 1) -> None:
    """An Event as the kubelet records it (probe results are reported only this way)."""
    meta = pod["metadata"]
    api.post(
        f"/api/v1/namespaces/{meta['namespace']}/events",
        {
            "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
            "involvedObject": {
                "kind": "Pod",
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta["uid"],
                "apiVersion": "v1",
                "fieldPath": "spec.containers{custom}",
            },
            "reason": reason,
            "message": message,
            "type": "Warning",
            "count": count,
            "source": {"component": "kubelet", "host": pod["spec"].get("nodeName", "")},
            "firstTimestamp": now_rfc3339(-30 * count),
            "lastTimestamp": now_rfc3339(),
        },
    )


def linq(*args: str) -> tuple[int, str, str]:
    """Run the real CLI in-process; returns (exit code, stdout, stderr)."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def linq_json(*args: str) -> tuple[int, Any]:
    code, out, err = linq(*args, "--json")
    try:
        return code, json.loads(out)
    except json.JSONDecodeError as error:
        raise AssertionError(f"`linq {' '.join(args)} --json` printed no JSON (exit {code}): {out}{err}") from error
