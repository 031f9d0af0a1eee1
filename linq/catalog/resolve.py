"""Turn a DeploymentSpec into a Workload: the template (or custom image) with the user's plan, env and
secrets checked and merged. Every user mistake surfaces here, before any manifest is built."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from linq.catalog.catalog import Catalog
from linq.catalog.errors import (
    GpuPlanRequired,
    InvalidEnvValue,
    InvalidSecret,
    InvalidSpec,
    MissingSecret,
    PlanTooSmall,
    UnknownEnvVar,
    did_you_mean,
)
from linq.catalog.imageref import parse_image
from linq.catalog.models import (
    ConfigFile,
    Endpoint,
    Health,
    Port,
    Security,
    Template,
    Volume,
)
from linq.catalog.plans import Plan, Resources
from linq.catalog.spec import DeploymentSpec
from linq.catalog.values import value_problem

_ENV_NAME_FIX = "use letters, digits and '_' only, not starting with a digit"


@dataclass(frozen=True)
class SizedVolume:
    volume: Volume
    size_gib: int


@dataclass(frozen=True)
class Workload:
    """Everything the manifest builders need, already validated."""

    kind: Literal["Deployment", "StatefulSet"]
    app: str  # template id, or "custom"
    version: str | None
    image: str
    ports: list[Port]
    endpoint: Endpoint
    plan_name: str  # a plan name, or "custom" for explicit resources
    resources: Resources
    env: list[tuple[str, str]] = field(default_factory=list)  # plain values, in declaration order
    secret_data: dict[str, str] = field(default_factory=dict)  # injected as env from the Secret
    volumes: list[SizedVolume] = field(default_factory=list)
    config_files: list[ConfigFile] = field(default_factory=list)
    health: Health | None = None
    command: list[str] | None = None
    args: list[str] | None = None
    security: Security = field(default_factory=Security)
    gpu_count: int = 0
    gpu_model: str | None = None


def resolve_size(spec: DeploymentSpec, catalog: Catalog, min_plan: str = "starter") -> tuple[str, Resources]:
    """The plan name and its resources (explicit resources are named "custom")."""
    if spec.resources is not None:
        return "custom", spec.resources
    plan: Plan = catalog.plans.get(spec.plan or min_plan)
    return plan.name, plan


def _check_size(template: Template, plan_name: str, size: Resources, catalog: Catalog) -> None:
    plans = catalog.plans
    minimum = plans.get(template.min_plan)
    field_name = "resources" if plan_name == "custom" else "plan"
    shown = size.describe() if plan_name == "custom" else plan_name
    if template.gpu and size.gpu_count < template.gpu.count:
        gpu_plans = [p.name for p in plans.ladder() if p.gpu_count >= template.gpu.count and p.covers(minimum)]
        raise GpuPlanRequired(
            field_name,
            shown,
            f"template {template.id} needs {template.gpu.count} GPU(s); this size has {size.gpu_count}",
            f"use a GPU plan: {', '.join(gpu_plans) or 'none is large enough'}",
        )
    too_small = (
        not size.covers(minimum)
        if plan_name == "custom"
        else plans.rank(plan_name) < plans.rank(minimum.name) or not size.covers(minimum)
    )
    if too_small:
        larger = [p.name for p in plans.ladder()[plans.rank(minimum.name) :]]
        raise PlanTooSmall(
            field_name,
            shown,
            f"template {template.id} needs at least plan {minimum.name} ({minimum.describe()})",
            f"use plan {minimum.name} or larger ({', '.join(larger)})",
        )
    needed = sum(v.size_gib for v in template.volumes)
    if needed > size.storage_gib:
        raise PlanTooSmall(
            field_name,
            shown,
            f"the volumes of {template.id} need {needed} GiB, the size has {size.storage_gib}",
            "choose a plan with more storage",
        )


def size_volumes(volumes: list[Volume], storage_gib: int) -> list[SizedVolume]:
    """Each volume gets its minimum; the first also gets the plan's storage the others leave over."""
    if not volumes:
        return []
    rest = sum(v.size_gib for v in volumes[1:])
    first = max(volumes[0].size_gib, storage_gib - rest)
    return [SizedVolume(volumes[0], first)] + [SizedVolume(v, v.size_gib) for v in volumes[1:]]


def _template_env(template: Template, given: dict[str, str]) -> list[tuple[str, str]]:
    secret_names = {s.name for s in template.secrets} | {g.name for g in template.generated_secrets}
    for name in given:
        if template.env_var(name) is None:
            if name in secret_names:
                raise UnknownEnvVar(
                    f"env.{name}",
                    given[name],
                    f"{name} is a secret of {template.id}",
                    f"pass it as a secret (--secret {name}=…), never as plain env",
                )
            declared = [e.name for e in template.env]
            raise UnknownEnvVar(
                f"env.{name}",
                given[name],
                f"template {template.id} declares no variable {name}",
                f"use one of {', '.join(declared) or '(none)'} ({did_you_mean(name, declared)})",
            )
    values: list[tuple[str, str]] = []
    for var in template.env:
        raw = given.get(var.name, var.default_text)
        if raw is None:
            if var.required:
                raise InvalidEnvValue(
                    f"env.{var.name}", None, f"required: {var.description}", f"pass --env {var.name}=<{var.type}>"
                )
            continue
        problem, value = value_problem(raw, var.type, var.pattern, var.values)
        if problem:
            raise InvalidEnvValue(f"env.{var.name}", raw, problem, f"give a valid {var.type}: {var.description}")
        values.append((var.name, value))
    return values


