"""What a provider's cluster refuses, checked on the manifests before any escrow is funded.

A tenant namespace enforces the Pod Security "baseline" level (linq/catalog/isolation.py): a pod that breaks
it is never created, and a deploy that waits for it would wait in vain with the escrow already funded. The
same rules are checked here, on the final manifests (after a stack's patches), plus what the stack itself
promises: no more replicas than the rendered workload has (the plan pays for those) and pinned images.

Baseline rules checked (Kubernetes Pod Security Standards): privileged containers, host namespaces
(hostNetwork / hostPID / hostIPC), hostPath volumes, host ports, and added capabilities outside the baseline
set. Each problem names the manifest, the field and the fix.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from linq.catalog.imageref import parse_image

# Capabilities the baseline level allows a container to add (Pod Security Standards, v1.33).
BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
POD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet")


def _pod_spec(manifest: dict[str, Any]) -> dict[str, Any] | None:
    if manifest.get("kind") == "Pod":
        return manifest.get("spec") or {}
    if manifest.get("kind") in POD_KINDS:
        return ((manifest.get("spec") or {}).get("template") or {}).get("spec") or {}
    return None


def _containers(pod: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for index, container in enumerate(pod.get(key) or []):
            yield f"{key}[{index}]", container


def pod_security_problems(manifest: dict[str, Any]) -> list[str]:
    """Baseline violations of one manifest's pod template, as 'field: problem; fix' sentences."""
    pod = _pod_spec(manifest)
    if pod is None:
        return []
    where = f"{manifest['kind']}/{manifest.get('metadata', {}).get('name', '?')}"
    problems = []
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(key):
            problems.append(
                f"{where} spec.{key}: true shares the node's namespace, which the provider's baseline "
                f"pod security refuses; remove {key}"
            )
    for volume in pod.get("volumes") or []:
        if "hostPath" in volume:
            problems.append(
                f"{where} volume {volume.get('name')!r}: hostPath mounts the node's disk, which the "
                "provider refuses; use a PersistentVolumeClaim (volumes: in the stack)"
            )
    for path, container in _containers(pod):
        security = container.get("securityContext") or {}
        if security.get("privileged"):
            problems.append(
                f"{where} {path}.securityContext.privileged: true is refused by the provider's "
                "baseline pod security; remove it (tenants never run privileged)"
            )
        added = set((security.get("capabilities") or {}).get("add") or []) - BASELINE_CAPABILITIES
        if added:
            problems.append(
                f"{where} {path}.securityContext.capabilities.add: {sorted(added)} are outside the "
                f"baseline set; add only {', '.join(sorted(BASELINE_CAPABILITIES))}"
            )
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                problems.append(
                    f"{where} {path}.ports hostPort {port['hostPort']} binds the node's port, which "
                    "the provider refuses; drop hostPort (the Service exposes the app)"
                )
    return problems


def stack_problems(rendered: list[dict[str, Any]], patched: list[dict[str, Any]]) -> list[str]:
    """What patches may not change: pod security (above), replicas beyond the rendered workload, unpinned images."""
    before = {(m["kind"], m["metadata"]["name"]): m for m in rendered}
    problems: list[str] = []
    for manifest in patched:
        problems += pod_security_problems(manifest)
        original = before.get((manifest["kind"], manifest["metadata"]["name"]))
        spec = manifest.get("spec") or {}
        if original is not None and "replicas" in spec:
            allowed = int((original.get("spec") or {}).get("replicas", 1))
            if int(spec["replicas"] or 0) > allowed:
                problems.append(
                    f"{manifest['kind']}/{manifest['metadata']['name']} spec.replicas: "
                    f"{spec['replicas']} is more than the {allowed} the plan pays for; choose a larger "
                    "plan or resources instead of adding replicas"
                )
        pod = _pod_spec(manifest)
        for path, container in _containers(pod or {}):
            try:
                parse_image(str(container.get("image", "")), field=f"{manifest['kind']} {path}.image")
            except ValueError as err:
                problems.append(str(err))
    return problems
