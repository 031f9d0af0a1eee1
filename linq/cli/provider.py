"""`linq provider register | update | show | agent`.

Network and key as for `linq escrow` (linq/cli/options.py). Exit codes: the one table in linq/cli/errors.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from linq.chain import InputError
from linq.chain import registration as reg
from linq.chain.client import ChainClient
from linq.cli.agent import agent
from linq.cli.gateway import gateway
from linq.cli.options import F, chain_client, echo_json, json_option, key_options, network_options
from linq.gateway.meta import GatewayInfo, normalise_url, served_pin, spki_pin
from linq.market.encoding import checksum
from linq.units import format_lnq, parse_cpu, parse_memory, parse_rate, parse_storage


@click.group()
def provider() -> None:
    """Register this wallet as a provider, update its record, show a record."""


GPU_HELP = "GPU class CLASS:MODEL:COUNT:PRICE, PRICE per GPU-hour, e.g. 1:nvidia-a100:2:0.9 LNQ/h (repeatable)."


def registration_options(required: bool) -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        options = [
            click.option("--cpu", required=required, help="Total CPU: cores or millicores (16, 16000m)."),
            click.option("--memory", required=required, help="Total memory: 64Gi, 65536Mi."),
            click.option("--storage", required=required, help="Total storage: 500Gi, 1Ti."),
            click.option("--price-cpu", required=required, help="Per millicore-hour, e.g. '1000000000000 wei/h'."),
            click.option("--price-memory", required=required, help="Per MiB-hour, e.g. '100000000000 wei/h'."),
            click.option("--price-storage", required=required, help="Per GiB-hour, e.g. '0.00001 LNQ/h'."),
            click.option("--region", required=required, help="Short ASCII region, e.g. eu-west."),
            click.option("--meta", default=None, help="Metadata: 0x + 64 hex (used as is) or text (hashed)."),
            click.option(
                "--gateway",
                default=None,
                help="Gateway URL https://HOST[:PORT], published with its TLS pin (replaces --meta).",
            ),
            click.option(
                "--gateway-cert",
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                default=None,
                help="The gateway's certificate (PEM) to pin (default: the one it serves now).",
            ),
            click.option("--gpu", "gpus", multiple=True, help=GPU_HELP),
        ]
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


def _record_json(address: str, record: reg.RegistrationSpec | None) -> dict[str, Any]:
    return {"provider": address, "registered": record is not None, **(record.to_json() if record else {})}


def _apply(client: ChainClient, want: reg.RegistrationSpec, as_json: bool) -> None:
    calls, hashes = reg.apply(client, want)
    record = reg.read(client, client.address)
    if as_json:
        echo_json(
            {
                "changed": bool(calls),
                "calls": calls,
                "tx_hashes": hashes,
                "record": _record_json(client.address, record),
            }
        )
        return
    click.echo(f"{client.address}: " + (f"sent {', '.join(calls)}" if calls else "already up to date, nothing sent"))
    Console().print(_record_table(client.address, record))


def _gpu(text: str) -> reg.GpuClassSpec:
    """CLASS:MODEL:COUNT:PRICE with PRICE in the unit grammar (a rate per GPU-hour)."""
    head, sep, price = text.rpartition(":")
    if not sep:
        return reg.parse_gpu(text)  # names the expected form
    return reg.parse_gpu(f"{head}:{parse_rate(price, field='--gpu price')}")


def _desired(
    cpu,
    memory,
    storage,
    price_cpu,
    price_memory,
    price_storage,
    region,
    meta,
    gpus,
    gateway=None,
    gateway_cert=None,
    current: reg.RegistrationSpec | None = None,
) -> reg.RegistrationSpec:
    def pick(value: Any, field: str, now: Any, parse: Callable[..., int] | None = None) -> Any:
        if value is not None:
            return parse(value, field=f"--{field}") if parse else value
        if current is None:
            extra = " or --gateway URL" if field == "meta" else ""
            raise InputError(f"--{field}", None, "is required to register", f"pass --{field}{extra}")
        return now

    c = current
    if gateway is not None and meta is not None:
        raise InputError("--meta", meta, "cannot be given with --gateway", "the gateway document becomes the metadata")
    info = gateway_info(gateway, gateway_cert) if gateway is not None else None
    if info is None and meta is None and c is not None:
        info = c.gateway  # an update that leaves the metadata alone keeps the published gateway
    gpu_specs = tuple(_gpu(g) for g in gpus) if gpus else (c.gpu_classes if c else ())
    return reg.spec(
        cpu=pick(cpu, "cpu", c and c.cpu_millis, parse_cpu),
        memory=pick(memory, "memory", c and c.memory_mib, parse_memory),
        storage=pick(storage, "storage", c and c.storage_gib, parse_storage),
        price_cpu=pick(price_cpu, "price-cpu", c and c.price_cpu, parse_rate),
        price_memory=pick(price_memory, "price-memory", c and c.price_memory, parse_rate),
        price_storage=pick(price_storage, "price-storage", c and c.price_storage, parse_rate),
        region=pick(region, "region", c and c.region),
        meta="" if info else pick(meta, "meta", c and "0x" + c.meta_hash.hex()),
        gpus=gpu_specs,
        gateway=info,
    )


def gateway_info(url: str, cert: Path | None) -> GatewayInfo:
    """The gateway URL with the pin of `cert`, or of the certificate the gateway serves now."""
    normal = normalise_url(url)
    pin = spki_pin(cert.read_bytes()) if cert is not None else served_pin(normal)
    return GatewayInfo(url=normal, tls_spki_sha256=pin)


REGISTRATION_FIELDS = (
    "cpu",
    "memory",
    "storage",
    "price_cpu",
    "price_memory",
    "price_storage",
    "region",
    "meta",
    "gpus",
    "gateway",
    "gateway_cert",
)


def _register_or_update(options: dict[str, Any], *, must_exist: bool) -> None:
    """register: flags are checked before any network call; update: flags left out keep the chain's value."""
    flags: dict[str, Any] = {field: options[field] for field in REGISTRATION_FIELDS}
    want = None if must_exist else _desired(**flags)
    client = chain_client(
        options["devnet_dir"],
        options["rpc"],
        options["chain_id"],
        options["addresses"],
        keystore=options["keystore"],
        password_file=options["password_file"],
        signer=True,
    )
    if want is None:
        current = reg.read(client, client.address)
        if current is None:
            raise InputError("wallet", client.address, "is not registered", "run `linq provider register` first")
        want = _desired(**flags, current=current)
    _apply(client, want, options["as_json"])


