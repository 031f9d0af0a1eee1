"""`make setup`: install every real part offline, idempotently, cached outside the repository.

Standard library only, because it runs before the virtualenv exists. Each step says what it does and how
long it took; a step whose output is already in the cache is skipped in well under a second, so a fresh
clone on a machine that has built once is ready in seconds.

Steps: system packages (apt) -> uv -> .venv from requirements.lock -> npm tools (solc-js, OpenZeppelin,
Foundry) -> Go builds (Pulumi CLI, the Kubernetes provider plugin, kube-apiserver/controller-manager/
scheduler, etcd, kwok; for the real node: kubelet, kube-proxy, containerd, kube-network-policies, pause,
CoreDNS, the image registry).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from linq.tools import locate, versions

ROOT = locate.PROJECT_ROOT
GO_WRAPPERS = Path(__file__).resolve().parent / "go"
# Debian packages the tests need: sshd and debootstrap for the Ansible test hosts, iproute2 for netns,
# Prometheus as the real metrics source of `linq metrics`, PostgreSQL as the API's shared key store.
APT_PACKAGES = {
    "sshd": "openssh-server",
    "debootstrap": "debootstrap",
    "ip": "iproute2",
    "unshare": "util-linux",
    "prometheus": "prometheus",
    "/usr/lib/postgresql/15/bin/postgres": "postgresql",
}
# The real node: runc and the CNI plugins as Debian ships them, the netfilter tools kube-proxy and the network
# policy controller drive, and a static busybox for the test images (linq/devnet/images.py).
APT_PACKAGES.update(
    {
        "runc": "runc",
        "/usr/lib/cni/bridge": "containernetworking-plugins",
        "nft": "nftables",
        "iptables": "iptables",
        "conntrack": "conntrack",
        "/bin/busybox": "busybox-static",
    }
)


class SetupError(RuntimeError):
    pass


def say(message: str) -> None:
    print(f"[setup] {message}", flush=True)


def run(argv: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None, quiet: bool = False) -> str:
    """Run a command; on failure raise with its output so the user sees what broke."""
    completed = subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        text=True,
        check=False,
        stdout=subprocess.PIPE if quiet else None,
        stderr=subprocess.STDOUT if quiet else None,
    )
    if completed.returncode != 0:
        tail = "\n".join((completed.stdout or "").splitlines()[-40:])
        raise SetupError(f"command failed ({completed.returncode}): {' '.join(argv)}\n{tail}")
    return completed.stdout or ""


def step(name: str, action: Callable[[], str | None]) -> None:
    started = time.monotonic()
    outcome = action() or "done"
    say(f"{name}: {outcome} ({time.monotonic() - started:.1f}s)")


def digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


# ---- system packages ---------------------------------------------------------------------------------
def apt_packages() -> str:
    missing = sorted({pkg for binary, pkg in APT_PACKAGES.items() if not _have_binary(binary)})
    if not missing:
        return f"cached ({', '.join(sorted(set(APT_PACKAGES.values())))} present)"
    if os.geteuid() != 0:
        raise SetupError(f"missing Debian packages {missing}: run `sudo apt-get install -y {' '.join(missing)}`")
    say(f"installing Debian packages: {' '.join(missing)}")
    run(["apt-get", "update", "-q"], quiet=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing], env=env, quiet=True)
    return f"installed {', '.join(missing)}"


def _have_binary(name: str) -> bool:
    return shutil.which(name) is not None or any(Path(d, name).exists() for d in ("/usr/sbin", "/sbin"))


# ---- Python --------------------------------------------------------------------------------------------
def uv_binary() -> Path:
    return locate.tools_root() / f"uv-{versions.UV}" / "bin" / "uv"


def install_uv() -> str:
    if uv_binary().exists():
        return f"cached uv {versions.UV}"
    target = uv_binary().parents[1]
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--target",
            str(target),
            f"uv=={versions.UV}",
        ]
    )
    return f"installed uv {versions.UV}"


def python_venv() -> str:
    venv = ROOT / ".venv"
    stamp = venv / ".linq-lock"
    wanted = digest(ROOT / "requirements.lock", ROOT / "pyproject.toml")
    if stamp.exists() and stamp.read_text().strip() == wanted and (venv / "bin" / "linq").exists():
        return "cached (.venv matches requirements.lock)"
    env = dict(os.environ, UV_CACHE_DIR=str(locate.cache_root() / "uv"))
    uv = str(uv_binary())
    if not (venv / "bin" / "python").exists():
        run([uv, "venv", "-q", str(venv), "--python", f"python{versions.PYTHON}"], env=env)
    run([uv, "pip", "sync", "-q", "--python", str(venv / "bin" / "python"), str(ROOT / "requirements.lock")], env=env)
    run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "--no-deps", "-e", str(ROOT)], env=env)
    stamp.write_text(wanted + "\n")
    return "installed .venv from requirements.lock"


# ---- npm -----------------------------------------------------------------------------------------------
def npm_tools() -> str:
    lock = ROOT / "package-lock.json"
    cached = locate.cache_root() / "npm" / digest(lock, ROOT / "package.json")
    link = ROOT / "node_modules"
    if not (cached / "node_modules" / ".package-lock.json").exists():
        cached.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / "package.json", cached / "package.json")
        shutil.copy2(lock, cached / "package-lock.json")
        say("npm install from package-lock.json (solc-js, OpenZeppelin, Foundry forge+anvil+cast, solhint)")
        run(["npm", "install", "--no-save", "--no-audit", "--no-fund", "--loglevel=error"], cwd=cached, quiet=True)
        outcome = f"installed into {cached}"
    else:
        outcome = f"cached ({cached})"
    if link.is_symlink() or not link.exists():
        if link.is_symlink() and link.resolve() == (cached / "node_modules").resolve():
            return outcome
        if link.is_symlink():
            link.unlink()
        link.symlink_to(cached / "node_modules")
    elif link.is_dir():  # a plain `npm install` made a local folder: keep using it if it has the tools
        return "using the local node_modules folder"
    for tool in ("forge", "anvil", "cast"):
        if not os.access(locate.foundry(tool), os.X_OK):
            raise SetupError(f"{tool} missing from the npm install at {locate.foundry(tool)}")
    return outcome


# ---- Go builds -----------------------------------------------------------------------------------------
def go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CGO_ENABLED="0", GOTOOLCHAIN="local", GOFLAGS="-mod=mod", GONOSUMDB="github.com/pulumi/pulumi-kubernetes"
    )
    return env


def check_go() -> str:
    go = shutil.which("go")
    if not go:
        raise SetupError(
            "Go is not installed: install Go >= 1.25 (the Go toolchain builds the Pulumi engine, "
            "the Kubernetes control plane, etcd and kwok from Go modules)"
        )
    out = run([go, "env", "GOVERSION"], quiet=True).strip()
    match = re.match(r"go(\d+)\.(\d+)", out)
    if not match or (int(match[1]), int(match[2])) < versions.GO_MIN:
        raise SetupError(f"Go {out} is too old: need >= {'.'.join(map(str, versions.GO_MIN))}")
    return out


def _build_dir(name: str) -> Path:
    path = locate.cache_root() / "build" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def _writable_copy(module_dir: Path, name: str) -> Path:
    """A fresh, writable copy of a downloaded module (the module cache is read-only)."""
    build = _build_dir(name)
    shutil.rmtree(build)
    shutil.copytree(module_dir, build)
    for path in [build, *build.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    return build


def _wrapper(name: str) -> Path:
    """A scratch copy of the committed wrapper module (go.mod + go.sum pin every dependency)."""
    build = _build_dir(name)
    for file in ("go.mod", "go.sum"):
        shutil.copy2(GO_WRAPPERS / name / file, build / file)
    return build


def build_pulumi() -> str:
    bundle = locate.PULUMI
    build = _wrapper("pulumi")
    version_flag = f"-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v{versions.PULUMI}"
    say(f"building pulumi v{versions.PULUMI} from Go modules (cold: ~10 min on 2 cores)")
    bundle.bin_dir.mkdir(parents=True, exist_ok=True)
    run(
        [
            "go",
            "build",
            "-trimpath",
            "-tags",
            "osusergo,grpcnotrace",
            "-ldflags",
            f"-s -w {version_flag}",
            "-o",
            str(bundle.path("pulumi")),
            "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi",
        ],
        cwd=build,
        env=go_env(),
    )
    sdk = Path(
        run(
            ["go", "list", "-m", "-f", "{{.Dir}}", "github.com/pulumi/pulumi/sdk/v3"],
            cwd=build,
            env=go_env(),
            quiet=True,
        ).strip()
    )
    for script in ("python/cmd/pulumi-language-python-exec", "python/dist/pulumi-resource-pulumi-python"):
        target = bundle.path(Path(script).name)
        shutil.copyfile(sdk / script, target)
        target.chmod(0o755)
    return f"built pulumi v{versions.PULUMI}"


def build_pulumi_kubernetes() -> str:
    bundle = locate.PULUMI_KUBERNETES
    module = f"github.com/pulumi/pulumi-kubernetes/provider/v4@{versions.PULUMI_KUBERNETES_PSEUDO}"
    say(f"building pulumi-resource-kubernetes v{versions.PULUMI_KUBERNETES} (cold: ~10 min on 2 cores)")
    info = json.loads(run(["go", "mod", "download", "-json", module], env=go_env(), quiet=True))
    if info.get("Sum") != versions.PULUMI_KUBERNETES_MODULE_SUM:
        raise SetupError(f"{module} has hash {info.get('Sum')}, expected {versions.PULUMI_KUBERNETES_MODULE_SUM}")
    build = _writable_copy(Path(info["Dir"]), "pulumi-kubernetes")  # go generate writes here
    run(["go", "mod", "edit", "-dropreplace=github.com/pulumi/pulumi-kubernetes/sdk/v4"], cwd=build, env=go_env())
    env = dict(go_env(), VERSION=versions.PULUMI_KUBERNETES)
    run(["go", "generate", "./cmd/pulumi-resource-kubernetes"], cwd=build, env=env, quiet=True)
    version_var = "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version"
    version_flag = f"-X {version_var}={versions.PULUMI_KUBERNETES}"
    bundle.bin_dir.mkdir(parents=True, exist_ok=True)
    run(
        [
            "go",
            "build",
            "-trimpath",
            "-ldflags",
            f"-s -w {version_flag}",
            "-o",
            str(bundle.path("pulumi-resource-kubernetes")),
            "./cmd/pulumi-resource-kubernetes",
        ],
        cwd=build,
        env=go_env(),
    )
    return f"built pulumi-resource-kubernetes v{versions.PULUMI_KUBERNETES}"


def build_kubernetes() -> str:
    bundle = locate.KUBERNETES
    build = _wrapper("kubernetes")
    ldflags = _kubernetes_ldflags()
    say(f"building kube-apiserver, kube-controller-manager, kube-scheduler v{versions.KUBERNETES} (cold: ~8 min)")
    bundle.bin_dir.mkdir(parents=True, exist_ok=True)
    env = dict(go_env(), GOBIN=str(bundle.bin_dir))
    # the wrapper's tool block also names kubelet and kube-proxy: those are the node bundle's
    packages = [f"k8s.io/kubernetes/cmd/{binary}" for binary in bundle.binaries]
    run(["go", "install", "-trimpath", "-ldflags", ldflags, *packages], cwd=build, env=env)
    return f"built Kubernetes v{versions.KUBERNETES} control plane"


def build_etcd() -> str:
    build = _wrapper("etcd")
    say(f"building etcd v{versions.ETCD}")
    locate.ETCD.bin_dir.mkdir(parents=True, exist_ok=True)
    run(
        [
            "go",
            "build",
            "-trimpath",
            "-ldflags",
            "-s -w",
            "-o",
            str(locate.ETCD.path("etcd")),
            "go.etcd.io/etcd/server/v3",
        ],
        cwd=build,
        env=go_env(),
    )
    return f"built etcd v{versions.ETCD}"


def build_kwok() -> str:
    say(f"building kwok v{versions.KWOK}")
    locate.KWOK.bin_dir.mkdir(parents=True, exist_ok=True)
    env = dict(go_env(), GOBIN=str(locate.KWOK.bin_dir), GOFLAGS="")
    run(["go", "install", "-trimpath", "-ldflags", "-s -w", f"sigs.k8s.io/kwok/cmd/kwok@v{versions.KWOK}"], env=env)
    return f"built kwok v{versions.KWOK}"


def _kubernetes_ldflags() -> str:
    major, minor, _ = versions.KUBERNETES.split(".")
    v = "k8s.io/component-base/version"
    return (
        f"-s -w -X {v}.gitVersion=v{versions.KUBERNETES} -X {v}.gitMajor={major} -X {v}.gitMinor={minor} "
        f"-X {v}.gitTreeState=clean -X {v}.buildDate=1970-01-01T00:00:00Z"
    )


def build_kubernetes_node() -> str:
    """kubelet and kube-proxy from the control plane's wrapper module (same release, same stamping)."""
    bundle = locate.KUBERNETES_NODE
    build = _wrapper("kubernetes")
    say(f"building kubelet, kube-proxy v{versions.KUBERNETES} (~2 min with the control plane's build cache)")
    bundle.bin_dir.mkdir(parents=True, exist_ok=True)
    env = dict(go_env(), GOBIN=str(bundle.bin_dir))
    run(
        [
            "go",
            "install",
            "-trimpath",
            "-ldflags",
            _kubernetes_ldflags(),
            "k8s.io/kubernetes/cmd/kubelet",
            "k8s.io/kubernetes/cmd/kube-proxy",
        ],
        cwd=build,
        env=env,
    )
    return f"built kubelet, kube-proxy v{versions.KUBERNETES}"


