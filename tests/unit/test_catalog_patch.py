"""Patches of the rendered manifests (the "edit before deploy" of the YAML review)."""

from __future__ import annotations

import pytest

from linq.catalog import apply_patches, load_catalog, parse_patches, render
from linq.catalog.errors import InvalidPatch
from linq.catalog.patch import merge_patch
from tests.unit.catalog_helpers import example_spec, one, validate_manifest

CATALOG = load_catalog()


def _rendered() -> list[dict]:
    return render(example_spec(CATALOG.get("grafana"), name="dash"))


@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [  # RFC 7386 appendix A
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_follows_rfc_7386(target, patch, result) -> None:
    assert merge_patch(target, patch) == result


def test_merge_patch_changes_the_workload_and_stays_valid() -> None:
    patches = parse_patches("""
- target: {kind: StatefulSet, name: dash}
  patch:
    metadata: {annotations: {team: observability}}
    spec: {template: {spec: {terminationGracePeriodSeconds: 90}}}
""")
    patched = apply_patches(_rendered(), patches)
    workload = one(patched, "StatefulSet")
    assert workload["metadata"]["annotations"]["team"] == "observability"
    assert workload["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 90
    assert workload["spec"]["template"]["spec"]["containers"][0]["name"] == "grafana"  # untouched
    for manifest in patched:
        validate_manifest(manifest)


def test_strategic_patch_merges_named_list_items() -> None:
    patches = parse_patches("""
- target: {kind: StatefulSet, name: dash}
  type: strategic
  patch:
    spec:
      template:
        spec:
          containers:
            - name: grafana
              env:
                - {name: GF_USERS_ALLOW_SIGN_UP, value: "true"}
                - {name: GF_LOG_LEVEL, value: debug}
                - {name: GF_ANALYTICS_REPORTING_ENABLED, $patch: delete}
""")
    original = _rendered()
    patched = apply_patches(original, patches)
    env = {e["name"]: e for e in one(patched, "StatefulSet")["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["GF_USERS_ALLOW_SIGN_UP"]["value"] == "true"
    assert env["GF_LOG_LEVEL"]["value"] == "debug"
    assert "GF_ANALYTICS_REPORTING_ENABLED" not in env
    assert "valueFrom" in env["GF_SECURITY_ADMIN_PASSWORD"]  # other items kept as they were
    before = {e["name"] for e in one(original, "StatefulSet")["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "GF_ANALYTICS_REPORTING_ENABLED" in before  # the input list is not changed
    for manifest in patched:
        validate_manifest(manifest)


def test_patch_of_a_missing_object_names_the_targets() -> None:
    patches = parse_patches('[{"target": {"kind": "Deployment", "name": "dash"}, "patch": {"spec": {}}}]')
    with pytest.raises(InvalidPatch) as caught:
        apply_patches(_rendered(), patches)
    error = caught.value
    assert error.field == "patch[0].target" and error.value == "Deployment/dash"
    assert "StatefulSet/dash" in error.fix


@pytest.mark.parametrize("kind", ["NetworkPolicy", "ResourceQuota", "Namespace", "LimitRange"])
def test_isolation_bundle_cannot_be_patched(kind: str) -> None:
    name = {"NetworkPolicy": "default-deny", "ResourceQuota": "plan-quota", "LimitRange": "plan-limits"}.get(kind, "x")
    patches = parse_patches(f"- target: {{kind: {kind}, name: {name}}}\n  patch: {{spec: null}}\n")
    with pytest.raises(InvalidPatch, match="isolation bundle cannot be patched"):
        apply_patches(_rendered(), patches)


def test_patch_cannot_rename_or_move_an_object() -> None:
    patches = parse_patches("- target: {kind: Service, name: dash}\n  patch: {metadata: {namespace: kube-system}}\n")
    with pytest.raises(InvalidPatch, match=r"changes metadata\.namespace"):
        apply_patches(_rendered(), patches)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- {patch: {}}", "target"),
        ("- target: {kind: Service}\n  patch: {}", "name"),
        ("- target: {kind: Service, name: dash}\n  type: json6902\n  patch: {}", "type"),
        ("just text", "expected a list"),
        ("- [unclosed", "not valid YAML"),
    ],
)
def test_malformed_patch_files(text: str, message: str) -> None:
    with pytest.raises(InvalidPatch, match=message):
        parse_patches(text, source="p.yaml")
