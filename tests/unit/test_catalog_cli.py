"""`linq render` and `linq templates` through the real click entry point."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from linq.catalog import load_catalog
from linq.catalog.output import MASK
from linq.cli import main
from tests.unit.catalog_helpers import validate_manifest

SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl dev@example"


def _run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_render_prints_appliable_yaml_with_secrets_masked() -> None:
    result = _run("render", "-t", "postgresql", "--name", "orders-db", "--plan", "basic", "-e", "POSTGRES_DB=orders")
    assert result.exit_code == 0, result.output
    docs = list(yaml.safe_load_all(result.output))
    for doc in docs:
        validate_manifest(doc)
    secret = next(d for d in docs if d["kind"] == "Secret")
    assert secret["stringData"] == {"POSTGRES_PASSWORD": MASK}
    env = next(d for d in docs if d["kind"] == "StatefulSet")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "POSTGRES_DB", "value": "orders"} in env
    # Masked output is a faithful review: the same command prints the same bytes.
    assert (
        _run("render", "-t", "postgresql", "--name", "orders-db", "--plan", "basic", "-e", "POSTGRES_DB=orders").output
        == result.output
    )


def test_show_secrets_prints_generated_and_given_values(tmp_path: Path) -> None:
    env_file = tmp_path / "secrets.env"
    env_file.write_text("# LibreChat\nMONGO_URI='mongodb://u:p@db:27017/chat'\nexport OPENAI_API_KEY=sk-test\n")
    result = _run(
        "render",
        "-t",
        "librechat",
        "--secret-file",
        str(env_file),
        "-e",
        "DOMAIN_CLIENT=https://c.example",
        "-e",
        "DOMAIN_SERVER=https://c.example",
        "--show-secrets",
        "-o",
        "json",
    )
    assert result.exit_code == 0, result.output
    listing = json.loads(result.output)
    assert listing["kind"] == "List"
    data = next(i for i in listing["items"] if i["kind"] == "Secret")["stringData"]
    assert data["MONGO_URI"] == "mongodb://u:p@db:27017/chat" and data["OPENAI_API_KEY"] == "sk-test"
    assert len(data["CREDS_KEY"]) == 64 and all(c in "0123456789abcdef" for c in data["CREDS_KEY"])


def test_render_applies_patches(tmp_path: Path) -> None:
    patch = tmp_path / "patch.yaml"
    patch.write_text("- target: {kind: Service, name: chat}\n  patch: {metadata: {annotations: {owner: me}}}\n")
    result = _run("render", "-t", "open-webui", "--name", "chat", "--patch", str(patch))
    assert result.exit_code == 0, result.output
    service = next(d for d in yaml.safe_load_all(result.output) if d["kind"] == "Service")
    assert service["metadata"]["annotations"]["owner"] == "me"


def test_render_custom_image_and_vm(tmp_path: Path) -> None:
    result = _run(
        "render",
        "--image",
        "ghcr.io/example/api:1.4.2",
        "--port",
        "http:8000",
        "--port",
        "dns:53/UDP",
        "--name",
        "api",
        "--cpu",
        "750m",
        "--memory",
        "1536Mi",
        "-s",
        "TOKEN=abc",
    )
    assert result.exit_code == 0, result.output
    docs = list(yaml.safe_load_all(result.output))
    quota = next(d for d in docs if d["kind"] == "ResourceQuota")["spec"]["hard"]
    assert quota["limits.cpu"] == "750m" and quota["limits.memory"] == "1536Mi"
    key = tmp_path / "id_ed25519.pub"
    key.write_text(SSH_KEY + "\n")
    result = _run("render", "--vm-image", "quay.io/containerdisks/ubuntu:24.04", "--ssh-key", str(key))
    assert result.exit_code == 0, result.output
    kinds = [d["kind"] for d in yaml.safe_load_all(result.output)]
    assert kinds[-1] == "VirtualMachine"


def test_render_errors_name_field_value_and_fix() -> None:
    result = _run("render", "-t", "uptime-kuma", "--plan", "big")
    assert result.exit_code == 1 and "plan='big'" in result.output and "Fix:" in result.output
    result = _run("render", "-t", "vllm", "--plan", "pro")
    assert result.exit_code == 1 and "GPU" in result.output and "gpu-small" in result.output
    result = _run("render", "--image", "nginx:latest")
    assert result.exit_code == 1 and "image='nginx:latest'" in result.output
    result = _run("render", "-t", "grafana", "-e", "NOPE")
    assert result.exit_code == 2 and "KEY=VALUE" in result.output
    result = _run("render")
    assert result.exit_code == 2 and "--template" in result.output


def test_templates_list_show_and_plans() -> None:
    catalog = load_catalog()
    listing = json.loads(_run("templates", "list", "--json").output)
    assert len(listing) == len(catalog) and {"id", "image", "minPlan"} <= listing[0].keys()
    llm = json.loads(_run("templates", "list", "--category", "llm", "--json").output)
    assert llm and all(t["category"] == "llm" for t in llm)
    table = _run("templates", "list").output
    assert "open-webui" in table and f"{len(catalog)} templates" in table
    shown = json.loads(_run("templates", "show", "aura-code", "--json").output)
    assert shown["category"] == "ai-dev-env" and shown["generatedSecrets"][0]["name"] == "PASSWORD"
    assert "AI_API_BASE" in _run("templates", "show", "aura-code").output
    missing = _run("templates", "show", "wordpres")
    assert missing.exit_code == 1 and "wordpress" in missing.output
    plans = json.loads(_run("templates", "plans", "--json").output)
    assert [p["name"] for p in plans][:4] == ["starter", "basic", "standard", "pro"]
