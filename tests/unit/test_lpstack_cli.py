"""`linq lpstack ...` through click's runner: same objects as the library, errors with field and fix."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from linq.cli import main
from lpstack import admission_configuration, crds, render
from lpstack.render import to_yaml
from lpstack.versions import load
from tests.unit.lpstack_helpers import PROVIDER, base_data, config, full_config

FLAGS = [
    "--cluster-name",
    "provider-eu-1",
    "--provider",
    PROVIDER,
    "--region",
    "eu-west",
    "--domain",
    "apps.example.com",
]


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["lpstack", *args])
    return result.exit_code, result.stdout, result.stderr


def test_render_from_flags_prints_the_library_output() -> None:
    code, out, _ = _run("render", *FLAGS)
    assert code == 0
    assert out == to_yaml(render(config()))


def test_render_from_a_config_file_with_flag_overrides(tmp_path: Path) -> None:
    path = tmp_path / "lpstack.yaml"
    data = full_config().model_dump()
    path.write_text(yaml.safe_dump(data))
    code, out, _ = _run("render", "--config", str(path), "-o", "json", "--disable", "gpu", "--region", "us-east")
    assert code == 0, out
    listed = json.loads(out)
    assert listed["kind"] == "List"
    expected = render(full_config(region="us-east", features={**data["features"], "gpu": False}))
    assert listed["items"] == expected


def test_only_filters_kinds_and_crds_come_first() -> None:
    code, out, _ = _run("render", *FLAGS, "--only", "HelmChart", "--only", "PeerAuthentication", "-o", "json")
    assert code == 0
    kinds = [o["kind"] for o in json.loads(out)["items"]]
    assert set(kinds) == {"HelmChart", "PeerAuthentication"} and kinds.count("HelmChart") == 6
    code, out, _ = _run("render", *FLAGS, "--crds", "-o", "json")
    items = json.loads(out)["items"]
    assert items[: len(crds())] == crds()
    code, _, err = _run("render", *FLAGS, "--only", "Pod")
    assert code == 2 and "--only" in err and "unknown kind(s) ['Pod']" in err


def test_render_out_writes_the_k3s_manifest_directory(tmp_path: Path) -> None:
    code, out, _ = _run("render", *FLAGS, "--enable", "kubevirt", "--out", str(tmp_path / "m"))
    assert code == 0
    written = [Path(line) for line in out.splitlines()]
    assert all(p.is_file() for p in written)
    assert (tmp_path / "m" / "60-vm.yaml") in written
    docs = [d for p in written if p.parent == tmp_path / "m" for d in yaml.safe_load_all(p.read_text())]
    assert all("apiVersion" in d and "kind" in d for d in docs)


def test_config_errors_exit_nonzero_with_field_value_and_fix(tmp_path: Path) -> None:
    code, _, err = _run("render", *FLAGS[:-2], "--domain", "Not A Domain", "--enable", "cloudflared")
    assert code == 1
    assert "public_domain" in err and "'Not A Domain'" in err and "apps.example.com" in err
    code, _, err = _run("render", *FLAGS, "--enable", "cloudflared")
    assert code == 1 and "cloudflared.token_secret" in err
    code, out, _ = _run(
        "render", *FLAGS, "--enable", "cloudflared", "--tunnel-secret", "cf/token", "--only", "Deployment", "-o", "json"
    )
    assert code == 0 and "cloudflared" in out
    code, _, err = _run("render", *FLAGS, "--tunnel-secret", "cf")
    assert code == 2 and "NAME/KEY" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(base_data(cloudflared={"token": "inline-secret"})))
    code, _, err = _run("render", "--config", str(bad))
    assert code == 1 and f"{bad}: cloudflared.token" in err and "never inlined" in err
    assert "inline-secret" in err  # echoed back only because the user typed it into the wrong field
    bad.write_text("- a list\n")
    code, _, err = _run("render", "--config", str(bad))
    assert code == 1 and "expected a mapping" in err


def test_validate_and_admission_config() -> None:
    code, out, _ = _run("validate", *FLAGS, "--enable", "gpu", "--enable", "kubevirt")
    assert code == 0 and "objects valid against Kubernetes 1.33" in out
    code, out, _ = _run("admission-config", *FLAGS)
    assert code == 0
    assert yaml.safe_load(out) == admission_configuration(config())


def test_versions_in_every_format() -> None:
    pins = load()
    code, out, _ = _run("versions", "-o", "json")
    assert code == 0 and json.loads(out) == pins.model_dump()
    code, out, _ = _run("versions", "-o", "yaml")
    assert yaml.safe_load(out) == pins.model_dump()
    code, out, _ = _run("versions")
    assert code == 0
    for name, version in pins.flat().items():
        assert name in out and version in out
