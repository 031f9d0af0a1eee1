"""Test hosts: a network namespace + mount/pid/uts/ipc namespaces + an overlay rootfs + sshd, per host.

Each host is:
- a network namespace `lqth<run><i>` joined to the root namespace by a veth pair on its own /30;
- a process tree started with `unshare --mount --uts --ipc --pid --fork` inside that network namespace, which
  sets the hostname, mounts an overlayfs (the cached Debian rootfs below, the host's own upper directory
  above), /proc, /sys, a minimal /dev and /run, then chroots and execs sshd as PID 1 of the pid namespace;
- a generated ed25519 host key (pinned in a known_hosts file, so the client checks it strictly) and the run's
  client key in the login user's authorized_keys.

Everything the host mounts lives in its private mount namespace, so the kernel unmounts it when PID 1 dies;
killing PID 1 kills the rest of the pid namespace. Teardown kills sshd, deletes the network namespace (which
takes the veth pair with it) and removes the run directory, then checks nothing is left.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from linq.testhosts import addressing, rootfs
from linq.testhosts.inventory import write_inventory

SSH_PORT = 22
NETNS_PREFIX = "lqth"
READY_TIMEOUT_S = 20.0


class TestHostError(RuntimeError):
    __test__ = False  # not a pytest test class, despite the name


@dataclass(frozen=True)
class Host:
    name: str
    address: str
    port: int
    user: str
    key_path: Path
    known_hosts: Path
    netns: str
    upper: Path  # the host's writable layer, seen from outside (files the host wrote, at their paths)
    pid: int  # the unshare process whose child is the host's PID 1

    def ssh_argv(self, *command: str) -> list[str]:
        return [
            "ssh",
            "-i",
            str(self.key_path),
            "-p",
            str(self.port),
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=5",
            f"{self.user}@{self.address}",
            *command,
        ]

    def run(self, command: str, *, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run a shell command on the host over real SSH."""
        done = subprocess.run(self.ssh_argv(command), text=True, capture_output=True, timeout=timeout, check=False)
        if check and done.returncode != 0:
            raise TestHostError(f"{self.name}: `{command}` exited {done.returncode}: {done.stderr.strip()}")
        return done


class HostList(list[Host]):
    """The hosts of one run, plus where the run keeps its inventory and keys."""

    def __init__(self, hosts: list[Host], run_dir: Path, inventory: Path) -> None:
        super().__init__(hosts)
        self.run_dir = run_dir
        self.inventory = inventory


@contextmanager
def test_hosts(
    n: int,
    *,
    groups: dict[str, list[int]] | None = None,
    base_dir: Path | None = None,
    cache: Path | None = None,
) -> Iterator[HostList]:
    """Start `n` SSH test hosts; yield them (with an Ansible inventory written); tear everything down.

    `groups` maps an inventory group to host indexes, e.g. {"servers": [0], "agents": [1]}.
    """
    if n < 1:
        raise ValueError(f"n={n}: ask for at least one test host")
    if os.geteuid() != 0:
        raise TestHostError("test hosts need root (ip netns, unshare, mount): run the tests as root")
    lower = rootfs.ensure_rootfs(cache).path
    run_id = secrets.token_hex(3)
    run_dir = Path(tempfile.mkdtemp(prefix=f"linq-testhosts-{run_id}-", dir=base_dir))
    run_dir.chmod(0o755)
    started: list[Host] = []
    with ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, run_dir, True)
        key_path = _client_key(run_dir)
        known_hosts = run_dir / "known_hosts"
        known_hosts.touch()
        cleanup.callback(_close_ssh_masters, run_dir / "cp")  # Ansible's ControlPersist masters (local processes)
        # Held until every sshd is up: another run sweeping stale namespaces must not see ours half-built,
        # and must not pick our /30 blocks.
        with addressing.allocation_lock(rootfs.cache_root() / "addresses.lock"):
            remove_stale_namespaces()
            links = addressing.free_links(n, addressing.addresses_in_use())
            for index, link in enumerate(links):
                netns, veth = f"{NETNS_PREFIX}{run_id}{index}", f"lq{run_id}{index}"
                cleanup.callback(_delete_netns, netns, f"{veth}r")
                _make_netns(netns, link, veth)
                name = f"lqhost{index}"
                host_dir = run_dir / "hosts" / name
                upper = _seed_upper(host_dir, name, key_path, known_hosts, link.host_side)
                pid = _start_host(name, netns, lower, host_dir, link.host_side)
                cleanup.callback(_stop_host, pid, host_dir)
                user = rootfs.LOGIN_USER
                started.append(Host(name, link.host_side, SSH_PORT, user, key_path, known_hosts, netns, upper, pid))
            for host in started:
                _wait_ready(host, host_dir=run_dir / "hosts" / host.name)
        inventory = write_inventory(run_dir / "inventory.yml", started, groups or {}, control_dir=run_dir / "cp")
        yield HostList(started, run_dir, inventory)


