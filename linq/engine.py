"""Running the real Pulumi engine offline against a devnet, through the Automation API.

The CLI binary, its plugins and the backend all come from the devnet and the tools cache; no plugin is
ever downloaded (PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION). Pulumi is imported lazily so the rest of
`linq` stays usable without it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from linq.devnet import Devnet
from linq.tools import locate

if TYPE_CHECKING:
    from pulumi import automation as auto


def engine_env(devnet: Devnet) -> dict[str, str]:
    """Environment for the engine and its plugins: devnet backend, offline switches, tool PATH."""
    env = locate.tool_path_env({})
    env.update(devnet.environment())
    # Dynamic providers run under this interpreter, which has the toolkit installed.
    env["PULUMI_PYTHON_CMD"] = sys.executable
    return env


def pulumi_command() -> auto.PulumiCommand:
    from pulumi import automation as auto

    cli = locate.require("pulumi")
    return auto.PulumiCommand(root=str(cli.parent.parent))


# gRPC shares connections between channels to the same address, process-wide. Inline programs run one engine
# after another in this process; when a new engine's resource monitor gets a port a finished engine used, the
# SDK's new channel inherits the dead connection in back-off and its first call fails UNAVAILABLE, which the SDK
# reports as "Resource monitor has terminated" (a CI failure once; reproduced with two plain gRPC servers on
# one port). A per-channel connection pool (a standard channel argument) removes the sharing.
_OWN_CONNECTIONS = ("grpc.use_local_subchannel_pool", 1)


def _own_grpc_connections() -> None:
    from pulumi.runtime import _grpc_settings

    if _OWN_CONNECTIONS not in _grpc_settings._GRPC_CHANNEL_OPTIONS:
        _grpc_settings._GRPC_CHANNEL_OPTIONS.append(_OWN_CONNECTIONS)


def inline_stack(
    devnet: Devnet,
    *,
    project: str,
    stack: str,
    program: Callable[[], None],
    work_dir: Path | None = None,
    config: dict[str, Any] | None = None,
) -> auto.Stack:
    """Create or select a stack whose program is a Python function in this process."""
    from pulumi import automation as auto

    _own_grpc_connections()

    settings = auto.ProjectSettings(
        name=project, runtime="python", backend=auto.ProjectBackend(url=devnet.environment()["PULUMI_BACKEND_URL"])
    )
    options = auto.LocalWorkspaceOptions(
        work_dir=str(work_dir) if work_dir else None,
        pulumi_home=devnet.environment()["PULUMI_HOME"],
        env_vars=engine_env(devnet),
        project_settings=settings,
        secrets_provider="passphrase",
        pulumi_command=pulumi_command(),
    )
    stack_ = auto.create_or_select_stack(stack_name=stack, project_name=project, program=program, opts=options)
    for key, value in (config or {}).items():
        stack_.set_config(key, value if isinstance(value, auto.ConfigValue) else auto.ConfigValue(str(value)))
    return stack_


def project_stack(devnet: Devnet, *, stack: str, work_dir: Path) -> auto.Stack:
    """Create or select a stack of the Pulumi project at `work_dir` (Pulumi.yaml), run by the CLI."""
    from pulumi import automation as auto

    options = auto.LocalWorkspaceOptions(
        work_dir=str(work_dir),
        pulumi_home=devnet.environment()["PULUMI_HOME"],
        env_vars=engine_env(devnet),
        secrets_provider="passphrase",
        pulumi_command=pulumi_command(),
    )
    return auto.create_or_select_stack(stack_name=stack, work_dir=str(work_dir), opts=options)


def backend_state_text(devnet: Devnet, project: str, stack: str) -> str:
    """Everything the file:// backend stored for a stack (current state, history, backups), as text.

    For leak scans: the Automation API's export_stack() decrypts secrets (`--show-secrets`), the files do not.
    """
    root = devnet.pulumi_dir / "backend" / ".pulumi"
    patterns = [
        (root / "stacks" / project, f"{stack}*"),
        (root / "history" / project / stack, "*"),
        (root / "backups" / project / stack, "*"),
    ]
    files = [p for folder, glob in patterns for p in sorted(folder.glob(glob)) if p.is_file()]
    texts = [p.read_text(errors="replace") for p in files]
    if not texts:
        raise FileNotFoundError(f"no state for {project}/{stack} under {root}")
    return "\n".join(texts)
