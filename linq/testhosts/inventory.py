"""The Ansible inventory for a set of test hosts: real SSH transport, the host keys pinned."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from linq.testhosts.hosts import Host


def inventory_data(hosts: Sequence[Host], groups: dict[str, list[int]], control_dir: Path) -> dict[str, Any]:
    """`all` holds every host; each named group (e.g. servers/agents) sits under `k3s_cluster`."""
    if not hosts:
        raise ValueError("an inventory needs at least one host")
    first = hosts[0]
    host_vars = {h.name: {"ansible_host": h.address, "ansible_port": h.port} for h in hosts}
    children: dict[str, Any] = {}
    for group, indexes in groups.items():
        bad = [i for i in indexes if not 0 <= i < len(hosts)]
        if bad:
            raise ValueError(f"groups[{group!r}]: host indexes {bad} out of range 0..{len(hosts) - 1}")
        children[group] = {"hosts": {hosts[i].name: None for i in indexes}}
    cluster: dict[str, Any] = {"children": children} if children else {"hosts": {h.name: None for h in hosts}}
    return {
        "all": {
            "hosts": host_vars,
            "children": {"k3s_cluster": cluster},
            "vars": {
                "ansible_connection": "ssh",
                "ansible_user": first.user,
                "ansible_ssh_private_key_file": str(first.key_path),
                "ansible_ssh_common_args": (
                    f"-o UserKnownHostsFile={first.known_hosts} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"
                ),
                # Ansible's persistent connections live here, so teardown can close them all.
                "ansible_control_path_dir": str(control_dir),
                "ansible_python_interpreter": "/usr/bin/python3",
            },
        }
    }


def write_inventory(path: Path, hosts: Sequence[Host], groups: dict[str, list[int]], control_dir: Path) -> Path:
    control_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(inventory_data(hosts, groups, control_dir), sort_keys=False))
    return path
