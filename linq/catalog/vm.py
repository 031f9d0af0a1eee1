"""A KubeVirt VirtualMachine deployment: containerDisk root, a persistent data disk sized from the plan,
the user's SSH keys through cloud-init, and a Service for SSH. KubeVirt is a CRD, so the structure we emit
is pinned by VM_SCHEMA (a JSON schema of our own) instead of kubernetes-validate."""

from __future__ import annotations

import math
from typing import Any

import yaml

from linq.catalog.isolation import Manifest, cpu, gib, meta, mib
from linq.catalog.plans import Resources
from linq.catalog.spec import RenderOptions, VmSpec

DATA_DISK_SERIAL = "linq-data"
SSH_PORT = 22


def guest_size(size: Resources, options: RenderOptions) -> tuple[int, int]:
    """Guest CPU millis and memory MiB: the plan minus what the virt-launcher pod itself needs, so that
    the launcher pod (guest + overhead) fits the namespace quota, which is the plan."""
    return (
        max(100, size.cpu_millis - options.vm_overhead_millis),
        max(256, size.memory_mib - options.vm_overhead_mib),
    )


def cloud_config(vm: VmSpec, with_data_disk: bool) -> str:
    config: dict[str, Any] = {
        "users": [
            {
                "name": vm.user,
                "shell": "/bin/bash",
                "sudo": "ALL=(ALL) NOPASSWD:ALL",
                "lock_passwd": True,
                "ssh_authorized_keys": list(vm.ssh_public_keys),
            }
        ],
        "ssh_pwauth": False,
        "disable_root": True,
    }
    if with_data_disk:
        device = f"/dev/disk/by-id/virtio-{DATA_DISK_SERIAL}"
        # Format only a blank disk (overwrite false): a redeploy keeps the data.
        config["fs_setup"] = [{"label": "data", "filesystem": "ext4", "device": device, "overwrite": False}]
        config["mounts"] = [[device, "/data", "ext4", "defaults,nofail", "0", "2"]]
    return "#cloud-config\n" + yaml.safe_dump(config, sort_keys=False, width=4096)


def data_claim(name: str, ns: str, labels: dict[str, str], storage_gib: int, options: RenderOptions) -> Manifest:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": gib(storage_gib)}}}
    if options.storage_class:
        spec["storageClassName"] = options.storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": meta(f"{name}-data", ns, labels),
        "spec": spec,
    }


def virtual_machine(
    name: str,
    ns: str,
    labels: dict[str, str],
    annotations: dict[str, str],
    vm: VmSpec,
    size: Resources,
    options: RenderOptions,
) -> Manifest:
    millis, memory = guest_size(size, options)
    amounts = {"cpu": cpu(millis), "memory": mib(memory)}
    disks: list[dict[str, Any]] = [{"name": "rootdisk", "disk": {"bus": "virtio"}, "bootOrder": 1}]
    volumes: list[dict[str, Any]] = [
        {"name": "rootdisk", "containerDisk": {"image": vm.image, "imagePullPolicy": "IfNotPresent"}}
    ]
    if size.storage_gib:
        disks.append({"name": "datadisk", "disk": {"bus": "virtio"}, "serial": DATA_DISK_SERIAL})
        volumes.append({"name": "datadisk", "persistentVolumeClaim": {"claimName": f"{name}-data"}})
    disks.append({"name": "cloudinit", "disk": {"bus": "virtio"}})
    volumes.append({"name": "cloudinit", "cloudInitNoCloud": {"userData": cloud_config(vm, bool(size.storage_gib))}})
    domain: dict[str, Any] = {
        "cpu": {"cores": max(1, math.ceil(millis / 1000)), "sockets": 1, "threads": 1},
        "resources": {"requests": dict(amounts), "limits": dict(amounts)},
        "devices": {"disks": disks, "interfaces": [{"name": "default", "masquerade": {}}]},
    }
    template_spec: dict[str, Any] = {
        "domain": domain,
        "networks": [{"name": "default", "pod": {}}],
        "terminationGracePeriodSeconds": 60,
        "volumes": volumes,
    }
    if options.runtime_class:
        # KubeVirt has no runtimeClassName field; the sandbox choice is carried for the provider's agent.
        annotations = {**annotations, "linq.network/runtime-class": options.runtime_class}
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": meta(name, ns, labels, annotations),
        "spec": {"runStrategy": "Always", "template": {"metadata": {"labels": dict(labels)}, "spec": template_spec}},
    }


_QUANTITY = {"type": "string", "pattern": r"^[0-9]+(m|Mi|Gi)?$"}
_NAME = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63}
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}

