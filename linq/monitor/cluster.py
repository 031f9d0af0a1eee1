"""Read-only Kubernetes API access for the monitoring commands: JSON reads, plain-text reads and streamed lines.

Transport and credentials are the toolkit's one Kubernetes client (linq.kube): whatever the kubeconfig
carries (tokens, client certificates, exec credential plugins, auth providers) works. Which kubeconfig:
--kubeconfig, then $KUBECONFIG, then the local devnet's, then ~/.kube/config. Failures become the monitoring
errors (InputError, ApiError, SourceUnavailable), each naming the field or the server and the fix.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from linq.kube import Kube, KubeConfigError, KubeError, KubeUnreachable, Params
from linq.monitor.errors import InputError, MonitorError, SourceUnavailable


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


class Cluster:
    """One cluster as the monitoring commands read it."""

    timeout: float = 20.0

    def __init__(self, kube: Kube, source: str) -> None:
        self.kube = kube
        self.source = source  # the kubeconfig path, for messages

    @classmethod
    def from_kubeconfig(cls, path: Path, context: str | None = None) -> Cluster:
        try:
            return cls(Kube.from_kubeconfig(Path(path), context), str(path))
        except KubeConfigError as err:
            raise InputError(err.field, err.value, err.problem, err.fix) from None

    @property
    def server(self) -> str:
        return self.kube.server

    @property
    def token(self) -> str:
        return self.kube.token

    @property
    def ca_file(self) -> str | None:
        return self.kube.ca_file

    @contextlib.contextmanager
    def _errors(self, path: str) -> Iterator[None]:
        """The client's failures as monitoring errors, naming the kubeconfig and the fix."""
        try:
            yield
        except KubeError as error:
            if error.status in (401, 403):
                fix = f"the credentials in {self.source} may not read this; use the tenant's or provider's kubeconfig"
                raise ApiError(error.status, path, f"{error.message} — {fix}") from None
            raise ApiError(error.status, path, error.message) from None
        except KubeUnreachable as error:
            raise SourceUnavailable(
                f"--kubeconfig {self.source}: {error}; check that the cluster is up (`linq devnet status` for the "
                "devnet) and the kubeconfig is current"
            ) from None

    def get(self, path: str, params: Params | None = None) -> dict[str, Any]:
        with self._errors(path):
            return dict(self.kube.request("GET", path, params=params, timeout=self.timeout) or {})

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
        with self._errors(path):
            return self.kube.text(path, params, timeout=self.timeout)

    def lines(self, path: str, params: Params | None = None, *, timeout: float | None = None) -> Iterator[str]:
        """Stream a text response line by line (pods/log?follow=true); ends when the server closes."""
        with self._errors(path):
            yield from self.kube.lines(path, params, timeout=timeout)
