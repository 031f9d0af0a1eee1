"""The template catalog: one YAML file per template under templates/, named <id>.yaml."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from linq.catalog.errors import InvalidTemplate, UnknownTemplate, did_you_mean
from linq.catalog.models import Template
from linq.catalog.paths import templates_dir
from linq.catalog.plans import Plans, load_plans

NOT_TEMPLATES = {"plans.yaml"}


def parse_template(text: str, source: str) -> Template:
    """Validate one template document; errors name the file, the field path and the bad value."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InvalidTemplate(source, None, f"not valid YAML ({error})", "fix the YAML syntax") from None
    try:
        return Template.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise InvalidTemplate(
            f"{source}:{where}",
            first.get("input"),
            first["msg"],
            "correct the template against linq/catalog/models.py (see docs/catalog.md)",
        ) from None


class Catalog:
    """Templates by id, checked against the plans (minimum plan names, GPU needs)."""

    def __init__(self, templates: list[Template], plans: Plans) -> None:
        self.plans = plans
        self._by_id: dict[str, Template] = {}
        for template in sorted(templates, key=lambda t: t.id):
            if template.id in self._by_id:
                raise InvalidTemplate("id", template.id, "two templates share this id", "rename one")
            plans.get(template.min_plan, field=f"{template.id}.minPlan")
            if template.gpu and plans.get(template.min_plan).gpu_count < template.gpu.count:
                raise InvalidTemplate(
                    f"{template.id}.minPlan",
                    template.min_plan,
                    f"the template needs {template.gpu.count} GPU(s) but this plan has fewer",
                    "set minPlan to a GPU plan (gpu-small, gpu-large)",
                )
            needed = sum(v.size_gib for v in template.volumes)
            if needed > plans.get(template.min_plan).storage_gib:
                raise InvalidTemplate(
                    f"{template.id}.volumes",
                    needed,
                    f"the volumes need more than the {template.min_plan} plan's storage",
                    "shrink the volumes or raise minPlan",
                )
            self._by_id[template.id] = template

    def __iter__(self) -> Iterator[Template]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def ids(self) -> list[str]:
        return list(self._by_id)

    def get(self, template_id: str, field: str = "template") -> Template:
        try:
            return self._by_id[template_id]
        except KeyError:
            raise UnknownTemplate(
                field,
                template_id,
                "no template with this id",
                f"{did_you_mean(template_id, self._by_id)} (`linq templates list` shows all)",
            ) from None


def read_templates(directory: Path) -> list[Template]:
    templates = []
    for path in sorted(directory.glob("*.yaml")):
        if path.name in NOT_TEMPLATES:
            continue
        template = parse_template(path.read_text(), source=path.name)
        if template.id != path.stem:
            raise InvalidTemplate(
                f"{path.name}:id",
                template.id,
                "the id differs from the file name",
                f"rename the file to {template.id}.yaml or the id to {path.stem}",
            )
        templates.append(template)
    return templates


@cache
def _load(directory: Path, stamp: tuple[tuple[str, int], ...]) -> Catalog:
    return Catalog(read_templates(directory), load_plans(directory / "plans.yaml"))


def load_catalog(directory: Path | None = None) -> Catalog:
    """The catalog in `directory` (default templates/), cached until a file changes."""
    directory = directory or templates_dir()
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(directory.glob("*.yaml")))
    return _load(directory, stamp)
