"""Every user mistake fails at validation time with the field, the bad value and the fix."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from linq.catalog import CatalogError, DeploymentSpec, VmSpec, load_catalog, render
from linq.catalog.errors import (
    BadImageReference,
    GpuPlanRequired,
    InvalidEnvValue,
    InvalidSecret,
    InvalidSpec,
    MissingSecret,
    PlanTooSmall,
    UnknownEnvVar,
    UnknownPlan,
    UnknownTemplate,
)
from linq.catalog.plans import Resources
from tests.unit.catalog_helpers import example_spec

CATALOG = load_catalog()


def _fails(spec: DeploymentSpec, kind: type[CatalogError]) -> CatalogError:
    with pytest.raises(kind) as caught:
        render(spec, CATALOG)
    error = caught.value
    text = str(error)
    assert error.field in text and "Fix:" in text and error.fix
    return error


def test_unknown_template_suggests_close_ids() -> None:
    error = _fails(DeploymentSpec(name="x", template="postgress"), UnknownTemplate)
    assert error.field == "template" and error.value == "postgress"
    assert "postgresql" in error.fix
    assert "open-webui" in str(_fails(DeploymentSpec(name="x", template="openwebui"), UnknownTemplate))


def test_unknown_plan() -> None:
    error = _fails(example_spec(CATALOG.get("redis"), plan="huge"), UnknownPlan)
    assert "starter, basic, standard, pro" in error.fix


def test_plan_below_the_template_minimum() -> None:
    error = _fails(example_spec(CATALOG.get("metabase"), plan="basic"), PlanTooSmall)
    assert (error.field, error.value) == ("plan", "basic")
    assert "standard" in error.problem and "use plan standard or larger" in error.fix
    small = Resources.model_validate({"cpuMillis": 1000, "memoryMiB": 1024, "storageGiB": 5})
    spec = example_spec(CATALOG.get("metabase")).model_copy(update={"resources": small, "plan": None})
    error = _fails(spec, PlanTooSmall)
    assert error.field == "resources"


def test_gpu_template_on_a_cpu_plan() -> None:
    error = _fails(example_spec(CATALOG.get("vllm"), plan="pro"), GpuPlanRequired)
    assert error.value == "pro" and "gpu-small" in error.fix


def test_missing_required_secret() -> None:
    spec = example_spec(CATALOG.get("librechat"))
    error = _fails(spec.model_copy(update={"secrets": {}}), MissingSecret)
    assert error.field == "secrets.MONGO_URI" and "--secret MONGO_URI=" in error.fix


def test_missing_generated_secret_value() -> None:
    spec = example_spec(CATALOG.get("postgresql")).model_copy(update={"generated": {}})
    error = _fails(spec, MissingSecret)
    assert error.field == "generated.POSTGRES_PASSWORD" and "generate_secrets" in error.fix


@pytest.mark.parametrize(
    ("template", "name", "value", "problem"),
    [
        ("ollama", "OLLAMA_CONTEXT_LENGTH", "lots", "expected an integer"),
        ("grafana", "GF_USERS_ALLOW_SIGN_UP", "maybe", "expected a boolean"),
        ("librechat", "DOMAIN_CLIENT", "chat.example.com", "absolute URL"),
        ("pgadmin", "PGADMIN_DEFAULT_EMAIL", "admin-at-example", "email address"),
        ("open-webui", "DEFAULT_USER_ROLE", "root", "expected one of pending, user, admin"),
        ("prometheus", "RETENTION", "15 days", "does not match the pattern"),
    ],
)
def test_env_value_fails_its_type_or_pattern(template: str, name: str, value: str, problem: str) -> None:
    spec = example_spec(CATALOG.get(template))
    error = _fails(spec.model_copy(update={"env": {**spec.env, name: value}}), InvalidEnvValue)
    assert error.field == f"env.{name}" and error.value == value and problem in error.problem


def test_required_env_without_value() -> None:
    spec = example_spec(CATALOG.get("wekan"))
    error = _fails(spec.model_copy(update={"env": {}}), InvalidEnvValue)
    assert error.field == "env.ROOT_URL" and "--env ROOT_URL=" in error.fix


def test_unknown_env_var_suggests_declared_names() -> None:
    spec = example_spec(CATALOG.get("grafana"))
    error = _fails(spec.model_copy(update={"env": {"GF_SECURITY_ADMIN_USR": "me"}}), UnknownEnvVar)
    assert "GF_SECURITY_ADMIN_USER" in error.fix


def test_secret_passed_as_env_is_refused() -> None:
    spec = example_spec(CATALOG.get("postgresql"))
    error = _fails(spec.model_copy(update={"env": {"POSTGRES_PASSWORD": "hunter2"}}), UnknownEnvVar)
    assert "--secret POSTGRES_PASSWORD" in error.fix


def test_undeclared_or_malformed_secret() -> None:
    spec = example_spec(CATALOG.get("librechat"))
    error = _fails(spec.model_copy(update={"secrets": {**spec.secrets, "GROQ_KEY": "x"}}), InvalidSecret)
    assert error.value == "********"  # secret values never appear in errors
    error = _fails(spec.model_copy(update={"secrets": {"MONGO_URI": "postgres://nope"}}), InvalidSecret)
    assert "pattern" in error.problem and "postgres://nope" not in str(error)


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        ("ghcr.io/example/api", "no tag"),
        ("ghcr.io/example/api:latest", "moves between releases"),
        ("ghcr.io/example/API:1.0", "not a valid image reference"),
        ("ghcr.io/example/api:1.0@sha256:1234", "digest"),
    ],
)
def test_bad_custom_image_reference(image: str, problem: str) -> None:
    error = _fails(DeploymentSpec(name="api", image=image), BadImageReference)
    assert error.field == "image" and error.value == image and problem in error.problem


def test_bad_vm_image_reference() -> None:
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me"
    error = _fails(
        DeploymentSpec(name="vm", vm=VmSpec(image="quay.io/containerdisks/ubuntu", ssh_public_keys=[key])),
        BadImageReference,
    )
    assert error.field == "vm.image"


def test_custom_endpoint_must_be_a_declared_port() -> None:
    spec = DeploymentSpec(
        name="api",
        image="ghcr.io/example/api:1.0",
        ports=[{"name": "web", "containerPort": 80}],
        endpoint={"port": "http", "kind": "http"},
    )
    error = _fails(spec, InvalidSpec)
    assert error.field == "endpoint.port" and "web" in error.fix


def test_spec_shape_errors_are_caught_by_the_model() -> None:
    with pytest.raises(ValidationError, match="exactly one of template, image or vm"):
        DeploymentSpec(name="x", template="redis", image="redis:7.4.11")
    with pytest.raises(ValidationError, match="apply to custom images only"):
        DeploymentSpec(name="x", template="redis", ports=[{"name": "r", "containerPort": 1}])
    with pytest.raises(ValidationError, match="not an OpenSSH public key"):
        VmSpec(image="quay.io/containerdisks/ubuntu:24.04", ssh_public_keys=["-----BEGIN OPENSSH PRIVATE KEY-----"])