def _template_secrets(template: Template, spec: DeploymentSpec) -> dict[str, str]:
    generated = {g.name: g for g in template.generated_secrets}
    declared = {s.name: s for s in template.secrets}
    data: dict[str, str] = {}
    for name, value in spec.secrets.items():
        if name not in declared and name not in generated:
            names = sorted([*declared, *generated])
            raise InvalidSecret(
                f"secrets.{name}",
                "********",
                f"template {template.id} declares no secret {name}",
                f"use one of {', '.join(names) or '(none)'} ({did_you_mean(name, names)})",
            )
        rule = declared.get(name)
        if rule and rule.pattern and not _fullmatch(rule.pattern, value):
            raise InvalidSecret(
                f"secrets.{name}", "********", f"does not match the pattern {rule.pattern}", f"give {rule.description}"
            )
        if not value:
            raise InvalidSecret(f"secrets.{name}", "", "empty secret", "give a non-empty value or leave it out")
    for secret in template.secrets:
        if secret.name in spec.secrets:
            data[secret.name] = spec.secrets[secret.name]
        elif secret.required:
            raise MissingSecret(
                f"secrets.{secret.name}",
                None,
                f"required: {secret.description}",
                f"pass --secret {secret.name}=… or --secret-file",
            )
    for gen in template.generated_secrets:
        given = spec.secrets.get(gen.name) or spec.generated.get(gen.name)
        if not given:
            raise MissingSecret(
                f"generated.{gen.name}",
                None,
                f"no value for the generated secret ({gen.description})",
                "generate it with linq.catalog.generate_secrets(template) and pass it in `generated`",
            )
        data[gen.name] = given
    unknown_generated = sorted(set(spec.generated) - set(generated))
    if unknown_generated:
        raise InvalidSecret(
            f"generated.{unknown_generated[0]}",
            "********",
            "the template generates no such secret",
            f"generated secrets of {template.id}: {', '.join(generated) or '(none)'}",
        )
    return data


def _fullmatch(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value) is not None


def resolve_template(spec: DeploymentSpec, catalog: Catalog) -> Workload:
    assert spec.template is not None
    template = catalog.get(spec.template)
    plan_name, size = resolve_size(spec, catalog, template.min_plan)
    _check_size(template, plan_name, size, catalog)
    return Workload(
        kind=template.workload,
        app=template.id,
        version=template.version,
        image=template.image,
        ports=list(template.ports),
        endpoint=template.endpoint,
        plan_name=plan_name,
        resources=size,
        env=_template_env(template, spec.env),
        secret_data=_template_secrets(template, spec),
        volumes=size_volumes(template.volumes, size.storage_gib),
        config_files=list(template.config_files),
        health=template.health,
        command=template.command,
        args=template.args,
        security=template.security,
        gpu_count=template.gpu.count if template.gpu else 0,
        gpu_model=spec.gpu_model or (template.gpu.model if template.gpu else None),
    )


def resolve_custom(spec: DeploymentSpec, catalog: Catalog) -> Workload:
    assert spec.image is not None
    parse_image(spec.image, field="image")
    plan_name, size = resolve_size(spec, catalog)
    ports = spec.ports or [Port(name="http", container_port=8080)]
    endpoint = spec.endpoint or Endpoint(port=ports[0].name, kind="http")
    names = [p.name for p in ports]
    if endpoint.port not in names:
        raise InvalidSpec("endpoint.port", endpoint.port, "not one of the ports", f"use one of {', '.join(names)}")
    if spec.health and spec.health.port not in names:
        raise InvalidSpec("health.port", spec.health.port, "not one of the ports", f"use one of {', '.join(names)}")
    for name, value in [*spec.env.items(), *spec.secrets.items()]:
        if not name.isidentifier() or not name.isascii():
            raise InvalidEnvValue(
                f"env.{name}",
                value if name in spec.env else "********",
                "not a valid environment variable name",
                _ENV_NAME_FIX,
            )
    clash = sorted(set(spec.env) & set(spec.secrets))
    if clash:
        raise InvalidSpec(f"env.{clash[0]}", spec.env[clash[0]], "also given as a secret", "give it once")
    needed = sum(v.size_gib for v in spec.volumes)
    if needed > size.storage_gib:
        raise PlanTooSmall(
            "plan",
            plan_name,
            f"the volumes need {needed} GiB, the size has {size.storage_gib}",
            "choose a plan with more storage or smaller volumes",
        )
    if spec.generated:
        raise InvalidSpec(
            "generated", sorted(spec.generated), "custom images have no generated secrets", "pass them as secrets"
        )
    return Workload(
        kind="StatefulSet" if spec.volumes else "Deployment",
        app="custom",
        version=None,
        image=spec.image,
        ports=ports,
        endpoint=endpoint,
        plan_name=plan_name,
        resources=size,
        env=sorted(spec.env.items()),
        secret_data=dict(sorted(spec.secrets.items())),
        volumes=size_volumes(spec.volumes, size.storage_gib),
        config_files=list(spec.config_files),
        health=spec.health or Health(tcp=endpoint.port, startup_seconds=300),
        command=spec.command,
        args=spec.args,
        security=spec.security or Security(),
        gpu_count=size.gpu_count,
        gpu_model=spec.gpu_model,
    )
