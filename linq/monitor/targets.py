"""Which deployments to look at, and where each one lives.

Three ways in: a Pulumi stack's `deployments` output (read with `pulumi stack output --json`, the same
backend `pulumi up` wrote), one deployment by name or namespace, or every tenant namespace a cluster has.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linq.catalog.names import ANNOTATION_NAME, LABEL_TENANT_NAMESPACE, namespace_for
from linq.monitor.cluster import Cluster
from linq.monitor.errors import InputError, SourceUnavailable

DEFAULT_PROJECT = "linq"  # the repository's Pulumi.yaml


@dataclass(frozen=True)
class Target:
    name: str
    namespace: str
    endpoint: str = ""
    provider: str = ""
    declared_state: str = ""  # what the stack asked for at its last `pulumi up`
    escrow_id: str = ""
    escrow_snapshot: Mapping[str, Any] | None = None  # the stack's escrow figures as of its last `pulumi up`
    source: str = ""


def split_stack(stack: str, project: str | None) -> tuple[str, str]:
    """'STACK', 'PROJECT/STACK' or 'ORG/PROJECT/STACK' -> (project, stack)."""
    parts = stack.split("/")
    if len(parts) == 1 and parts[0]:
        return project or DEFAULT_PROJECT, parts[0]
    if len(parts) in (2, 3) and all(parts):
        return parts[-2], parts[-1]
    raise InputError("--stack", stack, "is not a stack name", "give STACK or PROJECT/STACK (e.g. apps/dev)")


def stack_env(devnet_dir: Path | None) -> dict[str, str]:
    """The Pulumi CLI's environment: the devnet's backend when there is one, else the caller's own."""
    from linq.devnet import Devnet, default_state_dir
    from linq.tools import locate

    env = locate.tool_path_env()
    explicit = devnet_dir or (Path(os.environ["LINQ_DEVNET_DIR"]) if os.environ.get("LINQ_DEVNET_DIR") else None)
    devnet = Devnet(explicit or default_state_dir())
    # An explicit devnet wins; else the caller's own backend, else the default devnet's.
    if ("PULUMI_BACKEND_URL" not in os.environ or explicit) and devnet.state_file.exists():
        env.update(devnet.environment())
    return env


def _pulumi_json(args: list[str], *, cwd: str | Path, devnet_dir: Path | None, fix: str) -> Any:
    """Run `pulumi ARGS --non-interactive` (JSON on stdout) in `cwd`; a failure names the command and `fix`."""
    from linq.tools import locate

    env = stack_env(devnet_dir)
    try:
        cli = str(locate.require("pulumi"))
    except locate.ToolMissing as err:
        raise SourceUnavailable(str(err)) from None
    done = subprocess.run(
        [cli, *args, "--non-interactive"], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        message = detail[-1] if detail else f"exit {done.returncode}"
        backend = env.get("PULUMI_BACKEND_URL", "the default backend")
        if "no stack named" in message:  # the backend answered: the name is wrong (bad input, not a dead source)
            raise InputError("--stack", args[args.index("--stack") + 1], f"is not on {backend} ({message})", fix)
        raise SourceUnavailable(f"`pulumi {' '.join(args[:2])}` failed on {backend}: {message}; {fix}")
    return json.loads(done.stdout or "{}")


def read_stack_outputs(stack: str, *, project: str | None = None, devnet_dir: Path | None = None) -> dict[str, Any]:
    """`pulumi stack output --json` of PROJECT/STACK (organization/ is the file backend's only org)."""
    project_name, stack_name = split_stack(stack, project)
    qualified = f"organization/{project_name}/{stack_name}"
    with tempfile.TemporaryDirectory(prefix="linq-status-") as cwd:  # no Pulumi.yaml: the name is qualified
        fix = (
            f"--stack {stack} ({qualified}): check the name (`pulumi stack ls`), --project, and --devnet-dir "
            "or $PULUMI_BACKEND_URL"
        )
        outputs = _pulumi_json(
            ["stack", "output", "--json", "--stack", qualified], cwd=cwd, devnet_dir=devnet_dir, fix=fix
        )
    return dict(outputs)


def read_stack_config(stack: str, *, project_dir: Path, devnet_dir: Path | None = None) -> dict[str, Any]:
    """The stack's config as the engine hands it to the program: `pulumi config --json --show-secrets`, run in
    the project directory, so secrets are decrypted by the stack's own secrets provider. Key -> value."""
    fix = (
        f"--stack {stack}: create the stack first (`pulumi stack init`), or check --project-dir ({project_dir}) "
        "and --devnet-dir"
    )
    entries = _pulumi_json(
        ["config", "--json", "--show-secrets", "--stack", stack], cwd=project_dir, devnet_dir=devnet_dir, fix=fix
    )
    # Structured YAML values come as objectValue; plain ones (JSON strings included) as value.
    return {key: entry.get("objectValue", entry.get("value")) for key, entry in entries.items()}


def from_outputs(outputs: Mapping[str, Any], source: str) -> list[Target]:
    deployments = outputs.get("deployments")
    if not isinstance(deployments, Mapping) or not deployments:
        raise InputError(
            "--stack",
            source,
            "has no `deployments` output",
            "run `pulumi up` on a stack built from components.stack_program",
        )
    targets = []
    for name, out in sorted(deployments.items()):
        escrow = out.get("escrow") if isinstance(out.get("escrow"), Mapping) else None
        escrow_id = str((escrow or {}).get("id") or (escrow or {}).get("escrow_id") or "")
        targets.append(
            Target(
                name=name,
                namespace=str(out.get("namespace") or namespace_for(name)),
                endpoint=str(out.get("endpoint") or ""),
                provider=str(out.get("provider") or ""),
                declared_state=str(out.get("state") or ""),
                escrow_id=escrow_id,
                escrow_snapshot=escrow,
                source=source,
            )
        )
    return targets


def one(name: str | None, namespace: str | None, escrow_id: str | None = None) -> Target:
    """A deployment named on the command line; its namespace follows the catalog's naming unless given."""
    if not name and not namespace:
        raise InputError("DEPLOYMENT", "", "is missing", "name the deployment, or pass --namespace NS (or --stack)")
    return Target(
        name=name or "",
        namespace=namespace or namespace_for(str(name)),
        escrow_id=escrow_id or "",
        source="command line",
    )


def tenants(cluster: Cluster) -> list[Target]:
    """Every tenant namespace of the cluster (label linq.network/tenant=true), named by its annotation."""
    out = []
    for ns in cluster.items("/api/v1/namespaces", {"labelSelector": f"{LABEL_TENANT_NAMESPACE}=true"}):
        meta = ns["metadata"]
        name = meta.get("annotations", {}).get(ANNOTATION_NAME) or meta["name"]
        out.append(Target(name=name, namespace=meta["name"], source=f"cluster {cluster.server}"))
    return sorted(out, key=lambda t: t.name)
