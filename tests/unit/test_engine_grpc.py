"""The engine's in-process programs survive a resource-monitor port that an earlier engine used (real gRPC)."""

from __future__ import annotations

import time
from concurrent import futures

import grpc


def _server(port: int) -> tuple[grpc.Server, int]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    handler = grpc.unary_unary_rpc_method_handler(lambda request, context: b"ok")
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("t.S", {"M": handler}),))
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    return server, bound


def _call(channel: grpc.Channel) -> bytes:
    return channel.unary_unary("/t.S/M")(b"x", timeout=5)  # type: ignore[no-any-return]


def test_a_new_channel_to_a_reused_port_does_not_inherit_the_dead_connection() -> None:
    from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS

    from linq.engine import _own_grpc_connections

    _own_grpc_connections()
    first, port = _server(0)
    old = grpc.insecure_channel(f"127.0.0.1:{port}", options=_GRPC_CHANNEL_OPTIONS)  # a finished run's channel
    assert _call(old) == b"ok"
    first.stop(0)
    time.sleep(0.3)
    try:
        _call(old)
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.UNAVAILABLE  # the old connection is now in back-off
    second, _ = _server(port)  # the next engine's monitor on the same port
    try:
        new = grpc.insecure_channel(f"127.0.0.1:{port}", options=_GRPC_CHANNEL_OPTIONS)
        assert _call(new) == b"ok"  # without a per-channel pool this fails UNAVAILABLE at once
    finally:
        second.stop(0)
        old.close()
