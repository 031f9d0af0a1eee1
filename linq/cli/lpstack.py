"""`linq lpstack render | validate | admission-config | versions`: the provider cluster's stack.

The lpstack package is imported inside each command, so the `linq` library itself never depends on it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import yaml
from rich.console import Console
from rich.table import Table

FEATURES = ("observability", "istio", "cloudflared", "kubevirt", "gpu", "sandbox_runtime")


def _config_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The LPStackConfig inputs: a YAML file, and flags that override it."""
    options = [
        click.option(
            "--config",
            "config_file",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="LPStackConfig YAML file (flags below override its values).",
        ),
        click.option("--cluster-name", help="DNS label naming this cluster."),
        click.option("--provider", "provider_address", help="The provider's wallet address (0x...)."),
        click.option("--region", help="Region announced on chain (1-32 printable ASCII characters)."),
        click.option("--domain", "public_domain", help="Public DNS domain tenant endpoints live under."),
        click.option("--enable", "enable", multiple=True, type=click.Choice(FEATURES), help="Turn a feature on."),
        click.option("--disable", "disable", multiple=True, type=click.Choice(FEATURES), help="Turn a feature off."),
        click.option("--tunnel-secret", help="Secret holding the Cloudflare tunnel token, as NAME/KEY."),
        click.option(
            "--charts",
            "chart_source",
            type=click.Choice(["repository", "local"]),
            help="Where k3s gets the charts: their repositories, or a local static charts directory.",
        ),
        click.option(
            "--charts-dir",
            type=click.Path(path_type=Path),
            help="Directory holding the chart archives (checked against the pins).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _load(config_file: Path | None, flags: dict[str, Any]):
    from lpstack import LPStackError, load_config

    data: dict[str, Any] = {}
    if config_file is not None:
        try:
            loaded = yaml.safe_load(config_file.read_text())
        except yaml.YAMLError as error:
            raise click.ClickException(f"--config {config_file}: not valid YAML ({error})") from None
        if not isinstance(loaded, dict):
            raise click.ClickException(
                f"--config {config_file}: expected a mapping of LPStackConfig fields, got {type(loaded).__name__}"
            )
        data = loaded
    for key in ("cluster_name", "provider_address", "region", "public_domain"):
        if flags.get(key) is not None:
            data[key] = flags[key]
    features = dict(data.get("features") or {})
    features.update({name: True for name in flags.get("enable", ())})
    features.update({name: False for name in flags.get("disable", ())})
    if features:
        data["features"] = features
    if flags.get("tunnel_secret"):
        name, sep, key = flags["tunnel_secret"].partition("/")
        if not sep:
            raise click.BadParameter(
                f"{flags['tunnel_secret']!r} is not NAME/KEY (e.g. cloudflared-token/token)",
                param_hint="--tunnel-secret",
            )
        data["cloudflared"] = {**(data.get("cloudflared") or {}), "token_secret": {"name": name, "key": key}}
    charts = dict(data.get("charts") or {})
    if flags.get("chart_source"):
        charts["source"] = flags["chart_source"]
    if flags.get("charts_dir"):
        charts["local_dir"] = str(flags["charts_dir"])
    if charts:
        data["charts"] = charts
    try:
        return load_config(data, source=str(config_file) if config_file else "flags")
    except LPStackError as error:
        raise click.ClickException(str(error)) from None


def _flags(kwargs: dict[str, Any]) -> tuple[Path | None, dict[str, Any]]:
    config_file = kwargs.pop("config_file")
    return config_file, kwargs


@click.group("lpstack")
def lpstack() -> None:
    """The LPStack: what a provider cluster runs, rendered for k3s."""


@lpstack.command("render")
@_config_options
@click.option("-o", "--output", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@click.option("--only", "only", multiple=True, metavar="KIND", help="Print only objects of this kind (repeatable).")
@click.option(
    "--crds",
    "with_crds",
    is_flag=True,
    help="Prepend the CRDs of the custom kinds (for clusters without k3s or the charts, e.g. a dry-run).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write one file per component into DIR (for k3s's manifests directory) instead of printing.",
)
def render_command(fmt: str, only: tuple[str, ...], with_crds: bool, out_dir: Path | None, **kwargs: Any) -> None:
    """Render the LPStack objects, in apply order."""
    from lpstack import LPStackError, crds, render
    from lpstack.render import KIND_ORDER, to_json, to_yaml, write_dir

    config = _load(*_flags(kwargs))
    try:
        if out_dir is not None:
            for path in write_dir(config, out_dir):
                click.echo(str(path))
            return
        objects = (crds() if with_crds else []) + render(config)
    except LPStackError as error:
        raise click.ClickException(str(error)) from None
    if only:
        known = {*KIND_ORDER, "CustomResourceDefinition"}
        unknown = sorted(set(only) - known)
        if unknown:
            raise click.BadParameter(
                f"unknown kind(s) {unknown}; the LPStack emits {sorted(known)}", param_hint="--only"
            )
        objects = [obj for obj in objects if obj["kind"] in only]
    click.echo(to_json(objects) if fmt == "json" else to_yaml(objects), nl=False)


@lpstack.command("validate")
@_config_options
def validate_command(**kwargs: Any) -> None:
    """Render and validate every object offline (built-in kinds strictly, custom kinds by our CRDs)."""
    from lpstack import LPStackError, render
    from lpstack.validate import kubernetes_minor, validate

    config = _load(*_flags(kwargs))
    try:
        objects = render(config)
    except LPStackError as error:
        raise click.ClickException(str(error)) from None
    problems = validate(objects)
    for problem in problems:
        click.echo(f"invalid: {problem}", err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} of {len(objects)} objects do not validate")
    click.echo(f"{len(objects)} objects valid against Kubernetes {kubernetes_minor()} and lpstack/crds")


@lpstack.command("admission-config")
@_config_options
def admission_command(**kwargs: Any) -> None:
    """Print the kube-apiserver PodSecurity AdmissionConfiguration file (k3s: admission-control-config-file)."""
    from lpstack import admission_configuration
    from lpstack.render import to_yaml

    click.echo(to_yaml([admission_configuration(_load(*_flags(kwargs)))]), nl=False)


@lpstack.command("versions")
@click.option("-o", "--output", "fmt", type=click.Choice(["table", "yaml", "json"]), default="table", show_default=True)
def versions_command(fmt: str) -> None:
    """Print the LPStack's pinned component versions (from lpstack/versions.yaml)."""
    from lpstack.versions import load

    pins = load()
    if fmt == "json":
        click.echo(json.dumps(pins.model_dump(), indent=2))
        return
    if fmt == "yaml":
        click.echo(yaml.safe_dump(pins.model_dump(), sort_keys=False), nl=False)
        return
    table = Table("component", "version", "source")
    table.add_row("k3s", pins.kubernetes.k3s, "https://github.com/k3s-io/k3s")
    for name, chart in pins.charts.items():
        table.add_row(name, chart.version, f"{chart.repository} ({chart.chart})")
    for name, ref in pins.images.items():
        table.add_row(name, ref.rsplit(":", 1)[1], ref.rsplit(":", 1)[0])
    for name, manifest in pins.manifests.items():
        table.add_row(name, manifest.version, manifest.operator)
    for name, binary in pins.binaries.items():
        table.add_row(name, binary.version, binary.url)
    Console().print(table)
