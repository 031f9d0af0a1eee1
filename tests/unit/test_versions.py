"""Every pinned version has one source of truth (linq/tools/versions.py); the registries' manifests agree."""

from __future__ import annotations

import json
import tomllib

from linq.tools import locate, versions

ROOT = locate.PROJECT_ROOT


def _pins() -> dict[str, str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return dict(dep.split("==", 1) for dep in deps if "==" in dep)


def test_pypi_pulumi_matches_the_engine_we_build() -> None:
    pins = _pins()
    assert pins["pulumi"] == versions.PULUMI
    assert pins["pulumi-kubernetes"] == versions.PULUMI_KUBERNETES


def test_every_python_dependency_is_pinned_exactly() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert all("==" in dep for dep in deps), [d for d in deps if "==" not in d]


def test_npm_pins_match() -> None:
    npm = json.loads((ROOT / "package.json").read_text())["dependencies"]
    assert npm["solc"] == versions.SOLC
    assert npm["@openzeppelin/contracts"] == versions.OPENZEPPELIN
    for tool in ("forge", "anvil", "cast"):
        assert npm[f"@foundry-rs/{tool}"] == versions.FOUNDRY
    assert npm["solhint"] == versions.SOLHINT


def test_lock_file_agrees_with_pyproject() -> None:
    locked = dict(
        line.split("==", 1)
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.startswith(("#", " "))
    )
    for name, version in _pins().items():
        base = name.split("[", 1)[0]
        assert locked.get(base) == version, f"{base}: pyproject {version}, lock {locked.get(base)}"


def test_go_wrapper_modules_pin_the_versions() -> None:
    pulumi_mod = (ROOT / "linq/tools/go/pulumi/go.mod").read_text()
    assert f"github.com/pulumi/pulumi/pkg/v3 v{versions.PULUMI}" in pulumi_mod
    assert f"github.com/pulumi/pulumi/sdk/v3 v{versions.PULUMI}" in pulumi_mod
    kube_mod = (ROOT / "linq/tools/go/kubernetes/go.mod").read_text()
    assert f"k8s.io/kubernetes v{versions.KUBERNETES}" in kube_mod
    etcd_mod = (ROOT / "linq/tools/go/etcd/go.mod").read_text()
    assert f"go.etcd.io/etcd/server/v3 v{versions.ETCD}" in etcd_mod
    coredns_mod = (ROOT / "linq/tools/go/coredns/go.mod").read_text()
    assert f"github.com/coredns/coredns v{versions.COREDNS}" in coredns_mod
    registry_mod = (ROOT / "linq/tools/go/registry/go.mod").read_text()
    assert f"github.com/distribution/distribution/v3 v{versions.DISTRIBUTION}" in registry_mod
