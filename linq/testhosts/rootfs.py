"""The root filesystem the test hosts boot from: a Debian bookworm debootstrapped once and cached.

The cached tree is read-only by convention; every host mounts it as the lower layer of an overlayfs, so a
host's writes (the playbook's files) land in its own upper directory and vanish with it. The cache key is
the suite plus the package list, so adding a package builds a fresh tree instead of reusing a stale one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SUITE = "bookworm"
MIRROR = os.environ.get("LINQ_TESTHOSTS_MIRROR", "http://deb.debian.org/debian")
# What a provider node needs for the playbooks: sshd + python3 for Ansible, sudo for become, nftables to
# check the firewall ruleset, pciutils for the GPU probe, iproute2/procps/kmod for the preflight probes.
PACKAGES = (
    "openssh-server",
    "python3",
    "sudo",
    "nftables",
    "pciutils",
    "iproute2",
    "procps",
    "kmod",
    "ca-certificates",
)
COMPLETE_STAMP = ".linq-rootfs-complete"
# The unprivileged login every test host has (sudo without a password, like a cloud image's default user).
LOGIN_USER = "provider"
LOGIN_UID = 1000
# Bump when _prepare changes, so cached trees prepared the old way are rebuilt.
PREPARE_VERSION = "2"


class RootfsError(RuntimeError):
    pass


def cache_root() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "linq" / "testhosts"


def rootfs_key(suite: str = SUITE, packages: tuple[str, ...] = PACKAGES) -> str:
    digest = hashlib.sha256(" ".join([suite, PREPARE_VERSION, *sorted(packages)]).encode()).hexdigest()[:12]
    return f"rootfs-{suite}-{digest}"


@dataclass(frozen=True)
class RootfsBuild:
    path: Path
    seconds: float  # 0.0 when it came from the cache
    cached: bool


def ensure_rootfs(cache: Path | None = None) -> RootfsBuild:
    """The cached rootfs, debootstrapping it first if it is missing or half-built."""
    cache = cache or cache_root()
    final = cache / rootfs_key()
    if (final / COMPLETE_STAMP).is_file():
        return RootfsBuild(final, 0.0, True)
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise RootfsError("debootstrap is not installed: run `apt-get install -y debootstrap` (or `make setup`)")
    cache.mkdir(parents=True, exist_ok=True)
    # Build beside the final path and rename, so an interrupted build is never mistaken for a good one.
    partial = cache / f"{final.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    started = time.monotonic()
    argv = [
        debootstrap,
        "--variant=minbase",
        f"--include={','.join(PACKAGES)}",
        SUITE,
        str(partial),
        MIRROR,
    ]
    done = subprocess.run(argv, text=True, capture_output=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-25:])
        shutil.rmtree(partial, ignore_errors=True)
        raise RootfsError(f"debootstrap {SUITE} from {MIRROR} failed ({done.returncode}):\n{tail}")
    _prepare(partial)
    (partial / COMPLETE_STAMP).write_text(f"{SUITE} {' '.join(PACKAGES)}\n")
    shutil.rmtree(final, ignore_errors=True)
    partial.rename(final)
    return RootfsBuild(final, time.monotonic() - started, False)


def _prepare(root: Path) -> None:
    """Make the tree bootable as an sshd-only host: a sudo login user, no host keys baked in."""
    _chroot(
        root, "useradd", "--create-home", "--shell", "/bin/bash", "--uid", str(LOGIN_UID), "--user-group", LOGIN_USER
    )
    _chroot(root, "passwd", "--lock", LOGIN_USER)  # key login only
    sudoers = root / "etc" / "sudoers.d" / LOGIN_USER
    sudoers.write_text(f"{LOGIN_USER} ALL=(ALL:ALL) NOPASSWD: ALL\n")
    sudoers.chmod(0o440)
    for key in (root / "etc" / "ssh").glob("ssh_host_*"):
        key.unlink()  # each host generates its own at start
    (root / "run" / "sshd").mkdir(parents=True, exist_ok=True)
    # apt's cache is 30+ MB of .debs nobody in a test host needs.
    for deb in (root / "var" / "cache" / "apt" / "archives").glob("*.deb"):
        deb.unlink()


def _chroot(root: Path, *argv: str) -> None:
    done = subprocess.run(["chroot", str(root), *argv], text=True, capture_output=True, check=False)
    if done.returncode != 0:
        raise RootfsError(f"preparing the rootfs: `{' '.join(argv)}` failed: {done.stderr.strip()}")
