"""The provider gateway: the provider-run service that turns a requestor's EIP-712 signed lease request into a
tenant namespace with its isolation bundle and a short-lived namespace-scoped credential (docs/gateway.md).

Modules: `meta` (the on-chain discovery document: URL + TLS pin), `tls` (the gateway's key and pinned
certificate), `message` (the signed lease request), `chainview` (the on-chain checks), `bundle` (the tenant
objects), `store` (nonces in the cluster), `service` (the ASGI app), `server` (uvicorn, TLS, shutdown),
`client` (the requestor's side, TLS pinned).
"""
