"""The gateway's pure rules: which proxied requests are refused before forwarding, and lease errors in the house
style (one sentence naming the field, the value and the fix; an exit code from the one table)."""

from __future__ import annotations

from typing import Any

import pytest

from linq.cli.errors import EXIT_FAILED, EXIT_UNREACHABLE, exit_code_for
from linq.errors import FieldError
from linq.gateway import proxy
from linq.gateway.client import GatewayError, GatewayUnreachable, PinMismatch


def scope(path: str, query: bytes = b"", **headers: str) -> dict[str, Any]:
    return {
        "type": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "headers": [(k.lower().replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
    }


@pytest.mark.parametrize(
    ("path", "forwarded"),
    [
        ("/k8s/api/v1/namespaces/x/pods", "/api/v1/namespaces/x/pods"),
        ("/k8s/apis/apps/v1/namespaces/x/deployments", "/apis/apps/v1/namespaces/x/deployments"),
        ("/k8s/version", "/version"),
        ("/k8s/openapi/v3", "/openapi/v3"),
        ("/k8s/api", "/api"),
    ],
)
def test_api_paths_are_forwarded_as_sent(path: str, forwarded: str) -> None:
    assert proxy.target(scope(path)) == forwarded
    assert proxy.target(scope(path, b"watch=1&labelSelector=a%3Db")) == forwarded + "?watch=1&labelSelector=a%3Db"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/k8s/api/v1/namespaces/x/../y/pods", 400),
        ("/k8s/api/v1/namespaces/x/./pods", 400),
        ("/k8s/api/v1/namespaces/x%2Fpods", 400),
        ("/k8s/api/v1/namespaces/%2e%2e/pods", 400),
        ("/k8s/api//v1", 400),
        ("/k8s/metrics", 404),
        ("/k8s/debug/pprof", 404),
        ("/k8s/apiextras", 404),
        ("/k8s", 404),
    ],
)
def test_paths_outside_the_api_or_with_tricks_are_refused(path: str, code: int) -> None:
    with pytest.raises(proxy.Refused) as caught:
        proxy.target(scope(path))
    assert caught.value.code == code


def test_only_the_tenants_bearer_token_and_content_headers_are_forwarded() -> None:
    sent = proxy.forwarded_headers(
        scope("/k8s/api", authorization="Bearer tok", accept="application/json", cookie="x", x_forwarded_for="1.2.3.4")
    )
    assert sent == {"authorization": "Bearer tok", "accept": "application/json"}
    with pytest.raises(proxy.Refused) as caught:
        proxy.forwarded_headers(scope("/k8s/api", accept="application/json"))
    assert caught.value.code == 401
    with pytest.raises(proxy.Refused) as caught:
        proxy.forwarded_headers(scope("/k8s/api", authorization="Bearer tok", impersonate_user="admin"))
    assert caught.value.code == 403
    with pytest.raises(proxy.Refused):
        proxy.forwarded_headers(scope("/k8s/api", authorization="Basic dTpw"))
    # browsers carry the token as a WebSocket subprotocol
    ws = proxy.forwarded_headers(
        scope("/k8s/api", sec_websocket_protocol="v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.dG9r")
    )
    assert "authorization" not in ws


def test_lease_errors_are_one_house_style_sentence_with_an_exit_code() -> None:
    refused = GatewayError(
        409,
        "escrow_not_open",
        "escrow 0xab is Stopped; only Created or Active escrows get access (fund a new escrow)",
        value="https://gw.example:8443",
    )
    assert isinstance(refused, FieldError)
    assert (refused.field, refused.value, refused.fix) == (
        "gateway",
        "https://gw.example:8443",
        "only Created or Active escrows get access (fund a new escrow)",
    )
    assert str(refused) == (
        "gateway: 'https://gw.example:8443' refused (409 escrow_not_open): escrow 0xab is Stopped; "
        "only Created or Active escrows get access (fund a new escrow)"
    )
    assert "\n" not in str(refused)
    assert exit_code_for(refused) == EXIT_FAILED
    down = GatewayUnreachable(0, "unreachable", "no connection (refused); check that the gateway is up", value="u")
    assert exit_code_for(down) == EXIT_UNREACHABLE
    pin = PinMismatch("https://gw.example:8443", "a" * 64, "b" * 64)
    assert pin.code == "tls_pin_mismatch" and "nothing was sent" in str(pin) and pin.fix.startswith("check")
