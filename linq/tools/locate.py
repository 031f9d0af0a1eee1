"""Where the toolchain lives: one answer for every caller (setup, devnet, tests, CLI).

Everything built or downloaded is cached outside the repository, under
${XDG_CACHE_HOME:-~/.cache}/linq/tools/<name>-v<version>/bin, so a fresh clone reuses it.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from linq.tools import versions

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "linq"


def tools_root() -> Path:
    return cache_root() / "tools"


@dataclass(frozen=True)
class ToolBundle:
    """A group of binaries built together at one pinned version."""

    name: str
    version: str
    binaries: tuple[str, ...]

    @property
    def bin_dir(self) -> Path:
        return tools_root() / f"{self.name}-v{self.version}" / "bin"

    def path(self, binary: str) -> Path:
        return self.bin_dir / binary

    def missing(self) -> list[str]:
        return [b for b in self.binaries if not os.access(self.path(b), os.X_OK)]


PULUMI = ToolBundle(
    "pulumi",
    versions.PULUMI,
    ("pulumi", "pulumi-language-python-exec", "pulumi-resource-pulumi-python"),
)
PULUMI_KUBERNETES = ToolBundle("pulumi-kubernetes", versions.PULUMI_KUBERNETES, ("pulumi-resource-kubernetes",))
KUBERNETES = ToolBundle(
    "kubernetes", versions.KUBERNETES, ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
)
ETCD = ToolBundle("etcd", versions.ETCD, ("etcd",))
KWOK = ToolBundle("kwok", versions.KWOK, ("kwok",))
# The real node's parts (kubelet and kube-proxy: same release and wrapper module as the control plane).
KUBERNETES_NODE = ToolBundle("kubernetes-node", versions.KUBERNETES, ("kubelet", "kube-proxy"))
CONTAINERD = ToolBundle("containerd", versions.CONTAINERD, ("containerd", "containerd-shim-runc-v2", "ctr"))
KUBE_NETWORK_POLICIES = ToolBundle("kube-network-policies", versions.KUBE_NETWORK_POLICIES, ("kube-network-policies",))
PAUSE = ToolBundle("pause", versions.PAUSE, ("pause",))
COREDNS = ToolBundle("coredns", versions.COREDNS, ("coredns",))
REGISTRY = ToolBundle("registry", versions.DISTRIBUTION, ("registry",))
INGRESS = ToolBundle("ingress", versions.INGRESS, ("ingress",))
NODE_BUNDLES = (KUBERNETES_NODE, CONTAINERD, KUBE_NETWORK_POLICIES, PAUSE, COREDNS, REGISTRY, INGRESS)
GO_BUNDLES = (PULUMI, PULUMI_KUBERNETES, KUBERNETES, ETCD, KWOK, *NODE_BUNDLES)


class ToolMissing(RuntimeError):
    """A required tool is not installed; the message says how to get it."""


def node_modules() -> Path:
    return PROJECT_ROOT / "node_modules"


def foundry(binary: str) -> Path:
    """forge, anvil or cast from the npm package's platform binary."""
    return node_modules() / "@foundry-rs" / f"{binary}-linux-amd64" / "bin" / binary


def require(binary: str) -> Path:
    """The path of a toolchain binary, or ToolMissing naming the fix."""
    if binary in ("forge", "anvil", "cast"):
        path = foundry(binary)
        if os.access(path, os.X_OK):
            return path
        raise ToolMissing(f"{binary} is not installed at {path}; run `make setup` (npm ci installs Foundry)")
    for bundle in GO_BUNDLES:
        if binary in bundle.binaries:
            path = bundle.path(binary)
            if os.access(path, os.X_OK):
                return path
            raise ToolMissing(
                f"{binary} {bundle.version} is not built (expected {path}); run `make setup` "
                "to build it from Go modules (cached outside the repo)"
            )
    found = shutil.which(binary)
    if found:
        return Path(found)
    raise ToolMissing(f"{binary} not found on PATH; run `make setup`")


def tool_path_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """An environment whose PATH has the venv and the Pulumi engine first.

    The Kubernetes provider plugin is deliberately not on PATH: the devnet installs it into its plugin cache
    at its exact version, which is how the engine matches plugins to the SDK's request.
    """
    env = dict(os.environ if base is None else base)
    venv_bin = PROJECT_ROOT / ".venv" / "bin"
    extra = [str(venv_bin), str(PULUMI.bin_dir)]
    env["PATH"] = os.pathsep.join([*extra, env.get("PATH", "")])
    return env
