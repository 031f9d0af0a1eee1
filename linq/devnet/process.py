"""Starting, watching and stopping the devnet's server processes.

Each process runs in its own session (so a Ctrl-C in the caller's terminal does not kill it), logs to a
file, and is recorded with its pid and the kernel's start time for that pid; `stop` only signals a pid whose
start time still matches, so it never kills an unrelated process that reused the pid. (The command line is
no identity: it reads empty while a large binary is still being exec'd.)
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (callers retry on a lost race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ProcessRecord:
    name: str
    pid: int
    argv: list[str]
    log: str
    ports: dict[str, int] = field(default_factory=dict)
    started: int = 0  # /proc/<pid>/stat field 22, clock ticks after boot

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> ProcessRecord:
        return cls(**data)

    def alive(self) -> bool:
        stat = _proc_stat(self.pid)
        return stat is not None and stat[1] == self.started and stat[0] != "Z"  # a zombie has exited


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time) of a pid, or None if there is no such process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[19])


def start(
    name: str,
    argv: list[str],
    log_dir: Path,
    *,
    env: dict[str, str] | None = None,
    ports: dict[str, int] | None = None,
    cwd: Path | None = None,
    redact: tuple[str, ...] = (),
) -> ProcessRecord:
    """Start `argv` detached; values in `redact` (secrets on the command line) are not recorded."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    recorded = ["<redacted>" if arg in redact else arg for arg in argv]
    stat = _proc_stat(proc.pid)
    return ProcessRecord(
        name=name, pid=proc.pid, argv=recorded, log=str(log_path), ports=ports or {}, started=stat[1] if stat else -1
    )


def stop(record: ProcessRecord, *, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after `timeout`; only if the pid is still the process we started."""
    if not record.alive():
        return
    try:
        os.killpg(record.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not record.alive():
            _reap(record.pid)
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(record.pid, signal.SIGKILL)
    _reap(record.pid)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def log_tail(record: ProcessRecord, lines: int = 30) -> str:
    try:
        return "\n".join(Path(record.log).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_until(
    check: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    record: ProcessRecord | None = None,
    interval: float = 0.2,
) -> None:
    """Poll `check` until it is true; fail with the process's log tail if it dies or times out.

    Give generous timeouts: a healthy part returns at once, a dead one fails at once (its record), so the
    timeout only decides how long a slow, loaded machine is waited for (start-up under two busy processes on
    2 cores can take several times the quiet figure)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if record is not None and not record.alive():
            raise RuntimeError(f"{record.name} exited while waiting for {what}; log {record.log}:\n{log_tail(record)}")
        try:
            if check():
                return
        except Exception:  # noqa: S110 - not ready yet; the timeout reports the failure
            pass
        time.sleep(interval)
    tail = f"; log {record.log}:\n{log_tail(record)}" if record else ""
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{tail}")
