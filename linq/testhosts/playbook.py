"""Run the provider playbooks with ansible-runner against an inventory (test hosts or a real one)."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ansible_runner

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
) -> PlaybookRun:
    """Run `playbook` (a file name in playbooks/) and collect status, per-host stats and failed tasks."""
    args = []
    if check:
        args.append("--check")
    if diff:
        args.append("--diff")
    if tags:
        args += ["--tags", tags]
    if vault_password_file is not None:
        args += ["--vault-password-file", str(vault_password_file)]
    failed: list[str] = []

    def on_event(event: dict[str, Any]) -> bool:
        if event.get("event") in ("runner_on_failed", "runner_on_unreachable"):
            data = event.get("event_data", {})
            if not data.get("ignore_errors"):
                failed.append(f"{data.get('host')}: {data.get('task')}")
        return True

    # ansible-playbook must be the one in this interpreter's environment (the pinned ansible-core).
    env_path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="linq-ansible-runner-") as private_dir:
        result = ansible_runner.run(
            private_data_dir=private_dir,
            project_dir=str(PLAYBOOKS_DIR),
            playbook=playbook,
            inventory=str(inventory),
            extravars=extravars or {},
            cmdline=" ".join(args) or None,
            limit=limit,
            envvars={
                "PATH": env_path,
                "ANSIBLE_CONFIG": str(PLAYBOOKS_DIR / "ansible.cfg"),
                "ANSIBLE_NOCOLOR": "true",
            },
            quiet=True,
            timeout=timeout,
            event_handler=on_event,
        )
        stdout = result.stdout.read() if result.stdout else ""
        stats = dict(result.stats or {}) if result.status != "failed" or failed else {}
        status, rc = str(result.status), int(result.rc if result.rc is not None else -1)
    return PlaybookRun(
        playbook=playbook,
        status=status,
        rc=rc,
        stats=stats,
        stdout=stdout,
        seconds=time.monotonic() - started,
        failed_tasks=failed,
    )