test_hosts.__test__ = False  # type: ignore[attr-defined]  # a fixture helper, not a pytest test


# ---- keys ----------------------------------------------------------------------------------------------
def _keygen(path: Path, comment: str) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path.with_suffix(".pub").read_text().strip()


def _client_key(run_dir: Path) -> Path:
    key = run_dir / "id_ed25519"
    _keygen(key, "linq-testhosts-client")
    return key


# ---- network -------------------------------------------------------------------------------------------
def _ip(*argv: str) -> None:
    done = subprocess.run(["ip", *argv], text=True, capture_output=True, check=False)
    if done.returncode != 0:
        raise TestHostError(f"`ip {' '.join(argv)}` failed: {done.stderr.strip()}")


def _make_netns(netns: str, link: addressing.Link, veth: str) -> None:
    _ip("netns", "add", netns)
    root_if, host_if = f"{veth}r", f"{veth}h"
    _ip("link", "add", root_if, "type", "veth", "peer", "name", host_if, "netns", netns)
    _ip("addr", "add", f"{link.root_side}/30", "dev", root_if)
    _ip("link", "set", root_if, "up")
    _ip("-n", netns, "link", "set", "lo", "up")
    _ip("-n", netns, "addr", "add", f"{link.host_side}/30", "dev", host_if)
    _ip("-n", netns, "link", "set", host_if, "up")


def remove_stale_namespaces() -> list[str]:
    """Delete test-host network namespaces no process lives in (left by a killed run); return their names.

    A live test host always has its sshd inside, so an empty namespace is never one a running run uses.
    """
    removed = []
    for path in sorted(Path("/run/netns").glob(f"{NETNS_PREFIX}*")):
        pids = subprocess.run(["ip", "netns", "pids", path.name], capture_output=True, text=True, check=False)
        if pids.returncode == 0 and not pids.stdout.strip():
            subprocess.run(["ip", "netns", "delete", path.name], capture_output=True, check=False)
            removed.append(path.name)
    return removed


def _delete_netns(netns: str, root_if: str) -> None:
    # Deleting the namespace destroys its end of the veth pair, and with it the root end, but the kernel
    # does that in the background: wait for the root end to go, so "no leftovers" holds on return.
    if Path("/run/netns", netns).exists():
        subprocess.run(["ip", "netns", "delete", netns], capture_output=True, check=False)
    deadline = time.monotonic() + 15
    while Path("/sys/class/net", root_if).exists():
        if time.monotonic() > deadline:
            subprocess.run(["ip", "link", "delete", root_if], capture_output=True, check=False)
            break
        time.sleep(0.05)


# ---- the host's filesystem -----------------------------------------------------------------------------
def _seed_upper(host_dir: Path, name: str, client_key: Path, known_hosts: Path, address: str) -> Path:
    """Pre-populate the overlay's upper layer: hostname, host key, the login user's authorized_keys."""
    upper = host_dir / "upper"
    for sub in ("upper", "work", "root"):
        (host_dir / sub).mkdir(parents=True)
    upper.chmod(0o755)  # the merged / takes its mode from here
    etc = upper / "etc"
    (etc / "ssh").mkdir(parents=True)
    etc.chmod(0o755)
    (etc / "hostname").write_text(f"{name}\n")
    (etc / "hosts").write_text(f"127.0.0.1 localhost\n{address} {name}\n")
    host_key = _keygen(etc / "ssh" / "ssh_host_ed25519_key", f"root@{name}")
    with open(known_hosts, "a") as pinned:
        pinned.write(f"{address} {host_key.split(' ', 2)[0]} {host_key.split(' ', 2)[1]}\n")
    home = upper / "home" / rootfs.LOGIN_USER
    ssh_dir = home / ".ssh"
    ssh_dir.mkdir(parents=True)
    (upper / "home").chmod(0o755)
    authorized = ssh_dir / "authorized_keys"
    authorized.write_text(client_key.with_suffix(".pub").read_text())
    for path, mode in ((home, 0o750), (ssh_dir, 0o700), (authorized, 0o600)):
        os.chown(path, rootfs.LOGIN_UID, rootfs.LOGIN_UID)
        path.chmod(mode)
    return upper


