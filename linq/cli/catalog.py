"""`linq render` (the YAML review of a deployment) and `linq templates list | show | plans`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from linq.catalog import (
    CatalogError,
    DeploymentSpec,
    RenderOptions,
    Resources,
    apply_patches,
    generate_secrets,
    load_catalog,
    mask_secrets,
    parse_patches,
    render,
    to_json,
    to_yaml,
)
from linq.catalog.models import Endpoint, Port
from linq.cli.options import json_option
from linq.cli.tables import compact
from linq.units import parse_cpu, parse_memory, parse_storage


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE (e.g. {option} NAME=value)", param_hint=option)
        out[key.strip()] = value
    return out


def _secret_file(path: Path) -> dict[str, str]:
    """A YAML/JSON mapping, or dotenv lines (KEY=VALUE, # comments, optional quotes)."""
    text = path.read_text()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        data = None
    if isinstance(data, dict):
        return {str(k): "" if v is None else str(v) for k, v in data.items()}
    out: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep:
            raise click.BadParameter(f"{path}:{number}: expected KEY=VALUE", param_hint="--secret-file")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key.strip()] = value
    return out


def _port(text: str) -> Port:
    name, sep, rest = text.partition(":")
    number, _, proto = rest.partition("/")
    if not sep or not number.isdigit():
        raise click.BadParameter(f"{text!r} is not NAME:PORT[/TCP|UDP] (e.g. http:8080)", param_hint="--port")
    return Port.model_validate({"name": name, "containerPort": int(number), "protocol": proto.upper() or "TCP"})


def _spec_error(error: ValidationError) -> click.ClickException:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "spec"
    return click.ClickException(f"{where}: {first['msg']}")


