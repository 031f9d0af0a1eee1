"""Run the provider playbooks with ansible-runner against an inventory (test hosts or a real one).

ansible-runner starts ansible-playbook through pexpect, which forks the calling process. A process that has run
a Pulumi engine holds gRPC threads and gRPC's fork handlers; a fork there restarts gRPC's poller in the child,
the child then closes every descriptor before exec, and the poller aborts the child ("epoll_wait error: Bad file
descriptor", rc -1, before Ansible starts). So the runner never runs in the caller's process: `run_playbook`
starts a fresh interpreter (`python -m linq.testhosts.playbook`, spawned with exec, no fork of a threaded
process), which runs ansible-runner and answers with one JSON object on stdout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from linq.tools import locate

PLAYBOOKS_DIR = locate.PROJECT_ROOT / "playbooks"


@dataclass
class PlaybookRun:
    playbook: str
    status: str
    rc: int
    stats: dict[str, dict[str, int]]
    stdout: str
    seconds: float
    failed_tasks: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "successful" and self.rc == 0

    def changed(self) -> dict[str, int]:
        """Changed-task count for every host the run touched (Ansible's stats list only non-zero ones)."""
        seen = {host for counts in self.stats.values() if isinstance(counts, dict) for host in counts}
        changed = self.stats.get("changed", {})
        return {host: int(changed.get(host, 0)) for host in sorted(seen)}

    def describe(self) -> str:
        """The failing tasks and the tail of the output, for an assertion message."""
        tail = "\n".join(self.stdout.splitlines()[-60:])
        return f"{self.playbook}: status={self.status} rc={self.rc} failed={self.failed_tasks}\n{tail}"


def run_playbook(
    playbook: str,
    inventory: Path,
    *,
    extravars: dict[str, Any] | None = None,
    check: bool = False,
    diff: bool = False,
    vault_password_file: Path | None = None,
    limit: str | None = None,
    tags: str | None = None,
    timeout: int = 900,
    project_dir: Path = PLAYBOOKS_DIR,
) -> PlaybookRun:
    """Run `playbook` (a file name in `project_dir`, playbooks/ by default) in a fresh interpreter and collect
    status, per-host stats and failed tasks. Safe to call from a process that runs Pulumi engines (see above)."""
    args = []
    if check:
        args.append("--check")
    if diff:
        args.append("--diff")
    if tags:
        args += ["--tags", tags]
    if vault_password_file is not None:
        args += ["--vault-password-file", str(vault_password_file)]
    request = {
        "playbook": playbook,
        "inventory": str(inventory),
        "extravars": extravars or {},
        "args": args,
        "limit": limit,
        "timeout": timeout,
        "project_dir": str(project_dir),
    }
    started = time.monotonic()
    try:
        child = subprocess.run(
            [sys.executable, "-m", __name__],
            input=json.dumps(request),
            text=True,
            capture_output=True,
            timeout=timeout + 60,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        return PlaybookRun(playbook, "timeout", -1, {}, str(expired.stdout or ""), time.monotonic() - started)
    try:
        answer = json.loads(child.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        # The runner process itself died: report its own output, never a bare rc.
        output = f"playbook runner exited {child.returncode}\n{child.stdout}\n{child.stderr}"
        return PlaybookRun(playbook, "failed", -1, {}, output, time.monotonic() - started)
    return PlaybookRun(**answer)


def _run_here(request: dict[str, Any]) -> PlaybookRun:
    """The ansible-runner call itself; runs only in the fresh interpreter that `run_playbook` starts."""
    import ansible_runner

    failed: list[str] = []

    def on_event(event: dict[str, Any]) -> bool:
        if event.get("event") in ("runner_on_failed", "runner_on_unreachable"):
            data = event.get("event_data", {})
            if not data.get("ignore_errors"):
                failed.append(f"{data.get('host')}: {data.get('task')}")
        return True

    # ansible-playbook must be the one in this interpreter's environment (the pinned ansible-core).
    env_path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    project_dir = Path(request["project_dir"])
    config = project_dir / "ansible.cfg"
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="linq-ansible-runner-") as private_dir:
        result = ansible_runner.run(
            private_data_dir=private_dir,
            project_dir=str(project_dir),
            playbook=request["playbook"],
            inventory=request["inventory"],
            extravars=request["extravars"],
            cmdline=" ".join(request["args"]) or None,
            limit=request["limit"],
            envvars={
                "PATH": env_path,
                **({"ANSIBLE_CONFIG": str(config)} if config.exists() else {}),
                "ANSIBLE_NOCOLOR": "true",
            },
            quiet=True,
            timeout=request["timeout"],
            event_handler=on_event,
        )
        stdout = result.stdout.read() if result.stdout else ""
        stats = dict(result.stats or {}) if result.status != "failed" or failed else {}
        status, rc = str(result.status), int(result.rc if result.rc is not None else -1)
    return PlaybookRun(
        playbook=request["playbook"],
        status=status,
        rc=rc,
        stats=stats,
        stdout=stdout,
        seconds=time.monotonic() - started,
        failed_tasks=failed,
    )


if __name__ == "__main__":
    print(json.dumps(asdict(_run_here(json.load(sys.stdin)))), flush=True)
