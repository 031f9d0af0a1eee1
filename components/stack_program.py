"""The declarative Pulumi program: deployments, providers and network come from `linq:*` stack config.

`stacks/__main__.py` calls `run()`; tests and the demo run the same function inline. A platform team
writes Pulumi.<stack>.yaml and never touches Python.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.app_deployment import AppDeployment
from linq.errors import FieldError
from linq.placement import Placement, Registry, check_priced_deposit, place
from linq.stackconfig import (
    ConfigError,
    DeploymentConfig,
    ProviderAccess,
    StackConfig,
    load_stack_values,
)
from linq.stackrender import missing_secret, secret_values_for


def read_config() -> StackConfig:
    """Every `linq:*` key of the stack, validated as `linq render --stack` does (unknown keys are typos)."""
    from pulumi.runtime import config as runtime_config

    values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return load_stack_values({k: v for k, v in values.items() if k.startswith("linq:")})


def secret_config_value(key: str, field: str) -> str:
    """The plaintext of a secret config key, for in-memory use only: validation, and the Kubernetes Secret's
    data, where it is wrapped as a Pulumi secret again. The engine hands the program decrypted config."""
    value = pulumi.runtime.get_config(f"linq:{key}")
    if value is None:
        raise missing_secret(key, field)
    return str(value)


def devnet_kubeconfig(config: StackConfig) -> str:
    from linq.devnet import Devnet, default_state_dir

    state_dir = Path(config.network.devnet_dir) if config.network.devnet_dir else default_state_dir()
    path = Devnet(state_dir).kubeconfig
    if not path.exists():
        raise ConfigError(f"linq:network.devnetDir: no devnet kubeconfig at {path}; start one with `linq devnet up`")
    return path.read_text()


def cluster_factory(name: str, config: StackConfig):
    """Builds the deployment's `pulumi_kubernetes.Provider` for whichever provider its escrow is with.

    Only for providers reached directly (a kubeconfig, or the devnet's cluster); through a gateway the
    deployment's LeaseAccess builds it. `cluster_identifier` pins the cluster's identity, so rotating a
    kubeconfig updates the provider in place instead of replacing everything deployed through it.
    """

    def kubeconfig_of(access: ProviderAccess) -> pulumi.Output[str]:
        if access.devnet:
            return pulumi.Output.secret(devnet_kubeconfig(config))
        assert access.kubeconfig_secret is not None
        return pulumi.Config("linq").require_secret(access.kubeconfig_secret)

    def build(provider: pulumi.Output[str], access: pulumi.Output[ProviderAccess]) -> k8s.Provider:
        return k8s.Provider(
            f"{name}-cluster",
            kubeconfig=pulumi.Output.secret(access.apply(kubeconfig_of)),  # type: ignore[arg-type]
            cluster_identifier=access.apply(lambda a: a.cluster_id or ""),
            delete_unreachable=True,
        )

    return build


def placement_for(deployment: DeploymentConfig, config: StackConfig, registry: Registry | None = None) -> Placement:
    """The pinned provider, or the best registry match among the providers this stack can reach (every
    provider with a gateway on chain, and those it holds direct access to)."""
    placement = place(deployment, config.providers, config.network, registry)
    access = config.providers.get(placement.provider)
    if access is not None and access.deny:
        raise ConfigError(
            f"linq:deployments.{deployment.name}.provider: {placement.provider} is denied under linq:providers; "
            "pin another provider or remove its deny entry"
        )
    for line in placement.explanation:
        pulumi.log.info(f"{deployment.name}: {line}")
    return placement


def resolve_local_provider(config: StackConfig) -> StackConfig:
    """`local` (under linq:providers or as a pin) is the devnet's own provider account (its address differs per
    devnet)."""
    if not config.uses_local_provider():
        return config
    from linq.devnet import Devnet, anvil, default_state_dir

    state_dir = Path(config.network.devnet_dir) if config.network.devnet_dir else default_state_dir()
    if not anvil.mnemonic_file(state_dir).exists():
        where = "linq:network.devnetDir" if config.network.devnet_dir else "$LINQ_DEVNET_DIR (linq:network.devnetDir)"
        raise ConfigError(
            f"{where}: no devnet in {state_dir} (no dev mnemonic there); point it at the directory `linq devnet up` "
            "used (`linq devnet status` shows it), or start one with `linq devnet up`"
        )
    address = anvil.dev_addresses(Devnet(state_dir).state_dir)[anvil.LOCAL_PROVIDER_INDEX]
    return config.with_local_provider(address)


def run() -> None:
    """The program; a configuration mistake is reported as the one message it is (no Python traceback)."""
    try:
        _run()
    except (ConfigError, FieldError) as err:  # FieldError: the catalog's and the unit grammar's mistakes
        raise pulumi.RunError(str(err)) from None


def _run() -> None:
    config = resolve_local_provider(read_config())
    registry = Registry(config.network)  # read once for all the deployments this run places
    summary: dict[str, Any] = {}
    for deployment in config.deployments:
        secret_values = secret_values_for(deployment, secret_config_value)
        placement = placement_for(deployment, config, registry)
        check_priced_deposit(deployment, placement, config.limits, registry)
        app = AppDeployment(
            deployment.name,
            deployment,
            placement=placement,
            providers=config.providers,
            cluster_for=cluster_factory(deployment.name, config),
            secret_values=secret_values,
        )
        summary[deployment.name] = {
            "namespace": app.namespace,
            "endpoint": app.endpoint,
            "state": app.state,
            "provider": app.provider,
            "escrow": app.escrow,
        }
        if deployment.auto_top_up:  # read by `linq runway guard --stack`
            policy = deployment.auto_top_up
            summary[deployment.name]["autoTopUp"] = {
                "belowSeconds": policy.below,
                "amount": str(policy.amount),
                "cap": str(policy.cap),
            }
    pulumi.export("deployments", summary)
