"""The app catalog: template models and loading, resource plans, and rendering a deployment into the
Kubernetes manifests of one isolated tenant namespace (what `linq render` prints for review)."""

from linq.catalog.catalog import Catalog, load_catalog, parse_template
from linq.catalog.errors import CatalogError
from linq.catalog.models import Template
from linq.catalog.names import namespace_for, workload_name
from linq.catalog.output import mask_secrets, to_json, to_yaml
from linq.catalog.patch import apply_patches, parse_patches
from linq.catalog.plans import Plan, Plans, Resources, load_plans
from linq.catalog.render import render
from linq.catalog.secretgen import generate_secrets
from linq.catalog.spec import DeploymentSpec, RenderOptions, VmSpec

__all__ = [
    "Catalog",
    "CatalogError",
    "DeploymentSpec",
    "Plan",
    "Plans",
    "RenderOptions",
    "Resources",
    "Template",
    "VmSpec",
    "apply_patches",
    "generate_secrets",
    "load_catalog",
    "load_plans",
    "mask_secrets",
    "namespace_for",
    "parse_patches",
    "parse_template",
    "render",
    "to_json",
    "to_yaml",
    "workload_name",
]
