"""`linq devnet versions`: each part of the devnet, the version pinned for it and what is installed here."""

from __future__ import annotations

import subprocess

from linq.tools import locate, versions

# part -> (pinned version, where it comes from, bundle or Debian package that provides it)
BUILT: list[tuple[str, str, locate.ToolBundle]] = [
    ("kube-apiserver, controller-manager, scheduler", versions.KUBERNETES, locate.KUBERNETES),
    ("kubelet, kube-proxy", versions.KUBERNETES, locate.KUBERNETES_NODE),
    ("etcd", versions.ETCD, locate.ETCD),
    ("kwok", versions.KWOK, locate.KWOK),
    ("containerd, containerd-shim-runc-v2, ctr", versions.CONTAINERD, locate.CONTAINERD),
    ("kube-network-policies (NFQUEUE patch)", versions.KUBE_NETWORK_POLICIES, locate.KUBE_NETWORK_POLICIES),
    ("pause (sandbox image)", versions.PAUSE, locate.PAUSE),
    ("CoreDNS (cluster DNS of the real node)", versions.COREDNS, locate.COREDNS),
    ("distribution registry (image registry)", versions.DISTRIBUTION, locate.REGISTRY),
    ("ingress (tenant endpoints, https)", versions.INGRESS, locate.INGRESS),
    ("pulumi", versions.PULUMI, locate.PULUMI),
    ("pulumi-resource-kubernetes", versions.PULUMI_KUBERNETES, locate.PULUMI_KUBERNETES),
]
DEBIAN: list[tuple[str, str, str]] = [
    ("runc", versions.DEBIAN_RUNC, "runc"),
    ("CNI plugins (bridge, host-local, portmap)", versions.DEBIAN_CNI_PLUGINS, "containernetworking-plugins"),
    ("nftables", "", "nftables"),
    ("iptables", "", "iptables"),
    ("busybox (test images)", "", "busybox-static"),
]


def _debian_version(package: str) -> str:
    out = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True, timeout=10, check=False
    )
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "not installed"


def rows() -> list[dict[str, str]]:
    table = [
        {
            "part": "anvil, forge, cast",
            "pinned": versions.FOUNDRY,
            "source": "npm",
            "installed": "yes" if locate.foundry("anvil").exists() else "no (make setup)",
        }
    ]
    for part, pinned, bundle in BUILT:
        missing = bundle.missing()
        table.append(
            {
                "part": part,
                "pinned": pinned,
                "source": f"Go modules ({bundle.bin_dir})",
                "installed": "yes" if not missing else f"no: {', '.join(missing)} (make setup)",
            }
        )
    for part, pinned, package in DEBIAN:
        table.append(
            {
                "part": part,
                "pinned": pinned or "-",
                "source": f"Debian {package}",
                "installed": _debian_version(package),
            }
        )
    return table
