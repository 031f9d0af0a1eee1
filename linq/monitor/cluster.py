"""Read-only Kubernetes API access from a kubeconfig: JSON reads, plain-text reads and streamed lines.

Supports what provider kubeconfigs carry: a bearer token or a client certificate, the CA as a file or
inline data, and the current context (or a named one). Which kubeconfig: --kubeconfig, then $KUBECONFIG,
then the local devnet's, then ~/.kube/config.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import ssl
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from linq.monitor.errors import InputError, MonitorError, SourceUnavailable

Params = Mapping[str, str | int | bool | None]


class ApiError(MonitorError):
    """The API answered with an error status; `status` is the HTTP code, the message is the API's."""

    def __init__(self, status: int, path: str, message: str) -> None:
        super().__init__(f"Kubernetes API {path}: HTTP {status}: {message}")
        self.status = status
        self.message = message


def default_kubeconfig(devnet_dir: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """An explicit --devnet-dir's kubeconfig, then $KUBECONFIG, the default devnet's, ~/.kube/config."""
    from linq.devnet import Devnet, default_state_dir

    env = os.environ if env is None else env
    if devnet_dir is not None:
        return Devnet(devnet_dir).kubeconfig
    if env.get("KUBECONFIG"):
        return Path(env["KUBECONFIG"].split(os.pathsep)[0])
    devnet = Devnet(default_state_dir())
    if devnet.kubeconfig.exists():
        return devnet.kubeconfig
    return Path.home() / ".kube" / "config"


def _materialise(data_b64: str, suffix: str) -> str:
    """Inline kubeconfig data as a private temp file (ssl wants paths); removed at interpreter exit."""
    import atexit

    handle = tempfile.NamedTemporaryFile("wb", suffix=suffix, delete=False)  # noqa: SIM115 - kept for ssl
    with handle:
        handle.write(base64.b64decode(data_b64))
    os.chmod(handle.name, 0o600)
    atexit.register(lambda: Path(handle.name).unlink(missing_ok=True))
    return handle.name


@dataclass
class Cluster:
    server: str
    token: str = ""
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure: bool = False
    source: str = ""  # the kubeconfig path, for messages
    timeout: float = 20.0
    _context: ssl.SSLContext | None = field(default=None, repr=False)

    @classmethod
    def from_kubeconfig(cls, path: Path, context: str | None = None) -> Cluster:
        flag = "--kubeconfig"
        try:
            config = yaml.safe_load(Path(path).read_text())
        except FileNotFoundError:
            raise InputError(flag, str(path), "does not exist",
                             "pass the provider cluster's kubeconfig, or start the devnet (`linq devnet up`)") from None
        except yaml.YAMLError as err:
            raise InputError(flag, str(path), f"is not YAML ({err})", "pass a kubeconfig file") from None
        if not isinstance(config, dict) or not config.get("contexts"):
            raise InputError(flag, str(path), "has no contexts", "pass a kubeconfig with a current-context")
        wanted = context or config.get("current-context")
        ctx = next((c["context"] for c in config["contexts"] if c.get("name") == wanted), None)
        if ctx is None:
            names = [c.get("name") for c in config["contexts"]]
            raise InputError("--context" if context else f"{flag} {path} current-context", wanted,
                             "is not a context of the kubeconfig", f"use one of {names}")  # fmt: skip
        cluster = next((c["cluster"] for c in config.get("clusters", []) if c.get("name") == ctx.get("cluster")), None)
        user: dict[str, Any] = next((u["user"] for u in config.get("users", [])
                                     if u.get("name") == ctx.get("user")), {}) or {}  # fmt: skip
        if cluster is None or not cluster.get("server"):
            raise InputError(flag, str(path), f"has no server for cluster {ctx.get('cluster')!r}",
                             "fix the clusters section of the kubeconfig")  # fmt: skip
        base = Path(path).parent

        def file_or_data(key: str, suffix: str, section: dict[str, Any]) -> str | None:
            if section.get(f"{key}-data"):
                return _materialise(section[f"{key}-data"], suffix)
            if section.get(key):
                return str(base / section[key])
            return None

        token = str(user.get("token") or "")
        if not token and user.get("tokenFile"):
            token = (base / user["tokenFile"]).read_text().strip()
        return cls(
            server=str(cluster["server"]).rstrip("/"),
            token=token,
            ca_file=file_or_data("certificate-authority", ".crt", cluster),
            cert_file=file_or_data("client-certificate", ".crt", user),
            key_file=file_or_data("client-key", ".key", user),
            insecure=bool(cluster.get("insecure-skip-tls-verify")),
            source=str(path),
        )

    # ---- transport ---------------------------------------------------------------------------------
    def _ssl(self) -> ssl.SSLContext:
        if self._context is None:
            context = ssl.create_default_context(cafile=self.ca_file)
            if self.insecure:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            if self.cert_file and self.key_file:
                context.load_cert_chain(self.cert_file, self.key_file)
            self._context = context
        return self._context

    def url(self, path: str, params: Params | None = None) -> str:
        query = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in (params or {}).items()
                 if v is not None}  # fmt: skip
        return self.server + path + (f"?{urllib.parse.urlencode(query)}" if query else "")

    def _open(self, path: str, params: Params | None, accept: str, timeout: float | None) -> Any:
        headers = {"Accept": accept}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url(path, params), headers=headers)  # noqa: S310 - kubeconfig server
        context = self._ssl() if self.server.startswith("https://") else None
        try:
            return urllib.request.urlopen(request, context=context, timeout=timeout)  # noqa: S310
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            with contextlib.suppress(ValueError, AttributeError):
                detail = json.loads(detail).get("message", detail)
            if error.code in (401, 403):
                raise ApiError(error.code, path, f"{detail.strip()} — the credentials in {self.source} may not "
                               "read this; use the tenant's or the provider's kubeconfig") from None
            raise ApiError(error.code, path, detail.strip()) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise SourceUnavailable(
                f"--kubeconfig {self.source}: the Kubernetes API at {self.server} does not answer ({reason}); "
                "check that the cluster is up (`linq devnet status` for the devnet) and the kubeconfig is current"
            ) from None

    def get(self, path: str, params: Params | None = None) -> dict[str, Any]:
        with self._open(path, params, "application/json", self.timeout) as response:
            return dict(json.loads(response.read()))

    def get_optional(self, path: str, params: Params | None = None) -> dict[str, Any] | None:
        """The object, or None when the API says 404 (not there, or the API group is not served)."""
        try:
            return self.get(path, params)
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    def items(self, path: str, params: Params | None = None) -> list[dict[str, Any]]:
        found = self.get_optional(path, params)
        return list(found.get("items", [])) if found else []

    def text(self, path: str, params: Params | None = None) -> str:
        with self._open(path, params, "*/*", self.timeout) as response:
            return str(response.read().decode(errors="replace"))

    def lines(self, path: str, params: Params | None = None, *, timeout: float | None = None) -> Iterator[str]:
        """Stream a text response line by line (pods/log?follow=true); ends when the server closes."""
        with self._open(path, params, "*/*", timeout) as response:
            for raw in response:
                yield raw.decode(errors="replace").rstrip("\n")
