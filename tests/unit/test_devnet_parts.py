"""`linq devnet versions`: every part with its pin, and installed (make setup ran before the tests)."""

from __future__ import annotations

from linq.devnet import parts
from linq.tools import versions


def test_every_part_is_listed_with_its_pin_and_installed() -> None:
    rows = {row["part"]: row for row in parts.rows()}
    assert rows["kubelet, kube-proxy"]["pinned"] == versions.KUBERNETES
    assert rows["containerd, containerd-shim-runc-v2, ctr"]["pinned"] == versions.CONTAINERD
    assert rows["runc"]["installed"].startswith(versions.DEBIAN_RUNC)
    assert rows["CNI plugins (bridge, host-local, portmap)"]["installed"].startswith(versions.DEBIAN_CNI_PLUGINS)
    assert all(
        row["installed"] not in ("not installed",) and not row["installed"].startswith("no") for row in rows.values()
    )
