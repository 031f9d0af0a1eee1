"""The template schema: every file in templates/ must pass it (extra keys are errors)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from linq.catalog.imageref import parse_image
from linq.catalog.values import VAR_REFERENCE, EnvType, to_text, value_problem

Category = Literal[
    "llm",
    "ai-dev-env",
    "database",
    "monitoring",
    "business",
    "devtools",
    "storage",
    "analytics",
    "networking",
    "communication",
    "cms",
    "security",
    "automation",
    "messaging",
]
CATEGORIES: tuple[str, ...] = Category.__args__  # type: ignore[attr-defined]

# Capabilities the PodSecurity "baseline" level allows a container to add; nothing else is accepted.
BaselineCapability = Literal[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
]

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
_PORT_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9](?:[a-z0-9-]{0,13}[a-z0-9])?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DNS_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")


def _check(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"{value!r} is not a valid {what} (pattern {pattern.pattern})")
        return value

    return AfterValidator(check)


Slug = Annotated[str, _check(_SLUG, "slug: lowercase letters, digits and '-', at most 40")]
PortName = Annotated[str, _check(_PORT_NAME, "port name: lowercase, at most 15, one letter at least")]
EnvName = Annotated[str, _check(_ENV_NAME, "environment variable name")]
VolumeName = Annotated[str, _check(_DNS_LABEL, "volume name: a DNS label of at most 32")]
AbsPath = Annotated[str, Field(pattern=r"^/[^:]*$", max_length=4096)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


class Port(Strict):
    name: PortName
    container_port: int = Field(ge=1, le=65535)
    protocol: Literal["TCP", "UDP"] = "TCP"


class Endpoint(Strict):
    """The one port the provider's ingress exposes, and how (http routes by host, tcp by port)."""

    port: PortName
    kind: Literal["http", "tcp"]


class EnvVar(Strict):
    name: EnvName
    description: str
    type: EnvType = "string"
    default: str | int | bool | None = None
    pattern: str | None = None
    values: list[str] | None = Field(default=None, description="choices when type is enum")
    required: bool = False
    example: str | None = Field(default=None, description="a valid sample value (docs, tests)")

    @model_validator(mode="after")
    def _default_is_valid(self) -> EnvVar:
        if self.pattern is not None:
            re.compile(self.pattern)
        if self.type == "enum" and not self.values:
            raise ValueError(f"env {self.name}: type enum needs `values`")
        for what, sample in (("default", self.default), ("example", self.example)):
            if sample is not None:
                problem, _ = value_problem(to_text(sample), self.type, self.pattern, self.values)
                if problem:
                    raise ValueError(f"env {self.name}: {what} {sample!r} {problem}")
        if self.required and self.default is None and self.example is None:
            raise ValueError(f"env {self.name}: a required variable without default needs an `example`")
        return self

    @property
    def default_text(self) -> str | None:
        return None if self.default is None else to_text(self.default)


class UserSecret(Strict):
    """A secret the user supplies (API keys, external database URLs); injected from a Kubernetes Secret."""

    name: EnvName
    description: str
    required: bool = True
    pattern: str | None = None
    example: str | None = Field(default=None, description="a sample value of the right shape (docs, tests)")

    @model_validator(mode="after")
    def _example_is_valid(self) -> UserSecret:
        if self.pattern is not None:
            re.compile(self.pattern)
            if self.example is not None and not re.fullmatch(self.pattern, self.example):
                raise ValueError(f"secret {self.name}: example does not match the pattern {self.pattern}")
        if self.required and self.example is None:
            raise ValueError(f"secret {self.name}: a required secret needs an `example` (a fake, never a real one)")
        return self


class GeneratedSecret(Strict):
    """A random value made at deploy time (passwords, signing keys); never written in a template."""

    name: EnvName
    description: str
    length: int = Field(default=32, ge=12, le=128)
    charset: Literal["alphanumeric", "hex", "base64url"] = "alphanumeric"


class Volume(Strict):
    """A persistent volume. `sizeGiB` is the minimum; the first volume also takes whatever storage
    of the plan the others leave."""

    name: VolumeName
    mount_path: AbsPath
    size_gib: int = Field(default=1, ge=1, alias="sizeGiB")


class ConfigFile(Strict):
    """A file mounted read-only into the container (from a ConfigMap)."""

    mount_path: AbsPath
    content: str


