"""Every template in templates/ passes the schema, and the schema rejects what it must."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from linq.catalog import load_catalog, parse_template
from linq.catalog.catalog import Catalog, read_templates
from linq.catalog.errors import BadImageReference, InvalidTemplate
from linq.catalog.imageref import parse_image
from linq.catalog.paths import templates_dir

CATALOG = load_catalog()
TEMPLATE_FILES = sorted(p for p in templates_dir().glob("*.yaml") if p.name != "plans.yaml")
SECRET_LIKE = re.compile(r"(^|_)(PASSWORD|PASSWD|PASS|SECRET|TOKEN|API_KEY|PRIVATE_KEY)(_|$)", re.IGNORECASE)


def test_catalog_has_at_least_55_templates_in_the_required_categories() -> None:
    assert len(CATALOG) >= 55
    categories = {t.category for t in CATALOG}
    for needed in ("llm", "database", "monitoring", "business", "devtools", "ai-dev-env", "storage", "cms"):
        assert needed in categories, needed
    # The protocol site names these.
    for needed in ("open-webui", "wekan", "uptime-kuma", "erpnext", "metabase", "aura-code"):
        assert needed in CATALOG.ids()


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda p: p.stem)
def test_template_file_passes_the_schema(path: Path) -> None:
    template = parse_template(path.read_text(), source=path.name)
    assert template.id == path.stem
    ref = parse_image(template.image)
    assert ref.tag not in {"latest", "main", "master", "stable"}
    if ref.digest:
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", ref.digest)
    assert template.version.removeprefix("v") in ref.tag


@pytest.mark.parametrize("template", list(CATALOG), ids=lambda t: t.id)
def test_no_secret_is_written_into_a_template(template) -> None:
    for var in template.env:
        if SECRET_LIKE.search(var.name):
            assert var.default is None, f"{template.id}: {var.name} looks like a secret but has a default"
    for rule in template.generated_secrets:
        assert rule.length >= 12
    # Required user values come with examples that pass their own checks (the schema enforces it).
    for secret in template.secrets:
        if secret.required:
            assert secret.example


def _valid() -> dict:
    return yaml.safe_load((templates_dir() / "postgresql.yaml").read_text())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"image": "postgres:latest"}, "moves between releases"),
        ({"image": "postgres"}, "has no tag"),
        ({"image": "postgres:17.11@sha256:abc"}, "digest"),
        ({"image": "Postgres!!:17"}, "not a valid image reference"),
        ({"unexpected": 1}, "Extra inputs are not permitted"),
        ({"version": "16.1"}, "does not appear in the image tag"),
        ({"workload": "Deployment"}, "must use workload StatefulSet"),
        ({"endpoint": {"port": "web", "kind": "http"}}, "endpoint.port 'web'"),
        ({"category": "games"}, "Input should be"),
        ({"security": {"addCapabilities": ["SYS_ADMIN"]}}, "Input should be"),
        ({"args": ["--password", "$(NOT_DECLARED)"]}, "names no declared env var"),
        (
            {"env": [{"name": "MODE", "type": "enum", "values": ["a"], "default": "b", "description": "d"}]},
            "expected one of a",
        ),
        ({"env": [{"name": "URL", "type": "url", "required": True, "description": "d"}]}, "needs an `example`"),
        ({"env": [{"name": "N", "type": "int", "default": "ten", "description": "d"}]}, "expected an integer"),
        ({"id": "Bad_Id"}, "not a valid slug"),
        ({"ports": [{"name": "postgres", "containerPort": 70000}]}, "less than or equal to 65535"),
    ],
)
def test_schema_rejects(change: dict, message: str) -> None:
    data = {**_valid(), **change}
    with pytest.raises((InvalidTemplate, BadImageReference)) as caught:
        parse_template(yaml.safe_dump(data), source="case.yaml")
    assert message in str(caught.value)
    assert "case.yaml" in str(caught.value) or isinstance(caught.value, BadImageReference)


def test_catalog_rejects_a_gpu_template_with_a_cpu_minimum_plan(tmp_path: Path) -> None:
    data = yaml.safe_load((templates_dir() / "vllm.yaml").read_text())
    data["minPlan"] = "pro"
    (tmp_path / "vllm.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(InvalidTemplate, match="set minPlan to a GPU plan"):
        Catalog(read_templates(tmp_path), CATALOG.plans)


def test_catalog_rejects_a_file_named_unlike_its_id(tmp_path: Path) -> None:
    (tmp_path / "pg.yaml").write_text((templates_dir() / "postgresql.yaml").read_text())
    with pytest.raises(InvalidTemplate, match=r"rename the file to postgresql\.yaml"):
        read_templates(tmp_path)


def test_catalog_rejects_volumes_larger_than_the_minimum_plan(tmp_path: Path) -> None:
    data = _valid()
    data["volumes"][0]["sizeGiB"] = 500
    (tmp_path / "postgresql.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(InvalidTemplate, match="raise minPlan"):
        Catalog(read_templates(tmp_path), CATALOG.plans)


@pytest.mark.parametrize(
    "reference",
    [
        "nginx:1.27.4",
        "ghcr.io/org/app:v1.2.3",
        "localhost:5000/team/app:2025.01.02",
        "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z",
        "library/redis:7.4.11@sha256:" + "a" * 64,
    ],
)
def test_image_references_that_are_pinned_parse(reference: str) -> None:
    ref = parse_image(reference)
    assert str(ref) == reference


def test_templates_readme_lists_every_template() -> None:
    readme = (templates_dir() / "README.md").read_text()
    missing = [t.id for t in CATALOG if f"| `{t.id}` |" not in readme]
    assert not missing, f"add these to templates/README.md: {missing}"
