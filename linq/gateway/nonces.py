"""Single-use nonces kept in the cluster, so every gateway replica behind one Service sees the same ones.

A nonce is consumed by creating the ConfigMap `n-<nonce hex>` in the gateway's namespace: the API server's
create is atomic, so of two replicas racing on one nonce exactly one wins and the other sees 409 (a replay).
Each object carries the request's expiry; `sweep` deletes the expired ones (a request past its expiry is
refused before its nonce is looked at, so forgetting it then is safe).
"""

from __future__ import annotations

import time

from linq.gateway import kubeapi
from linq.kube import Kube

LABEL = "linq.network/gateway-nonce"
ANNOTATION_EXPIRES = "linq.network/expires-at"


class NonceStore:
    def __init__(self, api: Kube, namespace: str) -> None:
        self.api = api
        self.namespace = namespace

    def consume(self, nonce: str, expires_at: int, escrow_id: str) -> bool:
        """True the first time `nonce` is seen (by any replica); False for a replay."""
        obj = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "n-" + nonce.lower().removeprefix("0x"),
                "namespace": self.namespace,
                "labels": {LABEL: "true"},
                "annotations": {ANNOTATION_EXPIRES: str(expires_at)},
            },
            "data": {"escrowId": escrow_id},
        }
        return kubeapi.create(self.api, obj)

    def seen(self, nonce: str) -> bool:
        name = "n-" + nonce.lower().removeprefix("0x")
        return kubeapi.get(self.api, "ConfigMap", name, self.namespace) is not None

    def sweep(self, now: int | None = None) -> int:
        """Delete nonces whose request has expired; returns how many."""
        moment = int(time.time()) if now is None else now
        listing = (
            kubeapi.call(
                self.api,
                "GET",
                kubeapi.path("ConfigMap", None, self.namespace),
                query=[("labelSelector", f"{LABEL}=true")],
            )
            or {}
        )
        gone = 0
        for item in listing.get("items", []):
            meta = item["metadata"]
            try:
                expires = int((meta.get("annotations") or {}).get(ANNOTATION_EXPIRES, "0"))
            except ValueError:
                expires = 0
            if expires < moment and kubeapi.delete(self.api, "ConfigMap", meta["name"], self.namespace):
                gone += 1
        return gone
