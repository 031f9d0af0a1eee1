"""The committed example stack (Pulumi.yaml + stacks/Pulumi.devnet.yaml) through the pulumi CLI, as a user runs it."""

from __future__ import annotations

import shutil

import pytest

from linq.devnet import Devnet, anvil
from linq.engine import project_stack
from linq.tools import locate

pytestmark = pytest.mark.integration


def test_pulumi_up_of_the_example_devnet_stack(devnet: Devnet, tmp_path) -> None:
    from linq.chain.client import ChainClient
    from linq.chain.network import devnet_profile
    from linq.chain.signers import from_dev_account
    from linq.devnet.accounts import register_provider

    # The devnet's own provider (registered with its gateway by `linq devnet up`) sets its test prices again.
    provider = ChainClient(
        devnet_profile(devnet.state_dir), from_dev_account(devnet.state_dir, anvil.LOCAL_PROVIDER_INDEX)
    )
    register_provider(provider)

    # A verbatim copy of the project, so this test's config edits never touch the repository
    # (test_first_stack runs the README's commands in the repository itself).
    shutil.copy(locate.PROJECT_ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(locate.PROJECT_ROOT / "stacks", tmp_path / "stacks")

    stack = project_stack(devnet, stack="devnet", work_dir=tmp_path)
    preview = stack.preview()
    # the app's objects expand once the escrow (and so the provider's cluster) is known: stack, provider,
    # component, escrow, generated secrets and the cluster provider show at the first preview
    assert preview.change_summary.get("create", 0) >= 5
    try:
        up = stack.up()
        chat = up.outputs["deployments"].value["chat"]
        assert chat["state"] == "Running"
        assert chat["provider"] == provider.signer.address.lower()
        assert int(chat["escrow"]["deposited"]) > 0
        # No kubeconfig: the devnet's gateway granted the lease (and so started the escrow) and owns the namespace.
        assert chat["namespace"].startswith("lq-e-")
        after = stack.preview().change_summary
        assert set(after) == {"same"}, after  # a true no-op: the lease credential is kept until near expiry
    finally:  # a failed assertion must not leave the stack deployed for test_first_stack (same stack name)
        stack.destroy()
