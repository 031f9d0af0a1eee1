"""What the test hosts need from the machine, and what a test does when something is missing."""

from __future__ import annotations

import os
import shutil

# binary -> the Debian package that provides it (the project's setup installs these)
TOOLS = {
    "ip": "iproute2",
    "unshare": "util-linux",
    "nsenter": "util-linux",
    "sshd": "openssh-server",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "debootstrap": "debootstrap",
}


def missing_requirements() -> list[str]:
    """Human-readable reasons the test hosts cannot start here; empty when they can."""
    reasons = []
    for binary, package in TOOLS.items():
        if shutil.which(binary) is None and not os.path.exists(f"/usr/sbin/{binary}"):
            reasons.append(f"`{binary}` not found: apt-get install -y {package}")
    if os.geteuid() != 0:
        reasons.append("not root: network namespaces, unshare and mounts need root (run the tests as root)")
    return reasons


def in_ci() -> bool:
    """CI must fail, never skip, when a tool is missing: a skipped test proves nothing."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")
