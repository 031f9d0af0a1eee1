"""The toolkit's one Kubernetes client: credentials and raw JSON/text requests through the official client.

Every caller goes through it: `linq status/logs/metrics/issues` (linq.monitor.cluster), the provider agent
(linq.agent.cluster), the LPStack dry-run (lpstack.kube) and the devnet's own calls (linq.devnet.kubeapi).
The official `kubernetes` client loads the credentials — tokens and token files, client certificates,
inline or file CAs, exec credential plugins, auth providers, the pod's service account — and refreshes
expiring ones. Objects stay plain JSON dicts: the generated models reject some objects API servers accept
(a kwok Node without full nodeInfo, for one), so no request goes through them.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import urllib3
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

Params = Mapping[str, str | int | bool | None]
REQUEST_TIMEOUT = 30.0  # seconds per call, unless the caller streams


class KubeError(RuntimeError):
    """The API answered with an error status: `status` is the HTTP code, `message` the API's own words."""

    def __init__(self, status: int, message: str, path: str = "") -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message
        self.path = path


class KubeUnreachable(RuntimeError):
    """The API server does not answer (refused, TLS failure, timeout); the message says which server."""


class KubeConfigError(ValueError):
    """No usable credentials; names the `field` (flag or kubeconfig part), the `value`, the problem and the fix."""

    def __init__(self, field: str, value: object, problem: str, fix: str) -> None:
        super().__init__(f"{field} {value!r} {problem}; {fix}")
        self.field, self.value, self.problem, self.fix = field, value, problem, fix


def _check_kubeconfig(path: Path, context: str | None, flag: str) -> None:
    """The mistakes the official loader reports obscurely, reported naming the flag, the value and the fix."""
    try:
        config = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise KubeConfigError(
            flag, str(path), "does not exist", "pass the cluster's kubeconfig, or start the devnet (`linq devnet up`)"
        ) from None
    except (OSError, yaml.YAMLError) as err:
        raise KubeConfigError(
            flag, str(path), f"is not a usable kubeconfig ({err})", "pass a kubeconfig file"
        ) from None
    if not isinstance(config, dict) or not config.get("contexts"):
        raise KubeConfigError(
            flag,
            str(path),
            "is not a usable kubeconfig (it has no contexts)",
            "pass a kubeconfig with a current-context",
        )
    wanted = context or config.get("current-context")
    if not any(c.get("name") == wanted for c in config["contexts"] if isinstance(c, dict)):
        names = [c.get("name") for c in config["contexts"] if isinstance(c, dict)]
        raise KubeConfigError(
            "--context" if context else f"{flag} {path} current-context",
            wanted,
            "is not a context of the kubeconfig",
            f"use one of {names}",
        )


class Kube:
    """One cluster, reached with one set of credentials. `where` describes them for messages."""

    def __init__(self, configuration: k8s.Configuration, where: str) -> None:
        configuration.retries = 1  # a dead server fails in one timeout or two, not four
        self.configuration = configuration
        self.api_client = k8s.ApiClient(configuration)
        self.where = where

    @classmethod
    def from_kubeconfig(cls, path: Path, context: str | None = None, *, flag: str = "--kubeconfig") -> Kube:
        """The kubeconfig's current context (or `context`), with whatever credentials it names."""
        path = Path(path)
        _check_kubeconfig(path, context, flag)
        configuration = k8s.Configuration()
        try:
            k8s_config.load_kube_config(
                config_file=str(path), context=context, client_configuration=configuration, persist_config=False
            )
        except (ConfigException, ValueError, KeyError, TypeError, OSError) as err:
            raise KubeConfigError(
                flag, str(path), f"is not a usable kubeconfig ({err})", "fix the file or its current-context"
            ) from None
        return cls(configuration, f"kubeconfig {path}")

    @classmethod
    def in_cluster(cls) -> Kube:
        """The pod's service account; its token is re-read as the kubelet rotates it."""
        configuration = k8s.Configuration()
        try:
            k8s_config.load_incluster_config(client_configuration=configuration)
        except ConfigException as err:
            raise KubeConfigError(
                "in-cluster credentials",
                os.environ.get("KUBERNETES_SERVICE_HOST", ""),
                f"are unusable ({err})",
                "mount the service-account token or pass --kubeconfig",
            ) from None
        return cls(configuration, "in-cluster service account")

    @classmethod
    def from_token(cls, server: str, token: str, ca_file: str | None) -> Kube:
        """A bearer token for `server`, verified against `ca_file` (the devnet's admin, a ServiceAccount)."""
        configuration = k8s.Configuration(
            host=server.rstrip("/"), api_key={"BearerToken": token}, api_key_prefix={"BearerToken": "Bearer"}
        )
        configuration.ssl_ca_cert = ca_file
        return cls(configuration, f"token for {server}")

    @property
    def server(self) -> str:
        return str(self.configuration.host)

    @property
    def token(self) -> str:
        """The bearer token in use ("" for client certificates), refreshed first if it expired."""
        value = self.configuration.get_api_key_with_prefix("BearerToken", alias="authorization") or ""
        return str(value).removeprefix("Bearer ")

    @property
    def ca_file(self) -> str | None:
        return self.configuration.ssl_ca_cert

    # ---- requests ----------------------------------------------------------------------------------
    def open(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        content_type: str = "application/json",
        accept: str = "application/json",
        timeout: float | None = REQUEST_TIMEOUT,
    ) -> urllib3.BaseHTTPResponse:
        """Send one request; the raw response (read it, or iterate it for streamed lines). KubeError on an
        error status, KubeUnreachable when the server does not answer."""
        query = [
            (k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in (params or {}).items() if v is not None
        ]
        headers = {"Accept": accept, "Content-Type": content_type}
        request = self.api_client.param_serialize(
            method, path, query_params=query, header_params=headers, body=body, auth_settings=["BearerToken"]
        )
        try:
            response = self.api_client.call_api(*request, _request_timeout=timeout).response
        except (urllib3.exceptions.HTTPError, OSError, ApiException) as err:
            reason = getattr(err, "reason", None) or err
            raise KubeUnreachable(f"the Kubernetes API at {self.server} does not answer ({reason})") from None
        if response.status >= 300:
            detail = response.data.decode(errors="replace")
            with contextlib.suppress(ValueError, AttributeError):
                detail = json.loads(detail).get("message", detail)
            response.release_conn()
            raise KubeError(response.status, str(detail).strip(), path)
        return response

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: Params | None = None,
        content_type: str = "application/json",
        timeout: float | None = REQUEST_TIMEOUT,
    ) -> Any:
        """One JSON request; the decoded answer (None when empty)."""
        response = self.open(method, path, params=params, body=body, content_type=content_type, timeout=timeout)
        payload = response.data
        return json.loads(payload) if payload else None

    def text(self, path: str, params: Params | None = None, *, timeout: float | None = REQUEST_TIMEOUT) -> str:
        return str(self.open("GET", path, params=params, accept="*/*", timeout=timeout).data.decode(errors="replace"))

    def lines(self, path: str, params: Params | None = None, *, timeout: float | None = None) -> Iterator[str]:
        """Stream a text response line by line (pods/log?follow=true); ends when the server closes."""
        response = self.open("GET", path, params=params, accept="*/*", timeout=timeout)
        try:
            for raw in response:
                yield raw.decode(errors="replace").rstrip("\n")
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise KubeUnreachable(f"the Kubernetes API at {self.server} stopped answering ({err})") from None
        finally:
            response.release_conn()
