"""How a tenant namespace names its escrow: the labels and annotations AppDeployment writes and the agent reads."""

from __future__ import annotations

from linq.catalog.names import (
    ANNOTATION_ESCROW_ID,
    ANNOTATION_PROVIDER,
    LABEL_DEPLOYMENT,
    LABEL_TENANT_NAMESPACE,
    MANAGED_BY,
)

LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"

__all__ = [
    "ANNOTATION_ESCROW_ID",
    "ANNOTATION_PROVIDER",
    "LABEL_DEPLOYMENT",
    "LABEL_MANAGED_BY",
    "LABEL_TENANT_NAMESPACE",
    "MANAGED_BY",
]
