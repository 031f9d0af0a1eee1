"""The devnet's handle on its own API server: a bearer token and the devnet CA, over the toolkit's one
Kubernetes client (linq.kube), with the few raw calls the devnet, its tests and the LPStack dry-run make."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from linq.kube import Kube, KubeError

__all__ = ["KubeAPI", "KubeError"]


@dataclass(frozen=True)
class KubeAPI:
    server: str
    token: str
    ca_file: str | None

    @classmethod
    def from_kubeconfig(cls, path: Path) -> KubeAPI:
        kube = Kube.from_kubeconfig(path, flag="kubeconfig")
        return cls(server=kube.server, token=kube.token, ca_file=kube.ca_file)

    @cached_property
    def client(self) -> Kube:
        return Kube.from_token(self.server, self.token, self.ca_file)

    def request(self, method: str, path: str, body: dict | None = None, content_type: str = "application/json") -> Any:
        return self.client.request(method, path, body, content_type=content_type)

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, body: dict) -> Any:
        return self.request("POST", path, body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)
