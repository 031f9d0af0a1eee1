"""Local chart archives (air-gapped installs): the servers' static charts directory must hold each
enabled chart as <chart>-<version>.tgz, and the archive must really be that chart at that version."""

from __future__ import annotations

import tarfile
from pathlib import Path

import yaml

from lpstack.config import LPStackConfig
from lpstack.errors import LPStackError
from lpstack.versions import Versions


def enabled_charts(config: LPStackConfig) -> list[str]:
    names = []
    if config.features.observability:
        names += ["kube-prometheus-stack", "loki", "alloy"]
    if config.features.istio:
        names += ["istio-base", "istiod", "istio-cni"]
    if config.features.gpu:
        names.append("gpu-operator" if config.gpu.mode == "operator" else "nvidia-device-plugin")
    return names


def chart_metadata(archive: Path) -> dict:
    """Chart.yaml of a packaged chart (the first */Chart.yaml at depth one, as `helm package` writes it)."""
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            parts = member.name.split("/")
            if len(parts) == 2 and parts[1] == "Chart.yaml" and member.isfile():
                handle = tar.extractfile(member)
                if handle is not None:
                    return dict(yaml.safe_load(handle.read()) or {})
    raise LPStackError(
        f"{archive}: no <chart>/Chart.yaml inside; it is not a packaged Helm chart "
        "(make it with `helm package` or `helm pull`)"
    )


def check_local_archives(config: LPStackConfig, versions: Versions) -> None:
    assert config.charts.local_dir is not None
    directory = Path(config.charts.local_dir)
    if not directory.is_dir():
        raise LPStackError(
            f"charts.local_dir: {str(directory)!r} is not a directory; create it and put the chart archives "
            "there, or leave charts.local_dir unset to skip this check"
        )
    for name in enabled_charts(config):
        pin = versions.chart(name)
        archive = directory / pin.archive
        if not archive.is_file():
            raise LPStackError(
                f"charts.local_dir: {pin.archive} is missing from {directory} (chart {name!r} is enabled); "
                f"fetch it with `helm pull {pin.chart} --repo {pin.repository} --version {pin.version}`"
            )
        try:
            meta = chart_metadata(archive)
        except (tarfile.TarError, OSError, yaml.YAMLError) as error:
            raise LPStackError(
                f"charts.local_dir: {archive} cannot be read as a chart archive ({error}); "
                "fetch it again with `helm pull`"
            ) from None
        got = (str(meta.get("name")), str(meta.get("version")))
        if got != (pin.chart, pin.version):
            raise LPStackError(
                f"charts.local_dir: {archive.name} holds chart {got[0]!r} version {got[1]!r}, but versions.yaml "
                f"pins {pin.chart!r} {pin.version!r}; replace the archive with the pinned version"
            )
