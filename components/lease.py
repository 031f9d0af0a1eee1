"""LeaseAccess: the requestor's side of the provider gateway (docs/gateway.md), as the cluster provider of one
deployment.

At every run of the program (`pulumi up`, `preview`) it asks the escrow's provider's gateway for fresh lease
access with the requestor's key (linq.gateway.client.obtain_lease: the gateway from the chain, the TLS pin,
the EIP-712 request) and hands the namespace-scoped credential to a `pulumi_kubernetes.Provider`. The
provider's `cluster_identifier` is fixed per escrow, so a new credential updates the provider in place and
never replaces the workloads deployed through it; the credential lives only in that provider's secret inputs.
The tenant namespace and everything that shapes isolation are the gateway's; the requestor applies only the
namespaced workload objects, which land in the lease namespace (the provider's default namespace).
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.dynamic import client_from, settings_from
from linq.errors import FieldError
from linq.gateway import bundle
from linq.gateway.client import obtain_lease


def _kubeconfig(args: list[str]) -> str:
    escrow_id, provider = args
    chain = client_from(settings_from(pulumi.runtime.get_config))
    try:
        lease = obtain_lease(chain, escrow_id, provider)
    except FieldError as err:  # the gateway's refusal in house style: one line, no traceback
        raise pulumi.RunError(f"lease access for escrow {escrow_id}: {err}") from None
    pulumi.log.info(f"lease access to {lease.namespace} on {provider} until {lease.expires_at}")
    return lease.kubeconfig


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
        address = pulumi.Output.from_input(provider)
        self.namespace = escrow.apply(bundle.namespace_name)
        kubeconfig = pulumi.Output.all(escrow, address).apply(_kubeconfig)
        self.k8s_provider = k8s.Provider(
            f"{name}-cluster",
            kubeconfig=pulumi.Output.secret(kubeconfig),  # type: ignore[arg-type]
            namespace=self.namespace,
            cluster_identifier=pulumi.Output.concat("lease-", self.namespace),
            delete_unreachable=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"namespace": self.namespace})