def build_containerd() -> str:
    """containerd v2 from its Go module (static, no btrfs), with the shim the CRI plugin starts and `ctr`."""
    bundle = locate.CONTAINERD
    module = "github.com/containerd/containerd/v2"
    say(f"building containerd v{versions.CONTAINERD}, containerd-shim-runc-v2, ctr (~2 min)")
    bundle.bin_dir.mkdir(parents=True, exist_ok=True)
    env = dict(go_env(), GOBIN=str(bundle.bin_dir), GOFLAGS="")
    ldflags = f"-s -w -X {module}/version.Version=v{versions.CONTAINERD}"
    run(
        [
            "go",
            "install",
            "-trimpath",
            "-tags",
            "no_btrfs",
            "-ldflags",
            ldflags,
            *(f"{module}/cmd/{cmd}@v{versions.CONTAINERD}" for cmd in bundle.binaries),
        ],
        env=env,
    )
    return f"built containerd v{versions.CONTAINERD}"


# kube-network-policies as released, plus two build-time changes (docs/real-node.md says why): the nft
# `queue` verdict through the xt NFQUEUE target (this kernel lacks CONFIG_NFT_QUEUE), and $KUBECONFIG (it
# only reads the in-cluster config; the devnet's node runs it as a process).
KNP_QUEUE_BLOCK = """queue := &expr.Queue{Num: uint16(c.config.QueueID)}
\tif c.config.FailOpen {
\t\tqueue.Flag = expr.QueueFlagBypass
\t}"""
KNP_PATCHES = {
    "pkg/networkpolicy/controller.go": [
        (KNP_QUEUE_BLOCK, "queue := nfqueueTarget(uint16(c.config.QueueID), c.config.FailOpen)", 2),
    ],
    "pkg/networkpolicy/dnsagent.go": [
        (
            "&expr.Queue{Num: uint16(n.nfQueueID), Flag: expr.QueueFlagBypass}",
            "nfqueueTarget(uint16(n.nfQueueID), true)",
            1,
        ),
    ],
    "cmd/main.go": [
        (
            "config, err := rest.InClusterConfig()",
            'config, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))',
            1,
        ),
        ('"k8s.io/client-go/rest"', '"k8s.io/client-go/tools/clientcmd"', 1),
    ],
}


