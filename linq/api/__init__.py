"""The Blockchain API (`linq api serve`, docs/api.md): a REST service over the same library code the CLI uses.

    linq/api/context.py   the network, the registry index (kept current), the catalog: what handlers read
    linq/api/reads.py     public read endpoints (registry, templates, plans, estimate, match, escrow, render)
    linq/api/txs.py       transaction builders (unsigned transactions + a summary) and the signed-tx relay
    linq/api/routes.py    the route table, and the OpenAPI document generated from it
    linq/api/app.py       the Starlette app: auth, rate and size limits, CORS (off by default), JSON errors
    linq/api/keys.py      API keys, stored hashed (SQLite by default, PostgreSQL to share; one KeyStore interface)
    linq/api/limits.py    the token-bucket rate limiter and the bounded body read
    linq/api/settings.py  the service's knobs and their defaults
    linq/api/errors.py    library errors -> HTTP status + {error, field, value, problem, fix, message}

The API never holds a user's key: builders return unsigned transactions the user signs elsewhere (a browser
wallet, a CI secret), and `POST /api/v1/tx/submit` only relays signed bytes.
"""
