"""`linq api serve | keys create | keys list | keys revoke`: the Blockchain API (docs/api.md).

Network: the shared flags (--devnet-dir, or --rpc URL --addresses FILE; else $LINQ_RPC_URL + $LINQ_ADDRESSES,
$LINQ_DEVNET_DIR, the default devnet). Keys live in --keys FILE|URL (a SQLite file, default
.linq/api-keys.sqlite, or a postgresql:// database that several instances share; else $LINQ_API_KEYS); a new key
is printed once and stored only as its hash. The service holds no signing key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from linq.api.settings import Settings
from linq.cli.options import echo_json, json_option, network_options

if TYPE_CHECKING:
    from linq.api.keys import KeyStore

DEFAULT_KEYS = Path(".linq") / "api-keys.sqlite"
DEFAULTS = Settings()
KEYS = click.option(
    "--keys",
    "keys_path",
    metavar="FILE|URL",
    default=None,
    help=f"API key store: a SQLite file or a postgresql:// URL (default: $LINQ_API_KEYS or {DEFAULT_KEYS}).",
)


def _store(location: str | None) -> KeyStore:
    """The key store (imported lazily: `linq --help` stays fast)."""
    from linq.api.keys import open_store

    if location:
        return open_store(location)
    env = os.environ.get("LINQ_API_KEYS")
    return open_store(env, field="$LINQ_API_KEYS") if env else open_store(DEFAULT_KEYS)


@click.group("api")
def api() -> None:
    """The Blockchain API: REST reads and unsigned-transaction builders over the same library as the CLI."""


@api.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8700, show_default=True, help="Port to listen on.")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="PEM certificate (TLS).")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="PEM key (TLS).")
@click.option(
    "--rate", type=float, default=DEFAULTS.rate, show_default=True, help="Requests/s per client (0: no limit)."
)
@click.option("--burst", type=int, default=DEFAULTS.burst, show_default=True, help="Burst per client.")
@click.option("--max-body", type=int, default=DEFAULTS.max_body, show_default=True, help="Largest request body, bytes.")
@click.option("--cors-origin", "cors", multiple=True, help="Allow browser calls from this origin (repeatable; off).")
@click.option(
    "--index-max-age",
    type=float,
    default=DEFAULTS.index_max_age,
    show_default=True,
    help="Seconds a registry read may lag.",
)
@click.option("--index", "index_path", type=click.Path(dir_okay=False, path_type=Path), help="Registry index cache.")
@KEYS
@network_options
def serve(
    host,
    port,
    tls_cert,
    tls_key,
    rate,
    burst,
    max_body,
    cors,
    index_max_age,
    index_path,
    keys_path,
    devnet_dir,
    rpc,
    chain_id,
    addresses,
) -> None:
    """Serve the API (OpenAPI at /api/v1/openapi.json) until stopped."""
    from linq.api.app import serve as run
    from linq.api.context import ApiContext
    from linq.chain import resolve_profile

    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("TLS needs both --tls-cert and --tls-key")
    profile = resolve_profile(devnet_dir=devnet_dir, rpc_url=rpc, chain_id=chain_id, addresses=addresses)
    settings = Settings(
        index_max_age=index_max_age, rate=rate, burst=burst, max_body=max_body, cors_origins=tuple(cors)
    )
    ctx = ApiContext(profile, settings, index_cache=index_path)
    run(ctx, _store(keys_path), host, port, tls_cert=tls_cert, tls_key=tls_key)


@api.group("keys")
def keys() -> None:
    """API keys for the write endpoints (stored hashed)."""


@keys.command("create")
@click.argument("name")
@KEYS
@json_option
def keys_create(name: str, keys_path: str | None, as_json: bool) -> None:
    """Make a key named NAME; it is printed once (keep it: only its hash is stored)."""
    info, key = _store(keys_path).create(name)
    if as_json:
        echo_json({**info.to_json(), "key": key})
        return
    click.echo(f"created key {info.id} ({name}); send it as `Authorization: Bearer <key>`:", err=True)
    click.echo(key)


@keys.command("list")
@KEYS
@json_option
def keys_list(keys_path: str | None, as_json: bool) -> None:
    """Every key: id, name, created, revoked (never the key)."""
    rows = _store(keys_path).list()
    if as_json:
        echo_json({"keys": [k.to_json() for k in rows]})
        return
    for k in rows:
        click.echo(f"{k.id}  {'active ' if k.active else 'revoked'}  {k.name}")


@keys.command("revoke")
@click.argument("key_id")
@KEYS
def keys_revoke(key_id: str, keys_path: str | None) -> None:
    """Revoke the key KEY_ID (its 8-digit id from `keys list`); it is refused from the next request on."""
    info = _store(keys_path).revoke(key_id)
    if info is None:
        from linq.errors import FieldError

        raise FieldError("KEY_ID", key_id, "is not a key of this store", "see `linq api keys list`")
    click.echo(f"revoked {info.id} ({info.name})")