@provider.command("register")
@registration_options(required=True)
@network_options
@key_options
@json_option
def provider_register(**options: Any) -> None:
    """Register the signer's wallet; if it is already registered, update only what differs (idempotent)."""
    _register_or_update(options, must_exist=False)


@provider.command("update")
@registration_options(required=False)
@network_options
@key_options
@json_option
def provider_update(**options: Any) -> None:
    """Change capacity, prices, region, metadata or GPU classes; flags left out keep their value."""
    _register_or_update(options, must_exist=True)


def _record_table(address: str, record: reg.RegistrationSpec | None) -> Table:
    table = Table(show_header=False, title=f"provider {address}")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    if record is None:
        table.add_row("registered", "no")
        return table
    gpus = (
        ", ".join(f"#{g.class_id} {g.model} x{g.count} at {format_lnq(g.price_per_hour)}/h" for g in record.gpu_classes)
        or "-"
    )
    for key, value in (
        ("active", "yes" if record.active else "no"),
        ("region", record.region),
        ("capacity", f"{record.cpu_millis} millicores, {record.memory_mib} MiB, {record.storage_gib} GiB"),
        (
            "prices (wei/unit-h)",
            f"cpu {record.price_cpu}, memory {record.price_memory}, storage {record.price_storage}",
        ),
        ("GPU classes", gpus),
        ("metadata hash", "0x" + record.meta_hash.hex()),
        (
            "gateway",
            f"{record.gateway.url} (TLS SPKI sha256 {record.gateway.tls_spki_sha256})" if record.gateway else "-",
        ),
    ):
        table.add_row(key, value)
    return table


@provider.command("show")
@click.argument("address", required=False)
@network_options
@key_options
@json_option
def provider_show(address, devnet_dir, rpc, chain_id, addresses, keystore, password_file, as_json) -> None:
    """A provider's registry record (default: the signer's own)."""
    if address:
        client = chain_client(devnet_dir, rpc, chain_id, addresses)
        address = checksum(address, field="ADDRESS")
    else:
        client = chain_client(
            devnet_dir, rpc, chain_id, addresses, keystore=keystore, password_file=password_file, signer=True
        )
        address = client.address
    record = reg.read(client, address)
    if as_json:
        echo_json(_record_json(address, record))
        return
    Console().print(_record_table(address, record))


provider.add_command(agent)
provider.add_command(gateway)
