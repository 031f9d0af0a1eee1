"""The devnet's volume provisioner: binds each pending claim of the default StorageClass to a volume.

There is no kubelet and no disk behind it (pods are kwok's), so a PersistentVolume is only the API object
the scheduler and controllers need; this is what lets stateful templates become Ready on the devnet.
Runs as its own devnet process; released volumes are deleted, as a real provisioner's reclaim policy would.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from linq.devnet.kubeapi import KubeAPI, KubeError

STORAGE_CLASS = "linq-devnet"
PROVISIONER = "linq.network/devnet"


def storage_class() -> dict:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS, "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": PROVISIONER,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
        "allowVolumeExpansion": True,
    }


def volume_for(claim: dict) -> dict:
    meta = claim["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": f"pv-{meta['uid']}", "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER}},
        "spec": {
            "capacity": {"storage": claim["spec"]["resources"]["requests"]["storage"]},
            "accessModes": claim["spec"].get("accessModes", ["ReadWriteOnce"]),
            "storageClassName": STORAGE_CLASS,
            "persistentVolumeReclaimPolicy": "Delete",
            "hostPath": {"path": f"/nonexistent/linq-devnet/{meta['uid']}"},  # never mounted: no kubelet
            "claimRef": {"namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"]},
        },
    }


def reconcile(api: KubeAPI) -> None:
    for claim in api.get("/api/v1/persistentvolumeclaims")["items"]:
        spec = claim["spec"]
        if spec.get("volumeName") or spec.get("storageClassName") != STORAGE_CLASS:
            continue
        try:
            api.post("/api/v1/persistentvolumes", volume_for(claim))
        except KubeError as error:
            if error.status != 409:
                raise
    for volume in api.get("/api/v1/persistentvolumes")["items"]:
        provisioned = volume["metadata"].get("annotations", {}).get("pv.kubernetes.io/provisioned-by")
        if provisioned == PROVISIONER and volume.get("status", {}).get("phase") == "Released":
            api.delete(f"/api/v1/persistentvolumes/{volume['metadata']['name']}")


def main() -> None:
    api = KubeAPI.from_kubeconfig(Path(sys.argv[1]))
    while True:
        try:
            reconcile(api)
        except Exception as error:  # keep serving; the API server may be restarting
            print(f"provisioner: {error}", flush=True)
        time.sleep(1.0)


if __name__ == "__main__":
    main()
