"""A throwaway PostgreSQL server from Debian's packages for the tests: initdb + postgres listening only on a
unix socket in a fresh directory, run as an unprivileged user (postgres refuses root: as root the server runs
as `nobody`), fsync off, removed afterwards. A missing server is a failure (the setup script installs it)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from tests.waiting import wait_for

USER = "linq"  # the database role initdb creates; trust auth on the private socket directory


def bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    assert found, "PostgreSQL is not installed: `apt-get install postgresql` (the setup script installs it)"
    return Path(found[-1]).parent


class ThrowawayPostgres:
    def __init__(self) -> None:
        self.bin = bin_dir()
        self.dir = Path(tempfile.mkdtemp(prefix="lqpg-", dir="/tmp"))  # short: the socket path is <= 107 bytes
        self.data = self.dir / "data"
        self.as_user: dict[str, Any] = {}
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.dir, nobody.pw_uid, nobody.pw_gid)
            self.as_user = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
        self.log = self.dir / "postgres.log"
        subprocess.run(
            [str(self.bin / "initdb"), "-D", str(self.data), "-U", USER, "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True,
            capture_output=True,
            cwd=self.dir,
            **self.as_user,
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"postgresql:///postgres?host={self.dir}&user={USER}"
        self.start()

    def start(self) -> None:
        argv = [str(self.bin / "postgres"), "-D", str(self.data), "-k", str(self.dir), "-c", "listen_addresses="]
        argv += ["-c", "fsync=off", "-c", "full_page_writes=off"]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=log, cwd=self.dir, **self.as_user)
        wait_for(self._ready, what=f"postgres in {self.dir} (log {self.log})", timeout=120)

    def _ready(self) -> bool:
        import psycopg

        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"postgres exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
        with psycopg.connect(self.url, connect_timeout=5) as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)

    def stop(self) -> None:
        """Fast shutdown (SIGINT) of the server this object started, by its pid."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
