"""The one table from error class to exit code (documented in docs/cli.md), and the one-line message of an
error: used by every `linq` command (linq/cli/errors.py) and by the API, whose HTTP status follows the code.

The first row whose class matches wins (subclasses before their bases). Classes are named, not imported, so a
command that is not run costs no import; `exit_code_for` resolves them when an error happens.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection

EXIT_OK = 0
EXIT_FAILED = 1  # the chain or the catalog refused; a check found problems (a result, not an error)
EXIT_INPUT = 2  # a flag, argument, file or config value is wrong
EXIT_UNREACHABLE = 3  # a source cannot be reached or read: the chain (RPC), the network profile (address book,
# devnet dir), and for `linq status/logs/metrics/issues` the cluster, Prometheus, Pulumi backend or chain
EXIT_SOURCE = EXIT_UNREACHABLE
EXIT_NO_KEY = 4  # no usable signing key
EXIT_CLUSTER = 5  # the provider agent's cluster (kubeconfig or API) is unusable

# (module, class, exit code): most specific first.
EXIT_CODES: tuple[tuple[str, str, int], ...] = (
    ("linq.chain.errors", "SignerError", EXIT_NO_KEY),
    ("linq.chain.errors", "RpcUnavailable", EXIT_UNREACHABLE),
    ("linq.chain.errors", "NetworkConfigError", EXIT_UNREACHABLE),
    ("linq.monitor.errors", "SourceUnavailable", EXIT_SOURCE),
    ("linq.gateway.client", "GatewayUnreachable", EXIT_UNREACHABLE),
    ("linq.api.keys", "KeyStoreUnavailable", EXIT_UNREACHABLE),
    ("linq.gateway.client", "GatewayError", EXIT_FAILED),  # the provider's gateway refused (its sentence says why)
    ("linq.chain.errors", "InputError", EXIT_INPUT),
    ("linq.units", "UnitError", EXIT_INPUT),
    ("linq.monitor.errors", "InputError", EXIT_INPUT),
    ("linq.monitor.errors", "MonitorError", EXIT_INPUT),
    ("linq.market.encoding", "EncodingError", EXIT_INPUT),
    ("linq.market.offers", "OfferError", EXIT_INPUT),
    ("linq.market.plans", "PlanError", EXIT_INPUT),
    ("linq.protocol.money", "PricingError", EXIT_INPUT),
    ("linq.stackconfig", "ConfigError", EXIT_INPUT),
    ("pydantic", "ValidationError", EXIT_INPUT),
    ("linq.agent.cluster", "ClusterError", EXIT_CLUSTER),
    ("linq.catalog.errors", "CatalogError", EXIT_FAILED),
    ("linq.chain.errors", "ChainError", EXIT_FAILED),
    ("linq.errors", "FieldError", EXIT_INPUT),
)


def _class(module: str, name: str) -> type[BaseException] | None:
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None
    return found if isinstance(found, type) and issubclass(found, BaseException) else None


def exit_code_for(error: BaseException) -> int | None:
    """The exit code of `error` by the table, or None when it is not a user-facing error (a bug: traceback)."""
    for module, name, code in EXIT_CODES:
        cls = _class(module, name)
        if cls is not None and isinstance(error, cls):
            return code
    return None


def message(error: BaseException, flags: Collection[str] = ()) -> str:
    """The one-line message of a user-facing error. A pydantic ValidationError is worded from its first error;
    its fix names the option when `flags` (the options of the command that raised it) has it."""
    errors = getattr(error, "errors", None)
    if type(error).__name__ == "ValidationError" and callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "value"
        flag = "--" + str(first["loc"][0]).replace("_", "-") if first["loc"] else ""
        fix = f"correct {flag}" if flag in flags else "correct the input"
        return f"{where}: {first['msg']} (got {first.get('input')!r}); {fix} and run again"
    return str(error)
