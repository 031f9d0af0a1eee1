"""Resource plans (starter … gpu-large), read from templates/plans.yaml: the one source of plan sizes."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from linq.catalog.errors import InvalidTemplate, UnknownPlan, did_you_mean
from linq.catalog.paths import plans_file


class Resources(BaseModel):
    """A resource size: a named plan's, or explicit resources of a deployment."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)

    cpu_millis: int = Field(gt=0, description="CPU in millicores")
    memory_mib: int = Field(gt=0, alias="memoryMiB", description="memory in MiB")
    storage_gib: int = Field(ge=0, alias="storageGiB", description="persistent storage in GiB")
    ephemeral_storage_gib: int = Field(default=2, gt=0, alias="ephemeralStorageGiB")
    gpu_count: int = Field(default=0, ge=0)

    @property
    def reserved_storage_gib(self) -> int:
        """What the deployment takes of a provider's registered storage: its volumes plus its scratch space.
        The one rule for escrows, matching and estimates."""
        return self.storage_gib + self.ephemeral_storage_gib

    def covers(self, other: Resources) -> bool:
        """True when this size is at least `other` in CPU, memory and storage (GPUs are checked apart)."""
        return (
            self.cpu_millis >= other.cpu_millis
            and self.memory_mib >= other.memory_mib
            and self.storage_gib >= other.storage_gib
        )

    def describe(self) -> str:
        text = f"{self.cpu_millis}m CPU, {self.memory_mib} MiB memory, {self.storage_gib} GiB storage"
        return text + (f", {self.gpu_count} GPU" if self.gpu_count else "")


class Plan(Resources):
    name: str
    title: str
    description: str = ""


class Plans(BaseModel):
    """The plan ladder, smallest first."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    order: tuple[str, ...]
    plans: dict[str, Plan]

    @model_validator(mode="before")
    @classmethod
    def _name_plans(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("plans"), dict):
            data = dict(data)
            data["plans"] = {k: ({"name": k, **v} if isinstance(v, dict) else v) for k, v in data["plans"].items()}
        return data

    @model_validator(mode="after")
    def _order_names_every_plan(self) -> Plans:
        if sorted(self.order) != sorted(self.plans) or len(set(self.order)) != len(self.order):
            raise ValueError(f"order {list(self.order)} must list every plan {sorted(self.plans)} exactly once")
        return self

    def get(self, name: str, field: str = "plan") -> Plan:
        try:
            return self.plans[name]
        except KeyError:
            raise UnknownPlan(
                field, name, "no such plan", f"use one of {', '.join(self.order)} ({did_you_mean(name, self.order)})"
            ) from None

    def rank(self, name: str) -> int:
        return self.order.index(self.get(name).name)

    def ladder(self) -> list[Plan]:
        return [self.plans[name] for name in self.order]

    def smallest_covering(self, need: Resources, gpus: int = 0) -> Plan | None:
        """The first plan on the ladder that covers `need` and has at least `gpus` GPUs."""
        return next((p for p in self.ladder() if p.covers(need) and p.gpu_count >= gpus), None)


def parse_plans(text: str, source: str = "plans.yaml") -> Plans:
    try:
        return Plans.model_validate(yaml.safe_load(text))
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidTemplate(
            f"{source}:{where}", first.get("input"), first["msg"], "correct templates/plans.yaml"
        ) from None


@cache
def _load(path: Path, mtime_ns: int) -> Plans:
    return parse_plans(path.read_text(), source=str(path))


def load_plans(path: Path | None = None) -> Plans:
    """Read the plans (cached per file version)."""
    path = path or plans_file()
    return _load(path, path.stat().st_mtime_ns)