def build_kube_network_policies() -> str:
    bundle = locate.KUBE_NETWORK_POLICIES
    module = f"sigs.k8s.io/kube-network-policies@v{versions.KUBE_NETWORK_POLICIES}"
    say(f"building kube-network-policies v{versions.KUBE_NETWORK_POLICIES} with the NFQUEUE patch (~2 min)")
    info = json.loads(run(["go", "mod", "download", "-json", module], env=go_env(), quiet=True))
    build = _writable_copy(Path(info["Dir"]), "kube-network-policies")  # patched below
    for relative, replacements in KNP_PATCHES.items():
        source = build / relative
        text = source.read_text()
        for old, new, count in replacements:
            if text.count(old) != count:
                raise SetupError(
                    f"kube-network-policies patch no longer applies: {relative} has "
                    f"{text.count(old)} copies of {old!r}, expected {count}"
                )
            text = text.replace(old, new)
        source.write_text(text)
    shutil.copy2(GO_WRAPPERS / "kube-network-policies" / "nfqueue_target.go", build / "pkg/networkpolicy")
    bundle.bin_dir.mkdir(parents=True, exist_ok=True)
    run(
        ["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(bundle.path("kube-network-policies")), "./cmd"],
        cwd=build,
        env=go_env(),
    )
    return f"built kube-network-policies v{versions.KUBE_NETWORK_POLICIES} (NFQUEUE via xt target)"


def _build_main(bundle: locate.ToolBundle, ldflags: str = "") -> str:
    """`go build` of a committed wrapper module with its own main.go (linq/tools/go/<bundle name>)."""
    build = _wrapper(bundle.name)
    shutil.copy2(GO_WRAPPERS / bundle.name / "main.go", build / "main.go")
    bundle.bin_dir.mkdir(parents=True, exist_ok=True)
    run(
        [
            "go",
            "build",
            "-trimpath",
            "-ldflags",
            f"-s -w {ldflags}".strip(),
            "-o",
            str(bundle.path(bundle.binaries[0])),
            ".",
        ],
        cwd=build,
        env=go_env(),
    )
    return f"built {bundle.name} {bundle.version}"


def build_pause() -> str:
    return _build_main(locate.PAUSE)


def build_ingress() -> str:
    return _build_main(locate.INGRESS)


def build_coredns() -> str:
    """CoreDNS from its Go module through a small main that links only the plugins the devnet's cluster DNS
    uses (upstream's main links every plugin: cloud SDKs and all)."""
    say(f"building CoreDNS v{versions.COREDNS} (~2 min)")
    return _build_main(locate.COREDNS)


def build_registry() -> str:
    """The distribution registry with the filesystem storage driver only (upstream's main links S3/Azure/GCS)."""
    say(f"building the distribution registry v{versions.DISTRIBUTION} (~1.5 min)")
    return _build_main(
        locate.REGISTRY, f"-X github.com/distribution/distribution/v3/version.version=v{versions.DISTRIBUTION}"
    )


GO_BUILDS: list[tuple[locate.ToolBundle, Callable[[], str]]] = [
    (locate.ETCD, build_etcd),
    (locate.KWOK, build_kwok),
    (locate.KUBERNETES, build_kubernetes),
    (locate.PULUMI, build_pulumi),
    (locate.PULUMI_KUBERNETES, build_pulumi_kubernetes),
    (locate.PAUSE, build_pause),
    (locate.KUBERNETES_NODE, build_kubernetes_node),
    (locate.CONTAINERD, build_containerd),
    (locate.KUBE_NETWORK_POLICIES, build_kube_network_policies),
    (locate.COREDNS, build_coredns),
    (locate.REGISTRY, build_registry),
    (locate.INGRESS, build_ingress),
]


def go_bundle(bundle: locate.ToolBundle, build: Callable[[], str]) -> Callable[[], str]:
    def action() -> str:
        if not bundle.missing():
            return f"cached ({bundle.bin_dir})"
        outcome = build()
        if bundle.missing():
            raise SetupError(f"{bundle.name} build finished but {bundle.missing()} are missing in {bundle.bin_dir}")
        return outcome

    return action


def test_host_rootfs() -> str:
    """The Debian root filesystem the Ansible test hosts boot from (debootstrap from Debian's mirror, once)."""
    python = ROOT / ".venv" / "bin" / "python"
    code = "from linq.testhosts.rootfs import ensure_rootfs; print(ensure_rootfs().path)"
    return "ready at " + run([str(python), "-c", code], quiet=True).strip().splitlines()[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-apt", action="store_true", help="do not install Debian packages")
    args = parser.parse_args(argv)
    started = time.monotonic()
    say(f"tools cache: {locate.tools_root()}")
    try:
        if not args.skip_apt:
            step("system packages", apt_packages)
        step("uv", install_uv)
        step("python venv", python_venv)
        step("npm tools", npm_tools)
        step("go toolchain", check_go)
        for bundle, build in GO_BUILDS:
            step(f"{bundle.name} v{bundle.version}", go_bundle(bundle, build))
        if os.geteuid() == 0:  # the test hosts need root (network namespaces, mounts)
            step("test-host root filesystem", test_host_rootfs)
    except SetupError as error:
        say(f"FAILED: {error}")
        return 1
    say(f"ready in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
