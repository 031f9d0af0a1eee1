"""A JSON-RPC HTTP provider that retries transient failures with exponential backoff.

Transient: connection refused/reset, timeouts, HTTP 429 and 5xx. Every method is retried, sends
included: re-sending the same signed bytes is idempotent (the node answers "already known" or
"nonce too low", which the transaction path recognises as "already sent").
"""

from __future__ import annotations

import os
import time
from typing import Any

import requests
from web3 import HTTPProvider
from web3.types import RPCEndpoint

from linq.chain.errors import RpcUnavailable

TRANSIENT_HTTP_STATUS = frozenset({429, 500, 502, 503, 504})
ENV_RETRIES = "LINQ_RPC_RETRIES"
DEFAULT_RETRIES = 5
DEFAULT_BACKOFF = 0.25  # seconds; doubles per attempt: 0.25, 0.5, 1, 2, 4


class RetryingHTTPProvider(HTTPProvider):
    def __init__(
        self, url: str, *, retries: int | None = None, backoff: float = DEFAULT_BACKOFF, timeout: float = 30.0
    ) -> None:
        super().__init__(url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None)
        self.retries = retries if retries is not None else int(os.environ.get(ENV_RETRIES, DEFAULT_RETRIES))
        self.backoff = backoff
        self.attempts = 0  # requests made, retries included (for tests and diagnostics)

    def _make_request(self, method: RPCEndpoint, request_data: bytes) -> bytes:
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            self.attempts += 1
            try:
                return super()._make_request(method, request_data)
            except (requests.ConnectionError, requests.Timeout) as err:
                last = err
            except requests.HTTPError as err:
                status = err.response.status_code if err.response is not None else 0
                if status not in TRANSIENT_HTTP_STATUS:
                    raise RpcUnavailable(
                        f"JSON-RPC {self.endpoint_uri} answered HTTP {status} to {method}; "
                        "check the URL (--rpc / linq:rpcUrl)"
                    ) from None
                last = err
            if attempt < self.retries:
                time.sleep(self.backoff * 2**attempt)
        raise RpcUnavailable(
            f"JSON-RPC {self.endpoint_uri} did not answer {method} after {self.retries + 1} attempts "
            f"({_short(last)}); start the node or fix the URL (--rpc / linq:rpcUrl), then run again"
        )


def _short(err: Any) -> str:
    text = str(err)
    if "Connection refused" in text:
        return "connection refused"
    if "timed out" in text.lower():
        return "timed out"
    return type(err).__name__ + (f": {text[:120]}" if text else "")
