"""When the requestor keeps the lease credential it holds, and when it asks the gateway for a new one.

A gateway's credential (linq.gateway.client.Lease) is a namespace-scoped kubeconfig with a TokenRequest token
of at most an hour. Fetching a new one at every run makes every `up`/`preview` of an unchanged stack show an
update (the cluster provider's secret input changes), so the requestor keeps it (components.lease, as a
Pulumi secret in state) and renews it only when:
- less than RENEW_BEFORE of its life is left (or its expiry cannot be read), so a run that starts with it
  never sees it expire halfway; or
- the API server refuses it: the gateway revoked it (the tenant ServiceAccount or its RoleBinding deleted when
  the escrow stopped, or re-created by a restarted gateway) — one SelfSubjectAccessReview asking whether the
  credential may still create workloads in its namespace; 401 (unknown token) or `allowed: false` (binding
  gone) both renew. A server that does not answer keeps the credential: a new one would not reach it either,
  and the cluster provider then fails with the server's own error.
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import urllib.parse
from datetime import UTC, datetime, timedelta

RENEW_BEFORE = timedelta(minutes=15)
PROBE = {"namespace": "", "verb": "create", "group": "apps", "resource": "statefulsets"}


def expiry(expires_at: str) -> datetime | None:
    """The RFC 3339 expiry as an aware datetime; None when it cannot be read."""
    try:
        moment = datetime.fromisoformat(str(expires_at).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def stale(expires_at: str, now: datetime | None = None, renew_before: timedelta = RENEW_BEFORE) -> str | None:
    """Why a credential expiring at `expires_at` must be renewed now (None: keep it)."""
    moment = expiry(expires_at)
    if moment is None:
        return f"its expiry {expires_at!r} is unreadable"
    left = moment - (now or datetime.now(UTC))
    if left < renew_before:
        return f"it expires at {expires_at}, in less than {int(renew_before.total_seconds() // 60)} min"
    return None


def refused(kubeconfig: str, namespace: str, timeout: float = 15.0) -> str | None:
    """Why the API server refuses this credential (None: it still may create workloads in `namespace`, or the
    server did not answer).

    One POST with the standard library rather than linq.kube: this runs in the dynamic provider at every
    `preview`/`up`, where importing the `kubernetes` client costs 1-4 s for one request. The kubeconfig is the
    gateway's (linq.gateway.bundle.kubeconfig): one server, an optional inline CA, one bearer token."""
    config = json.loads(kubeconfig)
    cluster = config["clusters"][0]["cluster"]
    token = config["users"][0]["user"]["token"]
    url = urllib.parse.urlsplit(str(cluster["server"]))
    ca = cluster.get("certificate-authority-data")
    context = ssl.create_default_context(cadata=base64.b64decode(ca).decode() if ca else None)
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {**PROBE, "namespace": namespace}},
    }
    conn = http.client.HTTPSConnection(url.hostname or "", url.port or 443, timeout=timeout, context=context)
    try:
        conn.request(
            "POST",
            url.path.rstrip("/") + "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            body=json.dumps(review),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        raw = response.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()
    if response.status >= 300:
        return f"the API server refused it ({response.status})"
    try:
        allowed = json.loads(raw).get("status", {}).get("allowed")
    except (ValueError, AttributeError):
        allowed = False
    if not allowed:
        return f"it may no longer create workloads in {namespace} (revoked)"
    return None