class HttpCheck(Strict):
    path: str = Field(pattern=r"^/")
    port: PortName


class Health(Strict):
    http: HttpCheck | None = None
    tcp: PortName | None = None
    startup_seconds: int = Field(default=120, ge=10, le=1800, description="time allowed to first become healthy")

    @model_validator(mode="after")
    def _one_check(self) -> Health:
        if (self.http is None) == (self.tcp is None):
            raise ValueError("health needs exactly one of http or tcp")
        return self

    @property
    def port(self) -> str:
        return self.http.port if self.http else str(self.tcp)


class Gpu(Strict):
    count: int = Field(ge=1, le=8)
    model: str | None = Field(default=None, description="GPU class model, e.g. nvidia-a100; None = any")
    min_vram_gib: int | None = Field(default=None, ge=1, alias="minVramGiB")


class Security(Strict):
    """Hints the image needs: user/group ids and baseline capabilities for root images."""

    run_as_user: int | None = Field(default=None, ge=0)
    run_as_group: int | None = Field(default=None, ge=0)
    fs_group: int | None = Field(default=None, ge=0)
    add_capabilities: list[BaselineCapability] = []


class Template(Strict):
    id: Slug
    name: str = Field(min_length=1, max_length=60)
    description: str = Field(min_length=20)
    category: Category
    version: str = Field(min_length=1, description="the app's release, which the image tag carries")
    docs: HttpUrl
    image: str
    ports: list[Port] = Field(min_length=1)
    endpoint: Endpoint
    env: list[EnvVar] = []
    secrets: list[UserSecret] = []
    generated_secrets: list[GeneratedSecret] = []
    volumes: list[Volume] = []
    config_files: list[ConfigFile] = []
    health: Health
    min_plan: str = "starter"
    gpu: Gpu | None = None
    workload: Literal["Deployment", "StatefulSet"] = "Deployment"
    command: list[str] | None = None
    args: list[str] | None = None
    security: Security = Security()
    tags: list[str] = []

    @field_validator("image")
    @classmethod
    def _pinned_image(cls, value: str) -> str:
        parse_image(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Template:
        tag = parse_image(self.image).tag
        if self.version.removeprefix("v") not in tag:
            raise ValueError(f"version {self.version!r} does not appear in the image tag {tag!r}")
        port_names = [p.name for p in self.ports]
        _unique("port name", port_names)
        _unique("container port", [f"{p.container_port}/{p.protocol}" for p in self.ports])
        for what, name in (("endpoint.port", self.endpoint.port), ("health port", self.health.port)):
            if name not in port_names:
                raise ValueError(f"{what} {name!r} is not one of the ports {port_names}")
        names = self.variable_names()
        _unique("environment/secret name", names)
        _unique("volume name", [v.name for v in self.volumes])
        _unique("mount path", [v.mount_path for v in self.volumes] + [f.mount_path for f in self.config_files])
        if self.volumes and self.workload != "StatefulSet":
            raise ValueError("a template with volumes must use workload StatefulSet (stable storage)")
        if self.workload == "StatefulSet" and not self.volumes:
            raise ValueError("workload StatefulSet needs at least one volume; use Deployment")
        texts = [to_text(e.default) for e in self.env if e.default is not None]
        for text in texts + (self.command or []) + (self.args or []):
            for ref in VAR_REFERENCE.findall(text):
                if ref not in names:
                    raise ValueError(f"$({ref}) in {text!r} names no declared env var or secret")
        return self

    def variable_names(self) -> list[str]:
        return [s.name for s in self.secrets] + [g.name for g in self.generated_secrets] + [e.name for e in self.env]

    def env_var(self, name: str) -> EnvVar | None:
        return next((e for e in self.env if e.name == name), None)

    def port(self, name: str) -> Port:
        return next(p for p in self.ports if p.name == name)

    def summary(self) -> dict[str, Any]:
        """The template's row in a listing (`linq templates list --json`, `GET /api/v1/templates`)."""
        return {
            "id": self.id,
            "name": self.name,
            "category": self.category,
            "version": self.version,
            "image": self.image,
            "minPlan": self.min_plan,
            "gpu": self.gpu.count if self.gpu else 0,
            "endpoint": self.endpoint.kind,
            "description": self.description,
        }


def _unique(what: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"duplicate {what} {value!r}")
        seen.add(value)
