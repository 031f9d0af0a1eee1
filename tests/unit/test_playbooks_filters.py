"""The preflight role's parsing of probe output into capacity (playbooks/filter_plugins/)."""

from __future__ import annotations

import importlib.util
import re
from types import ModuleType

import pytest

from linq.testhosts.playbook import PLAYBOOKS_DIR


def _load() -> ModuleType:
    path = PLAYBOOKS_DIR / "filter_plugins" / "lpstack_capacity.py"
    spec = importlib.util.spec_from_file_location("lpstack_capacity", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


caps = _load()

# A GPU server as `lspci -mm -nn` prints it: two A100s, one T4, a BMC's VGA and a virtio device.
_NV = '"NVIDIA Corporation [10de]"'
LSPCI_GPU_SERVER = "\n".join(
    [
        '00:00.0 "Host bridge [0600]" "Intel Corporation [8086]" "Device [0d57]" -p00 "" ""',
        '03:00.0 "VGA compatible controller [0300]" "ASPEED Technology, Inc. [1a03]"'
        ' "ASPEED Graphics Family [2000]" -r41 "" ""',
        f'17:00.0 "3D controller [0302]" {_NV} "GA100 [A100 PCIe 40GB] [20f1]" -ra1 {_NV} "Device [145f]"',
        f'31:00.0 "3D controller [0302]" {_NV} "GA100 [A100 PCIe 40GB] [20f1]" -ra1 {_NV} "Device [145f]"',
        f'b1:00.0 "3D controller [0302]" {_NV} "TU104GL [Tesla T4] [1eb8]" -ra1 {_NV} "Device [12a2]"',
        'c1:00.0 "Display controller [0380]" "Advanced Micro Devices, Inc. [AMD/ATI] [1002]"'
        ' "Aldebaran/MI200 [Instinct MI210] [740f]" -r02 "" ""',
        '00:01.0 "Unassigned class [ffff]" "Red Hat, Inc. [1af4]" "Virtio 1.0 balloon [1045]" -r01 "" ""',
    ]
)


def test_lspci_counts_compute_gpus_by_model_and_ignores_bmc_and_virtual_devices() -> None:
    gpus = caps.lspci_gpus(LSPCI_GPU_SERVER)
    assert gpus == [
        {"model": "A100 PCIe 40GB", "vendor": "NVIDIA Corporation", "count": 2},
        {"model": "Instinct MI210", "vendor": "Advanced Micro Devices, Inc. [AMD/ATI]", "count": 1},
        {"model": "Tesla T4", "vendor": "NVIDIA Corporation", "count": 1},
    ]


def test_lspci_vendor_list_is_respected() -> None:
    only_nvidia = caps.lspci_gpus(LSPCI_GPU_SERVER, ["10de"])
    assert sum(g["count"] for g in only_nvidia) == 3
    assert caps.lspci_gpus(LSPCI_GPU_SERVER, []) == []


def test_lspci_survives_empty_and_mangled_output() -> None:
    assert caps.lspci_gpus("") == []
    assert caps.lspci_gpus('00:02.0 "unterminated\n') == []


def test_nvidia_smi_groups_by_name_and_keeps_memory() -> None:
    text = "NVIDIA A100-PCIE-40GB, 40960\nNVIDIA A100-PCIE-40GB, 40960\nTesla T4, 15360\n\n"
    assert caps.nvidia_smi_gpus(text) == [
        {"model": "NVIDIA A100-PCIE-40GB", "vendor": "NVIDIA Corporation", "count": 2, "memory_mib": 40960},
        {"model": "Tesla T4", "vendor": "NVIDIA Corporation", "count": 1, "memory_mib": 15360},
    ]


def test_df_output_parses_and_gib_floors() -> None:
    parsed = caps.df_bytes(" 1B-blocks       Avail\n270553174016 69271506944\n")
    assert parsed == {"size": 270553174016, "avail": 69271506944}
    assert caps.bytes_to_gib(parsed["size"]) == 251  # 251.97 GiB: never round up what is sold
    assert caps.bytes_to_gib(2**30 - 1) == 0
    with pytest.raises(ValueError, match="no size/avail row"):
        caps.df_bytes("df: /nope: No such file or directory\n")


def test_allocatable_is_measured_minus_reserved_floored_at_zero() -> None:
    measured = {"cpu_millicores": 2000, "memory_mib": 1024, "storage_gib": 251, "gpus": []}
    reserved = {"cpu_millicores": 500, "memory_mib": 2048, "storage_gib": 10}
    assert caps.capacity_minus(measured, reserved) == {
        "cpu_millicores": 1500,
        "memory_mib": 0,
        "storage_gib": 241,
    }


def test_cluster_sums_nodes_and_gpus() -> None:
    nodes = [{"cpu_millicores": 1500, "memory_mib": 100}, {"cpu_millicores": 63500, "memory_mib": 2}]
    assert caps.capacity_sum(nodes) == {"cpu_millicores": 65000, "memory_mib": 102}
    gpus = [[{"model": "T4", "count": 1}], [], [{"model": "T4", "count": 3}, {"model": "A100", "count": 8}]]
    assert caps.gpu_sum(gpus) == [{"model": "A100", "count": 8}, {"model": "T4", "count": 4}]


def test_filter_module_exposes_every_filter_the_roles_use() -> None:
    piped = set()
    for path in (PLAYBOOKS_DIR / "roles").rglob("*.yml"):
        piped |= set(re.findall(r"\|\s*(lpstack_[a-z0-9_]+)", path.read_text()))
    assert piped, "the roles use the capacity filters"
    assert piped <= set(caps.FilterModule().filters())
