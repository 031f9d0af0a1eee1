"""API keys in PostgreSQL: two `linq api serve` processes on one real PostgreSQL server (Debian's, started
here as an unprivileged user on a unix socket) share their keys. A key created with `linq api keys create
--keys postgresql://…` is accepted by both; revoked through one store it is refused by both from the next
request; with the server down a write is a 503 naming the store (never a 500, never let through), and after
it comes back the instances reconnect by themselves."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from linq.api.keys import PostgresKeyStore, open_store
from linq.cli import main as linq_cli
from tests.integration.api_world import ApiServer, Reply, World, http, running_world
from tests.integration.postgres import ThrowawayPostgres

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pg() -> Iterator[ThrowawayPostgres]:
    server = ThrowawayPostgres()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_world(tmp_path_factory.mktemp("apipg")) as w:
        yield w


def _create(world: World, base: str, key: str | None) -> Reply:
    """A transaction builder (needs a key): create an escrow of 1 CPU for 1h at the first provider."""
    body = {
        "from": world.requestor.address,
        "provider": world.provider.address,
        "cpu": "1",
        "memory": "1Gi",
        "storage": "5Gi",
        "duration": "1h",
    }
    return http(base, "POST", "/api/v1/escrow/create", body, key=key)


def _keys_cli(*args: str) -> str:
    out = CliRunner().invoke(linq_cli, ["api", "keys", *args])
    assert out.exit_code == 0, out.output
    return out.output


def test_two_instances_share_keys_in_postgresql(world: World, pg: ThrowawayPostgres, tmp_path_factory) -> None:
    logs = tmp_path_factory.mktemp("apipg-logs")
    a = ApiServer(world.url, world.book_file, pg.url, logs / "a.log", "--rate", "0")
    b = ApiServer(world.url, world.book_file, pg.url, logs / "b.log", "--rate", "0")
    try:
        assert isinstance(open_store(pg.url), PostgresKeyStore)
        made_up = "lq_0badc0de_" + "x" * 43
        assert _create(world, a.base, made_up).status == 401 and _create(world, b.base, made_up).status == 401

        created = json.loads(_keys_cli("create", "shared", "--keys", pg.url, "--json"))
        key, key_id = created["key"], created["id"]
        for server in (a, b):  # created once, in the shared store: accepted by both
            reply = _create(world, server.base, key)
            assert reply.status == 200, reply.body
            assert [t["description"].split()[0] for t in reply.body["transactions"]][-1] == "create"
        listed = json.loads(_keys_cli("list", "--keys", pg.url, "--json"))["keys"]
        assert [(k["id"], k["revoked_at"]) for k in listed] == [(key_id, None)]

        # revoked through one instance's store: refused by the other (and by itself) from the next request
        assert open_store(pg.url).revoke(key_id) is not None
        for server in (b, a):
            refused = _create(world, server.base, key)
            assert refused.status == 401 and refused.body["field"] == "Authorization", refused.body

        second = open_store(pg.url).create("second")[1]
        assert _create(world, b.base, second).status == 200

        pg.stop()  # the shared store goes away: a write is refused as unavailable, never let through
        down = _create(world, a.base, second)
        assert down.status == 503, down.body
        assert down.body["error"] == "KeyStoreUnavailable" and "API key store" in down.body["message"]
        assert "cannot be reached" in down.body["message"]
        assert http(a.base, "GET", "/api/v1/plans").status == 200  # reads need no key and still answer

        pg.start()  # and back: both instances reconnect on their next request
        assert _create(world, a.base, second).status == 200
        assert _create(world, b.base, second).status == 200
        assert _create(world, b.base, key).status == 401  # the revocation outlived the restart
        for log in (a.log, b.log):
            text = log.read_text()
            assert second not in text and key not in text  # keys never reach the logs
    finally:
        a.stop()
        b.stop()
