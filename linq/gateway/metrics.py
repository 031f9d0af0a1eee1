"""Tenant metrics through the gateway: `POST /v1/metrics` (docs/gateway.md, docs/monitoring.md).

The request is the gateway's one signed request (linq.gateway.message) with `action: "metrics"`, admitted by
`Gateway.authorize` like a lease request: the same body, size, schema, window, audience, signature, requestor,
escrow status and single-use nonce checks, in the same order. The requestor sends no query: the gateway fills
the fixed templates of linq.monitor.metrics (CPU, memory, network, request rate) with the namespace it owns for
that escrow (linq.gateway.bundle.namespace_name: from the escrow id, never from user text) and reads pods,
restarts and the plan from the Kubernetes API with its own credential. So a tenant never reads another
tenant's series: the only namespace any query names is its own escrow's. Rewriting requestor PromQL instead
would leak (docs/gateway.md: a Python PromQL printer turned one matcher into an unscoped OR branch).

The only unsigned input is `?window=` (a PromQL duration, checked against a strict pattern, at most MAX_WINDOW).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from linq.gateway import bundle
from linq.gateway.leases import Gateway
from linq.gateway.message import RequestRefused
from linq.monitor import metrics as templates
from linq.monitor import snapshot
from linq.monitor.cluster import Cluster
from linq.monitor.errors import MonitorError
from linq.monitor.targets import Target
from linq.units import parse_duration

log = logging.getLogger("linq.gateway")
ACTION = "metrics"
DEFAULT_WINDOW = "2m"
MAX_WINDOW = 3600  # seconds: a longer rate window is a heavier query and no more useful to a tenant


def check_window(window: str) -> str:
    try:
        templates.check_window(window)
        seconds = parse_duration(window, field="window")
    except ValueError as err:  # InputError and UnitError name the field, the value and the fix
        raise RequestRefused(400, "malformed", f"{err}") from None
    if not 0 < seconds <= MAX_WINDOW:
        raise RequestRefused(400, "malformed", f"window {window!r} must be longer than 0 and at most {MAX_WINDOW} s")
    return window


def tenant_metrics(gateway: Gateway, raw: bytes, content_type: str, window: str) -> dict[str, Any]:
    """The signed request's escrow's usage, as linq.monitor.metrics.Usage JSON plus the escrow id."""
    window = check_window(window)
    if not gateway.config.prometheus:
        raise RequestRefused(
            501, "no_metrics", "this gateway has no Prometheus configured (`linq provider gateway --prometheus URL`)"
        )
    _signed, state = gateway.authorize(raw, content_type, ACTION)
    escrow_id = state.escrow_id
    namespace = bundle.namespace_name(escrow_id)
    cluster = Cluster(gateway.api, "the provider's cluster")
    try:
        snap = snapshot.take(cluster, Target(name=namespace, namespace=namespace, escrow_id=escrow_id))
        if not snap.namespace_exists:
            raise RequestRefused(
                404,
                "no_namespace",
                f"escrow {escrow_id} has no namespace {namespace} yet; obtain lease access (`pulumi up`) first",
            )
        usage = templates.from_prometheus(
            templates.Prometheus(gateway.config.prometheus), snap, window, source="provider gateway (Prometheus)"
        )
    except MonitorError as err:  # the detail names the provider's internal URLs: logged, not returned
        log.warning(json.dumps({"event": "metrics-failed", "escrow_id": escrow_id, "detail": str(err)}))
        raise RequestRefused(503, "metrics_unavailable", "the provider's metrics cannot be read now; retry") from None
    return {"escrowId": escrow_id, "window": window, **usage.to_json()}
