"""What a user asks to deploy (DeploymentSpec) and how the provider's cluster is set up (RenderOptions)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from linq.catalog.models import ConfigFile, Endpoint, Health, Port, Security, Volume
from linq.catalog.plans import Resources
from linq.tools import versions

_SSH_KEY = re.compile(
    r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|"
    r"sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\n]*)?$"
)
_LINUX_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


class SpecModel(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


class VmSpec(SpecModel):
    """A KubeVirt virtual machine booted from a containerDisk, reached over SSH."""

    image: str = Field(description="containerDisk image, pinned, e.g. quay.io/containerdisks/ubuntu:24.04")
    ssh_public_keys: list[str] = Field(min_length=1)
    user: str = "linq"

    @field_validator("ssh_public_keys")
    @classmethod
    def _keys(cls, keys: list[str]) -> list[str]:
        for key in keys:
            if not _SSH_KEY.match(key.strip()):
                raise ValueError(
                    f"ssh public key {key[:40]!r}… is not an OpenSSH public key line "
                    "(expected 'ssh-ed25519 AAAA… comment'); pass the .pub file, never the private key"
                )
        return [key.strip() for key in keys]

    @field_validator("user")
    @classmethod
    def _user(cls, user: str) -> str:
        if not _LINUX_USER.match(user) or user == "root":
            raise ValueError(f"vm user {user!r} must be a lowercase Linux user name other than root")
        return user


class WorkloadSpec(SpecModel):
    """What runs and how big it is: exactly one of `template`, `image` (custom container) or `vm`; a plan or
    explicit resources (neither = the template's minimum plan, or starter). The one list of these fields:
    `linq render` (DeploymentSpec) and the stack's `linq:deployments` (linq.stackconfig) both derive from it."""

    template: str | None = None
    image: str | None = None
    vm: VmSpec | None = None
    plan: str | None = None
    resources: Resources | None = None
    env: dict[str, str] = {}
    # custom containers only
    ports: list[Port] = []
    endpoint: Endpoint | None = None
    command: list[str] | None = None
    args: list[str] | None = None
    volumes: list[Volume] = []
    config_files: list[ConfigFile] = []
    health: Health | None = None
    security: Security | None = None

    @model_validator(mode="after")
    def _one_source(self) -> WorkloadSpec:
        chosen = [k for k in ("template", "image", "vm") if getattr(self, k) is not None]
        if len(chosen) != 1:
            raise ValueError(
                f"give exactly one of template, image or vm (got {' and '.join(chosen) or 'none'}); "
                + ("keep one: a template already names its image" if chosen else "e.g. template: open-webui")
            )
        if self.plan is not None and self.resources is not None:
            raise ValueError("give a plan or explicit resources, not both")
        custom_only = [
            k
            for k in ("ports", "endpoint", "command", "args", "volumes", "config_files", "health", "security")
            if getattr(self, k) not in (None, [])
        ]
        if custom_only and self.image is None:
            raise ValueError(f"{', '.join(custom_only)} apply to custom images only (the template defines them)")
        return self

    @property
    def kind(self) -> Literal["template", "custom", "vm"]:
        return "template" if self.template else "custom" if self.image else "vm"

    def workload_fields(self) -> dict[str, Any]:
        """The WorkloadSpec fields by name, to build another WorkloadSpec (a DeploymentSpec) from them."""
        return {name: getattr(self, name) for name in WorkloadSpec.model_fields}


class DeploymentSpec(WorkloadSpec):
    """One deployment as `linq render` takes it: the workload, its name and the secret values it gets."""

    name: str = Field(min_length=1, max_length=100)
    secrets: dict[str, str] = {}
    generated: dict[str, str] = Field(default={}, description="values for the template's generatedSecrets")
    gpu_model: str | None = Field(default=None, description="GPU class model the matched provider offers")


DEFAULT_DENIED_CIDRS = (
    "10.0.0.0/8",  # RFC 1918
    "172.16.0.0/12",  # RFC 1918
    "192.168.0.0/16",  # RFC 1918
    "100.64.0.0/10",  # carrier-grade NAT (RFC 6598), used by some CNIs and tailnets
    "169.254.0.0/16",  # link-local, cloud metadata endpoints
)
DEFAULT_DENIED_CIDRS_V6 = ("fc00::/7", "fe80::/10")


class RenderOptions(SpecModel):
    """Settings of the provider's cluster that shape the tenant bundle (not the user's choice)."""

    ingress_namespace: str = Field(default="linq-ingress", pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
    extra_denied_cidrs: list[str] = Field(default=[], description="node and service CIDRs of the cluster")
    pod_security_version: str = "v" + ".".join(versions.KUBERNETES.split(".")[:2])
    runtime_class: str | None = Field(default=None, description="e.g. gvisor for sandboxed tenants")
    storage_class: str | None = None
    gpu_resource: str = "nvidia.com/gpu"
    gpu_model_label: str = "nvidia.com/gpu.product"
    vm_overhead_mib: int = Field(default=256, ge=0, description="memory kept for the virt-launcher pod")
    vm_overhead_millis: int = Field(default=100, ge=0, description="CPU kept for the virt-launcher pod")

    @field_validator("extra_denied_cidrs")
    @classmethod
    def _cidrs(cls, cidrs: list[str]) -> list[str]:
        return [str(ipaddress.ip_network(c, strict=False)) for c in cidrs]
