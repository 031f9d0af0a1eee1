"""Jinja filters the preflight role uses to turn probe output into measured capacity.

Kept in Python (not Jinja) so the parsing has unit tests: tests/unit/test_playbooks_filters.py.
Units follow the protocol: CPU in millicores, memory in MiB, storage in GiB (floored), GPUs by model.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

# PCI display classes: VGA compatible, 3D controller, display controller (any vendor sells these as GPUs).
GPU_CLASSES = frozenset({"0300", "0302", "0380"})
# Vendors whose display devices are compute GPUs; virtual VGA (QEMU 1234, virtio 1af4, Cirrus 1013) and
# Intel integrated graphics are not sold as GPUs.
DEFAULT_GPU_VENDORS = ("10de", "1002")  # NVIDIA, AMD
_CODE = re.compile(r"\s*\[([0-9a-fA-F]{4})\]$")
_MARKETING = re.compile(r"\[([^\[\]]+)\]$")
GIB = 1024**3


def _split_code(field: str) -> tuple[str, str]:
    """`NVIDIA Corporation [10de]` -> (`NVIDIA Corporation`, `10de`)."""
    match = _CODE.search(field)
    if not match:
        return field.strip(), ""
    return field[: match.start()].strip(), match.group(1).lower()


def lspci_gpus(text: str, vendors: list[str] | tuple[str, ...] = DEFAULT_GPU_VENDORS) -> list[dict[str, Any]]:
    """GPUs from `lspci -mm -nn`, grouped by model: [{"model", "vendor", "count"}], sorted by model."""
    wanted = {vendor.lower() for vendor in vendors}
    counts: dict[tuple[str, str], int] = {}
    for line in text.splitlines():
        try:
            fields = shlex.split(line)
        except ValueError:
            continue  # a line lspci mangled; the rest still count
        if len(fields) < 4:
            continue
        _name, pci_class = _split_code(fields[1])
        vendor_name, vendor = _split_code(fields[2])
        device, _device_id = _split_code(fields[3])
        if pci_class not in GPU_CLASSES or vendor not in wanted:
            continue
        marketing = _MARKETING.search(device)  # "GA100 [A100 PCIe 40GB]" -> "A100 PCIe 40GB"
        model = marketing.group(1) if marketing else device
        key = (model.strip(), vendor_name)
        counts[key] = counts.get(key, 0) + 1
    return [{"model": m, "vendor": v, "count": c} for (m, v), c in sorted(counts.items())]


def nvidia_smi_gpus(text: str) -> list[dict[str, Any]]:
    """GPUs from `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits`, by model."""
    grouped: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, _, memory = line.rpartition(",")
        name = name.strip() or memory.strip()
        entry = grouped.setdefault(name, {"model": name, "vendor": "NVIDIA Corporation", "count": 0})
        entry["count"] += 1
        if memory.strip().isdigit():
            entry["memory_mib"] = int(memory.strip())
    return [grouped[name] for name in sorted(grouped)]


def df_bytes(text: str) -> dict[str, int]:
    """`df --block-size=1 --output=size,avail PATH` -> {"size": bytes, "avail": bytes}."""
    rows = [line.split() for line in text.splitlines() if line.strip()]
    numbers = [row for row in rows if len(row) == 2 and all(cell.isdigit() for cell in row)]
    if not numbers:
        raise ValueError(f"df output has no size/avail row: {text!r}")
    size, avail = numbers[-1]
    return {"size": int(size), "avail": int(avail)}


def bytes_to_gib(value: int) -> int:
    """Floor, so a provider never sells storage it does not have."""
    return int(value) // GIB


def capacity_minus(measured: dict[str, Any], reserved: dict[str, int]) -> dict[str, int]:
    """What a node can sell: measured minus reserved, never below zero (GPUs are not reserved)."""
    return {key: max(0, int(measured[key]) - int(reserved.get(key, 0))) for key in reserved}


def capacity_sum(capacities: list[dict[str, int]]) -> dict[str, int]:
    """Add per-node capacities key by key (the cluster's on-chain capacity)."""
    total: dict[str, int] = {}
    for capacity in capacities:
        for key, value in capacity.items():
            total[key] = total.get(key, 0) + int(value)
    return total


def gpu_sum(gpu_lists: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Merge per-node GPU lists by model into cluster totals."""
    counts: dict[str, int] = {}
    for gpus in gpu_lists:
        for gpu in gpus:
            counts[gpu["model"]] = counts.get(gpu["model"], 0) + int(gpu["count"])
    return [{"model": model, "count": count} for model, count in sorted(counts.items())]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "lpstack_lspci_gpus": lspci_gpus,
            "lpstack_nvidia_smi_gpus": nvidia_smi_gpus,
            "lpstack_df_bytes": df_bytes,
            "lpstack_bytes_to_gib": bytes_to_gib,
            "lpstack_capacity_minus": capacity_minus,
            "lpstack_capacity_sum": capacity_sum,
            "lpstack_gpu_sum": gpu_sum,
        }