VM_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "kubevirt.io/v1 VirtualMachine as rendered by linq (a subset of the CRD, closed)",
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "kubevirt.io/v1"},
        "kind": {"const": "VirtualMachine"},
        "metadata": {
            "type": "object",
            "required": ["name", "namespace"],
            "additionalProperties": False,
            "properties": {"name": _NAME, "namespace": _NAME, "labels": _STRING_MAP, "annotations": _STRING_MAP},
        },
        "spec": {
            "type": "object",
            "required": ["runStrategy", "template"],
            "additionalProperties": False,
            "properties": {
                "runStrategy": {"enum": ["Always", "RerunOnFailure", "Manual", "Halted", "Once"]},
                "template": {
                    "type": "object",
                    "required": ["spec"],
                    "additionalProperties": False,
                    "properties": {
                        "metadata": {
                            "type": "object",
                            "properties": {"labels": _STRING_MAP},
                            "additionalProperties": False,
                        },
                        "spec": {
                            "type": "object",
                            "required": ["domain", "networks", "volumes"],
                            "additionalProperties": False,
                            "properties": {
                                "terminationGracePeriodSeconds": {"type": "integer", "minimum": 0},
                                "domain": {
                                    "type": "object",
                                    "required": ["resources", "devices"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "cpu": {
                                            "type": "object",
                                            "additionalProperties": False,
                                            "properties": {
                                                k: {"type": "integer", "minimum": 1}
                                                for k in ("cores", "sockets", "threads")
                                            },
                                        },
                                        "resources": {
                                            "type": "object",
                                            "additionalProperties": False,
                                            "properties": {
                                                k: {
                                                    "type": "object",
                                                    "additionalProperties": False,
                                                    "properties": {"cpu": _QUANTITY, "memory": _QUANTITY},
                                                }
                                                for k in ("requests", "limits")
                                            },
                                        },
                                        "devices": {
                                            "type": "object",
                                            "additionalProperties": False,
                                            "required": ["disks", "interfaces"],
                                            "properties": {
                                                "disks": {
                                                    "type": "array",
                                                    "minItems": 1,
                                                    "items": {
                                                        "type": "object",
                                                        "required": ["name", "disk"],
                                                        "additionalProperties": False,
                                                        "properties": {
                                                            "name": _NAME,
                                                            "disk": {
                                                                "type": "object",
                                                                "properties": {
                                                                    "bus": {"enum": ["virtio", "sata", "scsi", "usb"]}
                                                                },
                                                                "additionalProperties": False,
                                                            },
                                                            "bootOrder": {"type": "integer", "minimum": 1},
                                                            "serial": {
                                                                "type": "string",
                                                                "pattern": "^[A-Za-z0-9_.+-]{1,20}$",
                                                            },
                                                        },
                                                    },
                                                },
                                                "interfaces": {
                                                    "type": "array",
                                                    "minItems": 1,
                                                    "items": {
                                                        "type": "object",
                                                        "required": ["name"],
                                                        "additionalProperties": False,
                                                        "properties": {
                                                            "name": _NAME,
                                                            "masquerade": {"type": "object"},
                                                            "bridge": {"type": "object"},
                                                        },
                                                    },
                                                },
                                            },
                                        },
                                    },
                                },
                                "networks": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {
                                        "type": "object",
                                        "required": ["name"],
                                        "additionalProperties": False,
                                        "properties": {"name": _NAME, "pod": {"type": "object"}},
                                    },
                                },
                                "volumes": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {
                                        "type": "object",
                                        "required": ["name"],
                                        "minProperties": 2,
                                        "maxProperties": 2,
                                        "additionalProperties": False,
                                        "properties": {
                                            "name": _NAME,
                                            "containerDisk": {
                                                "type": "object",
                                                "required": ["image"],
                                                "additionalProperties": False,
                                                "properties": {
                                                    "image": {"type": "string", "minLength": 1},
                                                    "imagePullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
                                                },
                                            },
                                            "persistentVolumeClaim": {
                                                "type": "object",
                                                "required": ["claimName"],
                                                "additionalProperties": False,
                                                "properties": {"claimName": _NAME, "readOnly": {"type": "boolean"}},
                                            },
                                            "cloudInitNoCloud": {
                                                "type": "object",
                                                "additionalProperties": False,
                                                "properties": {
                                                    "userData": {"type": "string", "pattern": "^#cloud-config\n"}
                                                },
                                            },
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def virtual_machine_crd() -> dict[str, Any]:
    """The KubeVirt VirtualMachine CRD, as far as an API server without KubeVirt needs it to accept, store and
    dry-run the VMs we render (the devnet installs it). Structure is checked by VM_SCHEMA; the real CRD comes
    with KubeVirt on a provider's cluster."""
    open_object = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "virtualmachines.kubevirt.io"},
        "spec": {
            "group": "kubevirt.io",
            "scope": "Namespaced",
            "names": {
                "kind": "VirtualMachine",
                "plural": "virtualmachines",
                "singular": "virtualmachine",
                "listKind": "VirtualMachineList",
                "shortNames": ["vm", "vms"],
            },
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "required": ["spec"],
                            "properties": {"spec": open_object, "status": open_object},
                        }
                    },
                    "subresources": {"status": {}},
                }
            ],
        },
    }
