"""LeaseAccess: the requestor's side of the provider gateway (docs/gateway.md), as the cluster provider of one
deployment.

The credential is a `LeaseCredential` dynamic resource (components.lease_credential): lease access from the
escrow's provider's gateway with the requestor's key (linq.gateway.client.obtain_lease), kept in state as a
Pulumi secret and renewed in place only when it has less than 15 min left or the API server refuses it
(linq.lease_credential), so an unchanged stack's `preview`/`up` shows no change. It goes to a
`pulumi_kubernetes.Provider` whose `cluster_identifier` is fixed per escrow: a renewal updates the provider in
place and never replaces the workloads deployed through it.
The tenant namespace and everything that shapes isolation are the gateway's; the requestor applies only the
namespaced workload objects, which land in the lease namespace (the provider's default namespace).
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.lease_credential import LeaseCredential
from linq.gateway import bundle


class LeaseAccess(pulumi.ComponentResource):
    """Outputs: `namespace` (the lease namespace, named from the escrow id) and `k8s_provider`."""

    namespace: pulumi.Output[str]
    k8s_provider: k8s.Provider

    def __init__(
        self,
        name: str,
        *,
        escrow_id: pulumi.Input[str],
        provider: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("linq:index:LeaseAccess", name, None, opts)
        escrow = pulumi.Output.from_input(escrow_id)
        self.namespace = escrow.apply(bundle.namespace_name)
        credential = LeaseCredential(
            f"{name}-credential", escrow_id=escrow, provider=provider, opts=pulumi.ResourceOptions(parent=self)
        )
        pulumi.Output.all(self.namespace, credential.expires_at).apply(
            lambda v: pulumi.log.info(f"lease access to {v[0]} until {v[1]}") if v[1] else None
        )
        self.k8s_provider = k8s.Provider(
            f"{name}-cluster",
            kubeconfig=pulumi.Output.secret(credential.kubeconfig),  # type: ignore[arg-type]
            namespace=self.namespace,
            cluster_identifier=pulumi.Output.concat("lease-", self.namespace),
            delete_unreachable=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"namespace": self.namespace})
