"""`linq offer sign | verify`: EIP-712 offers a provider signs and a requestor's escrow accepts."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import click

from linq.chain.errors import InputError, SignerError
from linq.cli.matching import (
    _console,
    _open_index,
    index_options,
    network,
)
from linq.cli.options import echo_json, json_option, key_options
from linq.market.encoding import checksum
from linq.market.models import (
    Resources,
    rate_at,
)
from linq.market.offers import Domain, Offer, SignedOffer, random_nonce, sign_offer, verify_offer
from linq.market.plans import plan_size
from linq.protocol.money import offer_deposit_bounds
from linq.units import (
    above_zero,
    format_duration,
    format_lnq,
    format_rate,
    parse_cpu,
    parse_duration,
    parse_memory,
    parse_rate,
    parse_storage,
)

ENV_KEY = "LINQ_PRIVATE_KEY"
ENV_KEYSTORE_PASSWORD = "LINQ_KEYSTORE_PASSWORD"  # noqa: S105 — the name of a variable, not a secret


@click.group()
def offer() -> None:
    """EIP-712 offers: a provider signs terms; a requestor creates the escrow from the signed file."""


def _load_key(keystore: Path | None, password_file: Path | None) -> str:
    if keystore is not None:
        from eth_account import Account

        if not keystore.is_file():
            raise InputError("--keystore", str(keystore), "does not exist", "give the encrypted key file's path")
        if password_file is not None:
            password: str | None = password_file.read_text().rstrip("\n")
        else:
            password = os.environ.get(ENV_KEYSTORE_PASSWORD)
        if password is None:
            password = click.prompt(f"password for {keystore}", hide_input=True)
        try:
            return "0x" + bytes(Account.decrypt(json.loads(keystore.read_text()), password)).hex()
        except (ValueError, KeyError, json.JSONDecodeError) as err:
            raise SignerError(
                f"--keystore {keystore} could not be decrypted ({type(err).__name__}); check the file and password"
            ) from None
    key = os.environ.get(ENV_KEY)
    if not key:
        raise SignerError(f"no signing key: set ${ENV_KEY} or pass --keystore FILE")
    return key


@offer.command("sign")
@click.option("--plan", default=None, help="Plan name from templates/plans.yaml.")
@click.option("--cpu", default=None, help="CPU: cores or millicores (1500m).")
@click.option("--memory", default=None, help="Memory: 512Mi, 4Gi, or MiB.")
@click.option("--storage", default=None, help="Storage: 20Gi or GiB.")
@click.option("--gpu-class", type=int, default=0, show_default=True, help="Your GPU class id.")
@click.option("--gpu-count", type=int, default=0, show_default=True, help="GPUs of that class.")
@click.option("--rate", default=None, help="Hourly rate, e.g. '0.01 LNQ/h' or '10 wei/h' (default: registry prices).")
@click.option("--min-duration", default="10m", show_default=True, help="Shortest escrow accepted.")
@click.option("--max-duration", default="30d", show_default=True, help="Longest escrow accepted.")
@click.option("--requestor", default=None, help="Only this requestor may take the offer (default: anyone).")
@click.option("--nonce", type=int, default=None, help="Offer nonce (default: random 64-bit).")
@click.option("--valid-for", default="1h", show_default=True, help="Deadline = now + this.")
@key_options
@click.option("--chain-id", type=int, default=None, help="Sign offline for this chain (with --escrow).")
@click.option("--escrow", default=None, help="Sign offline for this Escrow contract (with --chain-id).")
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the offer file here (default: stdout).",
)
@index_options
def offer_sign(
    plan,
    cpu,
    memory,
    storage,
    gpu_class,
    gpu_count,
    rate,
    min_duration,
    max_duration,
    requestor,
    nonce,
    valid_for,
    keystore,
    password_file,
    chain_id,
    escrow,
    out,
    devnet_dir,
    rpc,
    addresses,
    index_path,
) -> None:
    """Sign an offer with the provider key ($LINQ_PRIVATE_KEY or --keystore); the key is never printed."""
    from eth_account import Account

    key = _load_key(keystore, password_file)
    try:
        provider = Account.from_key(key).address
    except Exception:
        raise SignerError(f"${ENV_KEY} is not a valid private key; give 0x + 64 hex digits") from None
    cpu_m, mem, sto = 0, 0, 0
    if plan:
        size = plan_size(plan)
        cpu_m, mem, sto = size.cpu_millis, size.memory_mib, size.storage_gib
        gpu_count = gpu_count or size.gpu_count
    cpu_m = parse_cpu(cpu, field="--cpu") if cpu is not None else cpu_m
    mem = parse_memory(memory, field="--memory") if memory is not None else mem
    sto = parse_storage(storage, field="--storage") if storage is not None else sto
    resources = Resources(cpu_millis=cpu_m, memory_mib=mem, storage_gib=sto, gpu_class=gpu_class, gpu_count=gpu_count)
    # Every flag is read before any network call.
    given_rate = parse_rate(rate, field="--rate") if rate is not None else None
    min_seconds = parse_duration(min_duration, field="--min-duration")
    max_seconds = above_zero(
        "--max-duration", max_duration, parse_duration(max_duration, field="--max-duration"), "30d"
    )
    valid_seconds = above_zero("--valid-for", valid_for, parse_duration(valid_for, field="--valid-for"), "1h")

    offline = chain_id is not None and escrow is not None
    now = int(time.time())
    if offline:
        domain = Domain(chain_id=chain_id, verifying_contract=checksum(escrow, field="--escrow"))
        if given_rate is None:
            raise click.UsageError("--rate is required when signing offline (--chain-id/--escrow)")
        rate_wei = given_rate
    else:
        profile, w3 = network(devnet_dir, rpc, addresses)
        domain = Domain(chain_id=profile.chain_id, verifying_contract=profile.book.escrow)
        now = int(w3.eth.get_block("latest")["timestamp"])
        if given_rate is None:
            index, _ = _open_index(devnet_dir, rpc, addresses, index_path)
            record = next((p for p in index.providers if p.address == provider), None)
            if record is None:
                raise click.ClickException(
                    f"{provider} (the key's address) is not registered; register first or pass --rate"
                )
            rate_wei = rate_at(resources, record)
        else:
            rate_wei = given_rate
    if rate_wei == 0:
        raise InputError("--rate", "0", "is zero; the escrow refuses a zero rate", "give a price per hour")
    signed = sign_offer(
        Offer(
            provider=provider,
            requestor=checksum(requestor, field="--requestor") if requestor else "0x" + "00" * 20,
            resources=resources,
            rate_per_hour=rate_wei,
            min_duration=min_seconds,
            max_duration=max_seconds,
            nonce=random_nonce() if nonce is None else nonce,
            deadline=now + valid_seconds,
        ),
        domain,
        key,
    )
    if out is None:
        click.echo(signed.to_json(), nl=False)
    else:
        signed.write(out)
        low, high = offer_deposit_bounds(rate_wei, signed.offer.min_duration, signed.offer.max_duration)
        click.echo(
            f"wrote {out}: {format_rate(rate_wei)} by {provider}, deposits {format_lnq(low)} … "
            f"{format_lnq(high)}, valid until {signed.offer.deadline}",
            err=True,
        )


@offer.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--offline", is_flag=True, help="Check only the signature and deadline (local clock).")
@click.option("--chain-id", type=int, default=None, help="Expected chain id (offline).")
@click.option("--escrow", default=None, help="Expected Escrow contract (offline).")
@index_options
@json_option
def offer_verify(file, offline, chain_id, escrow, devnet_dir, rpc, addresses, index_path, as_json) -> None:
    """Check an offer file: signer = provider, deadline, chain id, contract and (online) nonce unused."""
    signed = SignedOffer.read(file)
    if offline:
        report = verify_offer(signed, expected_chain_id=chain_id, expected_contract=escrow)
    else:
        profile, w3 = network(devnet_dir, rpc, addresses)
        report = verify_offer(
            signed, w3=w3, expected_contract=escrow or profile.book.escrow, escrow_address=profile.book.escrow
        )
    o = signed.offer
    low, high = offer_deposit_bounds(o.rate_per_hour, o.min_duration, o.max_duration)
    if as_json:
        echo_json(report.to_json(signed))
    else:
        console = _console()
        if report.ok:
            r = o.resources
            gpus = f", {r.gpu_count} GPU #{r.gpu_class}" if r.gpu_count else ""
            console.print(
                f"[green]valid[/green] offer by {o.provider}: {format_rate(o.rate_per_hour)} for "
                f"{r.cpu_millis}m CPU, {r.memory_mib} MiB, {r.storage_gib} GiB{gpus}; "
                f"deposit {format_lnq(low)} … {format_lnq(high)} "
                f"({format_duration(o.min_duration)} … {format_duration(o.max_duration)}); "
                f"checked {', '.join(report.checked)}"
            )
        else:
            console.print(f"[red]invalid[/red] offer {file}:")
            for problem in report.problems:
                console.print(f"  - {problem}")
    if not report.ok:
        raise SystemExit(1)