# What runs inside the new namespaces before sshd: $1 name, $2 lower, $3 upper, $4 work, $5 root, $6 address.
_BOOT_SCRIPT = r"""
set -eu
hostname "$1"
mount -t overlay overlay -o "lowerdir=$2,upperdir=$3,workdir=$4" "$5"
r="$5"
mount -t proc -o nosuid,nodev,noexec proc "$r/proc"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$r/sys"
mount -t tmpfs -o mode=755,nosuid tmpfs "$r/dev"
for d in null zero full random urandom tty; do : > "$r/dev/$d"; mount --bind "/dev/$d" "$r/dev/$d"; done
mkdir -p "$r/dev/pts" "$r/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$r/dev/pts"
ln -s pts/ptmx "$r/dev/ptmx"
ln -s /proc/self/fd "$r/dev/fd"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$r/dev/shm"
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs "$r/run"
mkdir -p "$r/run/sshd" "$r/run/lock"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$r/tmp"
exec chroot "$r" /usr/sbin/sshd -D -e -o "ListenAddress=$6" -o "PidFile=none"
"""


def _start_host(name: str, netns: str, lower: Path, host_dir: Path, address: str) -> int:
    log = open(host_dir / "sshd.log", "wb")  # noqa: SIM115 - the child keeps it; closed below after fork
    try:
        proc = subprocess.Popen(
            [
                "nsenter",
                f"--net=/run/netns/{netns}",
                "unshare",
                "--mount",
                "--uts",
                "--ipc",
                "--pid",
                "--fork",
                "--kill-child",
                "--propagation",
                "private",
                "sh",
                "-c",
                _BOOT_SCRIPT,
                "boot",
                name,
                str(lower),
                str(host_dir / "upper"),
                str(host_dir / "work"),
                str(host_dir / "root"),
                address,
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        log.close()
    return proc.pid


def _wait_ready(host: Host, host_dir: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if _reaped(host.pid):
            raise TestHostError(f"{host.name}: the host exited while booting:\n{_tail(host_dir / 'sshd.log')}")
        try:
            with socket.create_connection((host.address, host.port), timeout=1):
                pass
        except OSError:
            time.sleep(0.05)
            continue
        done = host.run("true", check=False, timeout=10)
        if done.returncode == 0:
            return
        time.sleep(0.1)
    raise TestHostError(
        f"{host.name}: sshd on {host.address}:{host.port} not ready after {READY_TIMEOUT_S:.0f}s:\n"
        f"{_tail(host_dir / 'sshd.log')}"
    )


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _reaped(pid: int) -> bool:
    """True once `pid` (our child) has exited; reaps it so no zombie is left."""
    try:
        waited, _status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return waited == pid


def _stop_host(pid: int, host_dir: Path) -> None:
    """SIGKILL the unshare process; --kill-child takes PID 1 down, and the kernel the rest of the pid ns."""
    if _reaped(pid):
        return
    init_pids = _children(pid)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    # Wait for PID 1 too: its exit is what empties the pid namespace and drops the mount namespace.
    while not _reaped(pid) or any(_running(child) for child in init_pids):
        if time.monotonic() > deadline:
            raise TestHostError(f"test host process {pid} ({host_dir.name}) did not exit after SIGKILL")
        time.sleep(0.02)


def _running(pid: int) -> bool:
    """Exists and is not a zombie (a zombie has released its namespaces; its reaper is init, not us)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _close_ssh_masters(control_dir: Path) -> None:
    """Ask Ansible's persistent SSH connections (ControlPersist) to exit, so no client outlives its host."""
    if not control_dir.is_dir():
        return
    for socket_path in control_dir.iterdir():
        subprocess.run(
            ["ssh", "-o", f"ControlPath={socket_path}", "-O", "exit", "unused"],
            capture_output=True,
            timeout=10,
            check=False,
        )
