"""How a tenant namespace names its escrow: the labels and annotations AppDeployment writes and the agent reads."""

from __future__ import annotations

from linq.catalog.names import DOMAIN, LABEL_DEPLOYMENT, LABEL_TENANT_NAMESPACE, MANAGED_BY

# On the tenant namespace: which escrow pays for it and which provider serves it.
ANNOTATION_ESCROW_ID = f"{DOMAIN}/escrow-id"  # 0x + 64 hex digits
ANNOTATION_PROVIDER = f"{DOMAIN}/provider"  # 0x + 40 hex digits
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"

__all__ = [
    "ANNOTATION_ESCROW_ID",
    "ANNOTATION_PROVIDER",
    "LABEL_DEPLOYMENT",
    "LABEL_MANAGED_BY",
    "LABEL_TENANT_NAMESPACE",
    "MANAGED_BY",
]
