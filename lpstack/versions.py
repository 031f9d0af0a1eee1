"""The LPStack's pinned component versions, read from versions.yaml (the one place they are written)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

VERSIONS_FILE = Path(__file__).with_name("versions.yaml")

# Names of the charts the renderer emits; versions.yaml must pin each of them.
CHARTS = (
    "kube-prometheus-stack",
    "loki",
    "alloy",
    "istio-base",
    "istiod",
    "istio-cni",
    "gpu-operator",
    "nvidia-device-plugin",
)


class _Pins(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KubernetesPins(_Pins):
    k3s: str = Field(pattern=r"^v1\.\d+\.\d+\+k3s\d+$")
    pod_security_version: str = Field(pattern=r"^v1\.\d+$")


class ChartPin(_Pins):
    chart: str
    version: str = Field(pattern=r"^v?\d+\.\d+\.\d+$")
    repository: str = Field(pattern=r"^(https|oci)://")
    app_version: str | None = None

    @property
    def archive(self) -> str:
        """The file name `helm package` gives this chart, the name served from a static charts directory."""
        return f"{self.chart}-{self.version}.tgz"


class ManifestPin(_Pins):
    version: str
    operator: str = Field(pattern=r"^https://")


class BinaryPin(_Pins):
    version: str
    url: str = Field(pattern=r"^https://")


class Versions(_Pins):
    kubernetes: KubernetesPins
    charts: dict[str, ChartPin]
    images: dict[str, str]
    manifests: dict[str, ManifestPin]
    binaries: dict[str, BinaryPin]

    def chart(self, name: str) -> ChartPin:
        return self.charts[name]

    def image(self, name: str) -> str:
        return self.images[name]

    def flat(self) -> dict[str, str]:
        """Every pin as `component: version`, for `linq lpstack versions` and the docs table."""
        out = {"k3s": self.kubernetes.k3s}
        out.update({name: pin.version for name, pin in self.charts.items()})
        out.update({name: ref.rsplit(":", 1)[1] for name, ref in self.images.items()})
        out.update({name: pin.version for name, pin in self.manifests.items()})
        out.update({name: pin.version for name, pin in self.binaries.items()})
        return out


def parse(data: dict[str, Any]) -> Versions:
    versions = Versions.model_validate(data)
    missing = [name for name in CHARTS if name not in versions.charts]
    if missing:
        raise ValueError(f"versions.yaml: charts {missing} are not pinned; add them under `charts:`")
    for name in ("cloudflared", "linq-agent"):
        if ":" not in versions.images.get(name, ""):
            raise ValueError(f"versions.yaml: images.{name} must be a tagged image reference (repo:tag)")
    return versions


@cache
def load(path: Path = VERSIONS_FILE) -> Versions:
    return parse(yaml.safe_load(path.read_text()))
