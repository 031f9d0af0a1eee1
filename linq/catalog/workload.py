"""Kubernetes objects of a container workload: Secret, ConfigMap, Deployment or StatefulSet, Service."""

from __future__ import annotations

import math
import re
from typing import Any

from linq.catalog.isolation import Manifest, cpu, gib, meta, mib
from linq.catalog.models import Health
from linq.catalog.resolve import Workload
from linq.catalog.spec import RenderOptions

_NOT_KEY = re.compile(r"[^-._a-zA-Z0-9]+")


def secret_name(workload_name: str) -> str:
    return f"{workload_name}-secrets"


def files_name(workload_name: str) -> str:
    return f"{workload_name}-files"


def file_key(mount_path: str) -> str:
    """A ConfigMap key for a mounted file, readable and unique per path."""
    return _NOT_KEY.sub("-", mount_path.strip("/")).strip("-.") or "file"


def secret(name: str, ns: str, labels: dict[str, str], data: dict[str, str]) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta(name, ns, labels),
        "type": "Opaque",
        "stringData": {k: data[k] for k in sorted(data)},
    }


def config_map(name: str, ns: str, labels: dict[str, str], w: Workload) -> Manifest:
    data = {file_key(f.mount_path): f.content for f in w.config_files}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(name, ns, labels),
        "data": {k: data[k] for k in sorted(data)},
    }


def _probes(health: Health) -> dict[str, Any]:
    if health.http is not None:
        check: dict[str, Any] = {"httpGet": {"path": health.http.path, "port": health.http.port}}
    else:
        check = {"tcpSocket": {"port": health.tcp}}
    period = 10
    return {
        # The startup probe holds liveness off until the app first answers (slow first boots:
        # migrations, model downloads); afterwards liveness restarts a hung app.
        "startupProbe": {
            **check,
            "periodSeconds": period,
            "timeoutSeconds": 5,
            "failureThreshold": math.ceil(health.startup_seconds / period),
        },
        "readinessProbe": {**check, "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3},
        "livenessProbe": {**check, "periodSeconds": 20, "timeoutSeconds": 5, "failureThreshold": 6},
    }


def container(name: str, w: Workload, options: RenderOptions) -> dict[str, Any]:
    size = w.resources
    amounts = {
        "cpu": cpu(size.cpu_millis),
        "memory": mib(size.memory_mib),
        "ephemeral-storage": gib(size.ephemeral_storage_gib),
    }
    if w.gpu_count:
        amounts[options.gpu_resource] = str(w.gpu_count)
    env: list[dict[str, Any]] = [
        # Secrets first: plain values may refer to them as $(NAME), which Kubernetes only expands
        # for variables defined earlier in the list.
        {"name": key, "valueFrom": {"secretKeyRef": {"name": secret_name(name), "key": key}}}
        for key in w.secret_data
    ]
    env += [{"name": key, "value": value} for key, value in w.env]
    mounts: list[dict[str, Any]] = [{"name": v.volume.name, "mountPath": v.volume.mount_path} for v in w.volumes]
    mounts += [
        {"name": "files", "mountPath": f.mount_path, "subPath": file_key(f.mount_path), "readOnly": True}
        for f in w.config_files
    ]
    capabilities: dict[str, Any] = {"drop": ["ALL"]}
    if w.security.add_capabilities:
        capabilities["add"] = list(w.security.add_capabilities)
    out: dict[str, Any] = {"name": w.app, "image": w.image, "imagePullPolicy": "IfNotPresent"}
    if w.command is not None:
        out["command"] = list(w.command)
    if w.args is not None:
        out["args"] = list(w.args)
    out["ports"] = [{"name": p.name, "containerPort": p.container_port, "protocol": p.protocol} for p in w.ports]
    if env:
        out["env"] = env
    # requests == limits: the tenant gets exactly its plan (Guaranteed QoS), nothing is oversold.
    out["resources"] = {"requests": dict(amounts), "limits": dict(amounts)}
    if mounts:
        out["volumeMounts"] = mounts
    out["securityContext"] = {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "capabilities": capabilities,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if w.health is not None:
        out.update(_probes(w.health))
    return out


def pod_template(name: str, w: Workload, labels: dict[str, str], options: RenderOptions) -> dict[str, Any]:
    pod_security: dict[str, Any] = {"seccompProfile": {"type": "RuntimeDefault"}}
    for key, value in (
        ("runAsUser", w.security.run_as_user),
        ("runAsGroup", w.security.run_as_group),
        ("fsGroup", w.security.fs_group),
    ):
        if value is not None:
            pod_security[key] = value
    if w.security.fs_group is not None:
        # Only re-own the volume when its root does not match already (fast restarts on big volumes).
        pod_security["fsGroupChangePolicy"] = "OnRootMismatch"
    spec: dict[str, Any] = {
        "serviceAccountName": name,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security,
        "terminationGracePeriodSeconds": 30,
        "containers": [container(name, w, options)],
    }
    if options.runtime_class:
        spec["runtimeClassName"] = options.runtime_class
    if w.gpu_count:
        spec["tolerations"] = [{"key": options.gpu_resource, "operator": "Exists", "effect": "NoSchedule"}]
        if w.gpu_model:
            spec["nodeSelector"] = {options.gpu_model_label: w.gpu_model}
    if w.config_files:
        spec["volumes"] = [{"name": "files", "configMap": {"name": files_name(name)}}]
    return {"metadata": {"labels": dict(labels)}, "spec": spec}


def workload(
    name: str,
    ns: str,
    labels: dict[str, str],
    selector: dict[str, str],
    annotations: dict[str, str],
    w: Workload,
    options: RenderOptions,
) -> Manifest:
    template = pod_template(name, w, labels, options)
    spec: dict[str, Any] = {"replicas": 1, "revisionHistoryLimit": 3, "selector": {"matchLabels": dict(selector)}}
    if w.kind == "Deployment":
        # Recreate: the quota holds exactly one pod's worth of the plan, so a surge pod would not fit.
        spec["strategy"] = {"type": "Recreate"}
        spec["template"] = template
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta(name, ns, labels, annotations),
            "spec": spec,
        }
    spec["serviceName"] = name
    spec["podManagementPolicy"] = "OrderedReady"
    spec["updateStrategy"] = {"type": "RollingUpdate"}
    spec["template"] = template
    claims = []
    for sized in w.volumes:
        claim_spec: dict[str, Any] = {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": gib(sized.size_gib)}},
        }
        if options.storage_class:
            claim_spec["storageClassName"] = options.storage_class
        claims.append({"metadata": {"name": sized.volume.name, "labels": dict(labels)}, "spec": claim_spec})
    spec["volumeClaimTemplates"] = claims
    # Keep the data when the StatefulSet is deleted or re-created (a redeploy); the namespace's
    # deletion at the end of the deployment removes it.
    spec["persistentVolumeClaimRetentionPolicy"] = {"whenDeleted": "Retain", "whenScaled": "Retain"}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": meta(name, ns, labels, annotations),
        "spec": spec,
    }


def service(
    name: str,
    ns: str,
    labels: dict[str, str],
    selector: dict[str, str],
    annotations: dict[str, str],
    ports: list[tuple[str, int, str]],
) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(name, ns, labels, annotations),
        "spec": {
            "type": "ClusterIP",
            "selector": dict(selector),
            "ports": [
                {"name": port_name, "port": number, "targetPort": port_name, "protocol": proto}
                for port_name, number, proto in ports
            ],
        },
    }