@click.command("render")
@click.option("--name", help="Deployment name (default: the template id, 'custom' or 'vm').")
@click.option("-t", "--template", "template_id", help="Template id (see `linq templates list`).")
@click.option("--image", help="Custom container image, pinned (e.g. ghcr.io/me/app:1.2.3).")
@click.option("--vm-image", help="VM containerDisk image (e.g. quay.io/containerdisks/ubuntu:24.04).")
@click.option(
    "--ssh-key",
    "ssh_keys",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="VM: an OpenSSH public key file (.pub); repeatable.",
)
@click.option("--vm-user", default="linq", show_default=True, help="VM: the login user cloud-init creates.")
@click.option("--plan", help="Plan name (default: the template's minimum plan).")
@click.option("--cpu", "cpu_millis", help="Explicit resources instead of a plan: CPU, e.g. 0.5, 2 or 750m.")
@click.option("--memory", "memory_mib", help="Explicit resources: memory, e.g. 1536Mi or 2Gi.")
@click.option("--storage", "storage_gib", default="0", help="Explicit resources: storage, e.g. 10Gi.")
@click.option("--gpus", "gpu_count", type=int, default=0, help="Explicit resources: GPU count.")
@click.option("--gpu-model", help="GPU class model the provider offers (sets a node selector).")
@click.option("--port", "ports", multiple=True, help="Custom image: NAME:PORT[/TCP|UDP]; repeatable.")
@click.option("--endpoint", "endpoint", help="Custom image: public port NAME[:http|tcp] (default: first, http).")
@click.option("-e", "--env", "env", multiple=True, help="KEY=VALUE environment override; repeatable.")
@click.option("-s", "--secret", "secrets", multiple=True, help="KEY=VALUE secret; repeatable.")
@click.option(
    "--secret-file",
    "secret_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Secrets from a dotenv or YAML file; repeatable.",
)
@click.option(
    "--patch",
    "patch_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Patch file: a list of {target: {kind, name}, type: merge|strategic, patch}.",
)
@click.option("-o", "--output", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@click.option("--show-secrets", is_flag=True, help="Print secret values instead of masking them.")
@click.option(
    "--ingress-namespace",
    default="linq-ingress",
    show_default=True,
    help="Provider namespace whose ingress may reach the endpoint.",
)
@click.option("--runtime-class", help="Provider RuntimeClass for tenants (e.g. gvisor).")
@click.option("--stack", help="Render the deployments of this stack's config (patches included), as `up` applies them.")
@click.option("--deployment", "only", help="With --stack: only this deployment.")
@click.option(
    "--project-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="With --stack: the Pulumi project directory (Pulumi.yaml).",
)
@click.option(
    "--devnet-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="With --stack: the devnet whose backend holds the stack (default $LINQ_DEVNET_DIR).",
)
def render_command(
    name,
    template_id,
    image,
    vm_image,
    ssh_keys,
    vm_user,
    plan,
    cpu_millis,
    memory_mib,
    storage_gib,
    gpu_count,
    gpu_model,
    ports,
    endpoint,
    env,
    secrets,
    secret_files,
    patch_files,
    output,
    show_secrets,
    ingress_namespace,
    runtime_class,
    stack,
    only,
    project_dir,
    devnet_dir,
) -> None:
    """Print exactly the Kubernetes manifests a deployment would apply (for review or `kubectl apply -f -`).

    \b
    Examples:
      linq render -t open-webui --plan basic
      linq render -t postgresql --name orders-db --plan standard -o json
      linq render --image ghcr.io/me/api:1.4.2 --port http:8080 -e LOG_LEVEL=info --secret-file .env
      linq render --vm-image quay.io/containerdisks/ubuntu:24.04 --ssh-key ~/.ssh/id_ed25519.pub
      linq render --stack devnet --deployment chat
    """
    if stack:
        _render_stack(stack, only, project_dir, devnet_dir, output, show_secrets)
        return
    catalog = load_catalog()
    secret_values: dict[str, str] = {}
    for path in secret_files:
        secret_values.update(_secret_file(path))
    secret_values.update(_pairs(secrets, "--secret"))
    resources = None
    if cpu_millis is not None or memory_mib is not None:
        if cpu_millis is None or memory_mib is None:
            raise click.UsageError("explicit resources need both --cpu (e.g. 750m) and --memory (e.g. 1536Mi)")
        resources = Resources.model_validate(
            {
                "cpuMillis": parse_cpu(cpu_millis, field="--cpu"),
                "memoryMiB": parse_memory(memory_mib, field="--memory"),
                "storageGiB": parse_storage(storage_gib, field="--storage"),
                "gpuCount": gpu_count,
            }
        )
    spec_data: dict[str, Any] = {
        "plan": plan,
        "resources": resources,
        "env": _pairs(env, "--env"),
        "gpu_model": gpu_model,
    }
    try:
        if vm_image:
            keys = [p.read_text().strip() for p in ssh_keys]
            if not keys:
                raise click.UsageError("a VM needs at least one --ssh-key FILE.pub")
            spec_data["vm"] = {"image": vm_image, "ssh_public_keys": keys, "user": vm_user}
            spec_data["secrets"] = secret_values
        elif image:
            spec_data["image"] = image
            spec_data["secrets"] = secret_values
            if ports:
                spec_data["ports"] = [_port(p) for p in ports]
            if endpoint:
                port_name, _, kind = endpoint.partition(":")
                spec_data["endpoint"] = Endpoint.model_validate({"port": port_name, "kind": kind or "http"})
        elif template_id:
            template = catalog.get(template_id)
            generated = generate_secrets(template, keep=secret_values)
            spec_data["template"] = template_id
            spec_data["secrets"] = {k: v for k, v in secret_values.items() if k not in generated}
            spec_data["generated"] = generated
        else:
            raise click.UsageError("give --template ID, --image REF or --vm-image REF")
        spec_data["name"] = name or template_id or ("vm" if vm_image else "custom")
        spec = DeploymentSpec.model_validate(spec_data)
        options = RenderOptions(ingress_namespace=ingress_namespace, runtime_class=runtime_class)
        manifests = render(spec, catalog, options)
        for path in patch_files:
            manifests = apply_patches(manifests, parse_patches(path.read_text(), source=str(path)))
    except CatalogError as error:
        raise click.ClickException(str(error)) from error
    except ValidationError as error:
        raise _spec_error(error) from error
    shown = manifests if show_secrets else mask_secrets(manifests)
    if output == "json":
        click.echo(to_json(shown), nl=False)
        return
    from linq.stackrender import owner_summary

    click.echo(owner_summary(manifests) + to_yaml(shown), nl=False)


def _render_stack(
    stack: str, only: str | None, project_dir: Path, devnet_dir: Path | None, output: str, show_secrets: bool
) -> None:
    from linq.monitor.errors import SourceUnavailable
    from linq.monitor.targets import read_stack_config
    from linq.stackconfig import ConfigError
    from linq.stackrender import owner_summary, review

    try:
        rendered = review(read_stack_config(stack, project_dir=project_dir, devnet_dir=devnet_dir), only)
    except (SourceUnavailable, ConfigError, CatalogError) as error:
        raise click.ClickException(str(error)) from error
    if output == "json":  # one v1 List of every deployment's objects, as kubectl takes it
        everything = [m for manifests in rendered.values() for m in manifests]
        click.echo(to_json(everything if show_secrets else mask_secrets(everything)), nl=False)
        return
    for deployment, manifests in rendered.items():
        shown = manifests if show_secrets else mask_secrets(manifests)
        click.echo(
            f"# deployment {deployment} of stack {stack}; `up` also annotates its Namespace with the escrow "
            "id and provider"
        )
        click.echo(owner_summary(manifests) + to_yaml(shown), nl=False)


@click.group("templates")
def templates() -> None:
    """The app catalog: what can be deployed, and the resource plans."""


@templates.command("list")
@click.option("--category", help="Only this category.")
@json_option
def list_templates(category: str | None, as_json: bool) -> None:
    """Every template with its category, version, minimum plan and image."""
    catalog = load_catalog()
    chosen = [t for t in catalog if category is None or t.category == category]
    if category and not chosen:
        known = sorted({t.category for t in catalog})
        raise click.ClickException(f"--category={category!r}: no template in it. Fix: use one of {', '.join(known)}")
    if as_json:
        click.echo(json.dumps([t.summary() for t in chosen], indent=2))
        return
    table = compact(f"{len(chosen)} templates (`linq templates show ID` for one in full)")
    for column in ("id", "category", "version", "plan", "gpu", "image"):
        table.add_column(column, overflow="fold")
    for t in sorted(chosen, key=lambda t: (t.category, t.id)):
        table.add_row(t.id, t.category, t.version, t.min_plan, str(t.gpu.count) if t.gpu else "", t.image.split("@")[0])
    Console().print(table)


@templates.command("show")
@click.argument("template_id")
@json_option
def show_template(template_id: str, as_json: bool) -> None:
    """One template: image, ports, variables, secrets, volumes and health check."""
    catalog = load_catalog()
    try:
        t = catalog.get(template_id)
    except CatalogError as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(json.dumps(t.model_dump(mode="json", by_alias=True, exclude_none=True), indent=2))
        return
    console = Console()
    console.print(f"[bold]{t.name}[/] ({t.id}) · {t.category} · {t.version}\n{t.description}\n")
    console.print(
        f"image     {t.image}\ndocs      {t.docs}\nplan      {t.min_plan} or larger"
        + (f" · {t.gpu.count} GPU" if t.gpu else "")
        + f"\nworkload  {t.workload}"
    )
    ports = ", ".join(f"{p.name} {p.container_port}/{p.protocol}" for p in t.ports)
    console.print(f"ports     {ports} · endpoint {t.endpoint.port} ({t.endpoint.kind})")
    health = f"http {t.health.http.path}" if t.health.http else f"tcp {t.health.tcp}"
    console.print(f"health    {health} (up to {t.health.startup_seconds}s to start)")
    if t.env:
        table = Table(title="environment")
        for column in ("name", "type", "default", "required", "description"):
            table.add_column(column, overflow="fold")
        for e in t.env:
            table.add_row(
                e.name,
                e.type + (f" {e.values}" if e.values else ""),
                e.default_text or "",
                "yes" if e.required else "",
                e.description,
            )
        console.print(table)
    if t.secrets or t.generated_secrets:
        table = Table(title="secrets")
        for column in ("name", "source", "description"):
            table.add_column(column, overflow="fold")
        for s in t.secrets:
            table.add_row(s.name, "you (required)" if s.required else "you (optional)", s.description)
        for g in t.generated_secrets:
            table.add_row(g.name, f"generated ({g.length} {g.charset})", g.description)
        console.print(table)
    for v in t.volumes:
        console.print(f"volume    {v.name} at {v.mount_path} (at least {v.size_gib} GiB)")


@templates.command("plans")
@json_option
def list_plans(as_json: bool) -> None:
    """The resource plans, smallest first (CPU millicores, memory MiB, storage GiB)."""
    plans = load_catalog().plans
    if as_json:
        click.echo(json.dumps([p.model_dump(by_alias=True) for p in plans.ladder()], indent=2))
        return
    table = Table(title="plans")
    for column in ("plan", "cpu (m)", "memory (MiB)", "storage (GiB)", "scratch (GiB)", "gpus", "for"):
        table.add_column(column)
    for p in plans.ladder():
        table.add_row(
            p.name,
            str(p.cpu_millis),
            str(p.memory_mib),
            str(p.storage_gib),
            str(p.ephemeral_storage_gib),
            str(p.gpu_count),
            p.description,
        )
    Console().print(table)


commands: list[click.Command] = [render_command, templates]
