"""LeaseCredential: lease access to one escrow's namespace from its provider's gateway, kept in state as a
Pulumi secret and renewed only when linq.lease_credential says so (near expiry, or refused by the API server).

Its own module, without pulumi_kubernetes: the dynamic provider process imports it to unpickle the provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from components.dynamic import LinqProvider, is_unknown

INPUTS = ("escrow_id", "provider")
OUTPUTS = ("namespace", "expires_at", "kubeconfig")


class LeaseRefused(Exception):
    """The provider's gateway refused or could not be reached (the message is the house-style sentence)."""


class LeaseCredentialProvider(LinqProvider):
    """create/update ask the gateway; diff keeps the credential unless it is near expiry or refused."""

    def _obtain(self, props: Mapping[str, Any]) -> dict[str, Any]:
        from linq.errors import FieldError
        from linq.gateway.client import obtain_lease

        escrow_id = str(props["escrow_id"])
        try:
            lease = obtain_lease(self.client(signer=True), escrow_id, str(props["provider"]))
        except FieldError as err:  # the gateway's refusal in house style: one line, no traceback
            raise LeaseRefused(f"lease access for escrow {escrow_id}: {err}") from None
        return {
            "escrow_id": lease.escrow_id,
            "provider": lease.provider,
            "namespace": lease.namespace,
            "expires_at": lease.expires_at,
            "kubeconfig": lease.kubeconfig,
        }

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = self._obtain(props)
        return CreateResult(id_=f"lease-{outs['namespace']}", outs=outs)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=self._obtain(news))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        from linq import lease_credential

        if any(is_unknown(news.get(k)) for k in INPUTS):  # preview of an Escrow update: decided again at `up`
            return DiffResult(changes=True, replaces=[], stables=[], delete_before_replace=False)
        changed = [k for k in INPUTS if str(news.get(k)).lower() != olds.get(k)]
        if changed:  # another escrow or provider: another credential (and id); the old one needs no cleanup
            return DiffResult(changes=True, replaces=changed, stables=[], delete_before_replace=False)
        reason = lease_credential.stale(str(olds.get("expires_at", ""))) or lease_credential.refused(
            str(olds["kubeconfig"]), str(olds["namespace"])
        )
        return DiffResult(changes=bool(reason), replaces=[], stables=list(INPUTS), delete_before_replace=False)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_=id_, outs=props)  # `refresh` keeps it; the next diff decides

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to undo: the token expires within the hour and the gateway revokes it when the escrow ends."""


class LeaseCredential(Resource, module="lease", name="LeaseCredential"):
    """Lease access to one escrow's namespace; `kubeconfig` is secret (in state and in outputs)."""

    namespace: pulumi.Output[str]
    expires_at: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        escrow_id: pulumi.Input[str],
        provider: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {"escrow_id": escrow_id, "provider": provider, **{k: None for k in OUTPUTS}}
        secret = pulumi.ResourceOptions(additional_secret_outputs=["kubeconfig"])
        super().__init__(LeaseCredentialProvider(), resource_name, props, pulumi.ResourceOptions.merge(opts, secret))
