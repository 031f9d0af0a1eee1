"""Every pinned toolchain version, in one place.

pyproject.toml and package.json carry the same pins for their registries; tests/unit/test_versions.py
fails when they drift apart.
"""

PYTHON = "3.11"

# Pulumi engine built from Go modules; the PyPI SDK must be the same version.
PULUMI = "3.259.0"
# The Kubernetes provider: the Go proxy serves the v4.25.0 release commit as a pseudo-version only
# (newer releases are not served), so the PyPI pulumi-kubernetes is pinned to the same 4.25.0.
PULUMI_KUBERNETES = "4.25.0"
PULUMI_KUBERNETES_PSEUDO = "v4.0.0-20260115033456-f47bc2d6f199"

KUBERNETES = "1.33.4"
ETCD = "3.5.21"
KWOK = "0.7.0"

# The real node (linq/devnet/node.py). kubelet and kube-proxy are KUBERNETES, built by the same wrapper module.
CONTAINERD = "2.4.2"  # Go module: Debian's 1.6.20 is end-of-life and has no `pinned_images` config
KUBE_NETWORK_POLICIES = "0.8.0"  # Go module, patched at build time (linq/tools/go/kube-network-policies)
COREDNS = "1.14.7"  # Go module, built with only the plugins the devnet uses (linq/tools/go/coredns)
DISTRIBUTION = "3.1.2"  # the local image registry, filesystem storage only (linq/tools/go/registry)
PAUSE = "1"  # our pause program (linq/tools/go/pause), packed as the sandbox image
INGRESS = "1"  # the devnet's ingress on the real node (linq/tools/go/ingress), packed as an image
# Debian packages the node uses as they are; `linq devnet versions` shows what is installed, these are the
# versions the tests were run with (bookworm).
DEBIAN_RUNC = "1.1.5"
DEBIAN_CNI_PLUGINS = "1.1.1"

# npm packages (package.json pins the same)
SOLC = "0.8.37"
OPENZEPPELIN = "5.7.0"
FOUNDRY = "1.7.1"
SOLHINT = "6.2.4"

UV = "0.13.8"

# The Kubernetes provider's module is not in the public checksum database at this pseudo-version, so its
# hash is pinned here and checked after download (GONOSUMDB covers only this module).
PULUMI_KUBERNETES_MODULE_SUM = "h1:j2bphCf7c2YhnBrhwht2f3TNRRgcMImltUlAgzxr9H4="

GO_MIN = (1, 26)  # containerd v2.4.2 says `go 1.26.6`, the CoreDNS wrapper `go 1.26.0`
