"""Kubernetes names and labels derived from a deployment name: deterministic and DNS-safe."""

from __future__ import annotations

import hashlib
import re

DOMAIN = "linq.network"
LABEL_DEPLOYMENT = f"{DOMAIN}/deployment"
LABEL_TEMPLATE = f"{DOMAIN}/template"
LABEL_PLAN = f"{DOMAIN}/plan"
LABEL_KIND = f"{DOMAIN}/kind"  # template | custom | vm
LABEL_TENANT_NAMESPACE = f"{DOMAIN}/tenant"
ANNOTATION_NAME = f"{DOMAIN}/deployment-name"
ANNOTATION_ENDPOINT = f"{DOMAIN}/endpoint"  # "<kind>:<port name>:<port number>"
ANNOTATION_RESOURCES = f"{DOMAIN}/resources"
ANNOTATION_SPEC_HASH = f"{DOMAIN}/spec-hash"
# On the tenant namespace (written by AppDeployment, read by the provider's agent and `linq status`):
ANNOTATION_ESCROW_ID = f"{DOMAIN}/escrow-id"  # 0x + 64 hex digits: the escrow that pays for it
ANNOTATION_PROVIDER = f"{DOMAIN}/provider"  # 0x + 40 hex digits: the provider that serves it
MANAGED_BY = "linq"

NAMESPACE_PREFIX = "lq-"
_NOT_DNS = re.compile(r"[^a-z0-9]+")
_MAX_SLUG = 40


def slug(name: str, limit: int = _MAX_SLUG) -> str:
    """Lowercase DNS label fragment of `name` ('' when nothing is left)."""
    return _NOT_DNS.sub("-", name.lower()).strip("-")[:limit].strip("-")


def name_hash(name: str, length: int = 8) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:length]


def namespace_for(deployment_name: str) -> str:
    """lq-<slug>-<8 hex of sha256(name)>: at most 3 + 40 + 1 + 8 = 52 characters, a valid DNS label;
    the hash keeps names apart that slug alike ("My App" and "my-app")."""
    base = slug(deployment_name) or "deployment"
    return f"{NAMESPACE_PREFIX}{base}-{name_hash(deployment_name)}"


def workload_name(deployment_name: str) -> str:
    """The Deployment/StatefulSet/VM and Service name inside the namespace (at most 40 characters, so a
    StatefulSet's pod and controller-revision names stay inside Kubernetes' limits)."""
    return slug(deployment_name) or "app"
