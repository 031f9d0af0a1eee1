"""Mistakes a newcomer makes, refused before any transaction: the committed example stack with one mistake
each, through the one validation the stack program and `linq render --stack` share (linq.stackrender.review:
every `linq:*` key, the models, the limits, the render and the patched manifests' admission), and the escrow's
chain checks at preview. Each case asserts the message (the user's key names, units, the fix) and that the
payer's LNQ, allowance and escrows did not change."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from linq.chain import ChainClient
from linq.chain import escrows as ops
from linq.chain.escrow_spec import check_on_chain, normalise
from linq.devnet import Devnet
from linq.devnet.accounts import deployer, fresh_wallet, register_provider
from linq.errors import FieldError
from linq.stackconfig import ConfigError
from linq.stackrender import review
from linq.tools import locate

pytestmark = pytest.mark.integration

EXAMPLE = yaml.safe_load((locate.PROJECT_ROOT / "stacks" / "Pulumi.devnet.yaml").read_text())["config"]
GOOD = "0xa31299C73A7926B058A6d0E45118e954C022Bff0"  # a valid EIP-55 checksum
BAD_SUM = "0xA31299C73A7926B058A6d0E45118e954C022Bff0"
PROVIDER_ACCESS = {"clusterId": "p1", "kubeconfigSecret": "p1Kubeconfig"}


def _with(deployment: dict[str, Any] | None = None, drop: tuple[str, ...] = (), **top: Any) -> dict[str, Any]:
    values = copy.deepcopy(EXAMPLE)
    d = values["linq:deployments"][0]
    for key in drop:
        d.pop(key, None)
    d.update(deployment or {})
    values.update(top)
    return values


def _patch(spec: dict[str, Any]) -> dict[str, Any]:
    return {"patches": [{"target": {"kind": "StatefulSet", "name": "chat"}, "patch": {"spec": spec}}]}


def _pod(pod: dict[str, Any]) -> dict[str, Any]:
    return _patch({"template": {"spec": pod}})


def _container(container: dict[str, Any]) -> dict[str, Any]:
    return _pod({"containers": [{"name": "app", **container}]})


# (case id, stack values, a fragment the message must contain)
# fmt: off
CASES: list[tuple[str, dict[str, Any], str]] = [
    # typos in top-level keys and in field names
    ("top-level typo", {**_with(), "linq:deploymnets": []}, "linq:deploymnets: is not a key this stack reads; did you mean linq:deployments?"),  # noqa: E501
    ("top-level typo providers", {**_with(), "linq:provders": {}}, "did you mean linq:providers?"),
    ("top-level typo network", {**_with(), "linq:netwrk": {}}, "did you mean linq:network?"),
    ("top-level unknown", {**_with(), "linq:colour": "blue"}, "linq:colour: is not a key this stack reads"),
    ("field typo maxPricePerHour", _with({"maxPricePerHuor": "2 LNQ/h"}), "did you mean maxPricePerHour?"),
    ("snake_case price", _with({"max_rate_per_hour": "2 LNQ/h"}), "did you mean maxPricePerHour?"),
    ("field typo duration", _with({"durration": "24h"}), "did you mean duration?"),
    ("network typo", _with(**{"linq:network": {"kind": "devnet", "devnetdir": "/x"}}), "did you mean devnetDir?"),
    # absurd durations and deposits: the sanity ceiling (linq:limits)
    ("decades", _with({"duration": "3650d"}), "3650d is longer than the stack's limit 90d; shorten it, or raise linq:limits.maxDuration"),  # noqa: E501
    ("a year in weeks", _with({"duration": "52w"}), "raise linq:limits.maxDuration explicitly"),
    ("deposit above ceiling", _with({"deposit": "5000 LNQ"}), "5000 LNQ (5000000000000000000000 wei), above the stack's limit 1000 LNQ"),  # noqa: E501
    ("price x duration above ceiling", _with({"maxPricePerHour": "100 LNQ/h", "duration": "30d"}), "maxPricePerHour x duration can lock 72000 LNQ"),  # noqa: E501
    ("limit raised too little", _with({"duration": "200d"}, **{"linq:limits": {"maxDuration": "100d"}}), "longer than the stack's limit 100d"),  # noqa: E501
    ("limit itself bad", _with(**{"linq:limits": {"maxDeposit": "1000"}}), "maxDeposit"),
    ("unknown duration unit", _with({"duration": "30y"}), "duration: '30y' has unknown unit 'y'"),
    ("zero duration", _with({"duration": "0h"}), "is not positive"),
    ("bare deposit", _with({"deposit": "10"}), "deposit"),
    ("bare price", _with({"maxPricePerHour": "2"}), "maxPricePerHour"),
    # addresses: EIP-55 checksums, YAML numbers
    ("bad checksum pin", _with({"provider": BAD_SUM}), "has a wrong EIP-55 checksum (a typo?); the checksummed form"),
    ("bad checksum provider key", _with(**{"linq:providers": {BAD_SUM: PROVIDER_ACCESS}}), "wrong EIP-55 checksum"),
    ("provider read as number", _with({"provider": 0x1234}), "YAML read the address as the number 4660; quote it"),
    ("short address", _with({"provider": "0x1234"}), "'0x1234' is not an address; write 0x followed by 40 hex digits"),
    ("provider key as number", _with(**{"linq:providers": {4660: PROVIDER_ACCESS}}), "YAML read the address as the number 4660"),  # noqa: E501
    # regions
    ("region with a pinned provider", _with({"region": "eu-west"}), "region 'eu-west' and provider local conflict"),
    ("region with spaces", _with({"region": "eu west"}, drop=("provider",)), "region 'eu west' is not a region name"),
    ("region upper case", _with({"region": "EU-WEST"}, drop=("provider",)), "1-32 lowercase letters, digits or '-'"),
    ("region too long", _with({"region": "r" * 40}, drop=("provider",)), "is not a region name"),
    # workload shape: paths and fixes instead of pydantic dumps
    ("template and image", _with({"image": "nginx:1.27.0"}), "got template and image); keep one"),
    ("no workload", _with(drop=("template",)), "give exactly one of template, image or vm (got none); e.g. template"),
    ("plan and resources", _with({"resources": {"cpu": "1", "memory": "1Gi", "storage": "10Gi"}}), "give a plan or explicit resources, not both"),  # noqa: E501
    ("partial resources", _with({"resources": {"cpu": "1"}}, drop=("plan",)), "resources need cpu, memory and storage together"),  # noqa: E501
    ("gpu plan on cpu template", _with({"plan": "gpu-small"}), "plan 'gpu-small' has 1 GPU(s) but template 'open-webui' uses none"),  # noqa: E501
    ("bad name", _with({"name": "Chat_1"}), "must be 1-40 lowercase letters"),
    ("unknown template", _with({"template": "open-webuii"}), "open-webuii"),
    ("unknown plan", _with({"plan": "huge"}), "huge"),
    # patches the provider's admission (Pod Security baseline) or the plan would refuse
    ("privileged", _with(_container({"securityContext": {"privileged": True}})), "securityContext.privileged: true is refused"),  # noqa: E501
    ("host network", _with(_pod({"hostNetwork": True})), "spec.hostNetwork: true shares the node's namespace"),
    ("host pid", _with(_pod({"hostPID": True})), "spec.hostPID: true"),
    ("host path", _with(_pod({"volumes": [{"name": "root", "hostPath": {"path": "/"}}]})), "hostPath mounts the node's disk"),  # noqa: E501
    ("capability", _with(_container({"securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}})), "['SYS_ADMIN'] are outside the baseline set"),  # noqa: E501
    ("host port", _with(_container({"ports": [{"containerPort": 80, "hostPort": 80}]})), "hostPort 80 binds the node's port"),  # noqa: E501
    ("replicas beyond plan", _with(_patch({"replicas": 5})), "spec.replicas: 5 is more than the 1 the plan pays for"),
    ("unpinned image", _with(_container({"image": "ghcr.io/open-webui/open-webui:latest"})), "the tag 'latest' moves between releases"),  # noqa: E501
    ("untagged image", _with(_container({"image": "nginx"})), "the image has no tag"),
    ("patch without name", _with({"patches": [{"target": {"kind": "Deployment"}, "patch": {}}]}), "target.name"),
    # secrets named but not set
    ("missing secret", _with({"secrets": {"API_KEY": "apiKey"}}), "secret config key linq:apiKey is not set; run `pulumi config set --secret linq:apiKey"),  # noqa: E501
]
# fmt: on


@pytest.fixture(scope="module")
def payer(devnet: Devnet) -> ChainClient:
    bank = deployer(devnet.state_dir)
    _key, signer = fresh_wallet(bank, lnq=10**18)
    return ChainClient(bank.profile, signer)


def _money(client: ChainClient) -> tuple[int, int, int, int]:
    address = client.address
    return (
        client.lnq_balance(address),
        client.allowance(address),
        len(ops.created_by(client, address)),
        client.nonce(address),
    )


def test_enough_cases() -> None:
    assert len(CASES) >= 40
    assert len({c[0] for c in CASES}) == len(CASES)


def test_the_example_itself_passes() -> None:
    assert set(review(_with())) == {"chat"}


@pytest.mark.parametrize("values,fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refused_before_any_transaction(payer: ChainClient, values: dict[str, Any], fragment: str) -> None:
    before = _money(payer)
    with pytest.raises((ConfigError, FieldError)) as err:
        review(values)
    text = str(err.value)
    assert fragment in text, text
    assert "Traceback" not in text and "pydantic" not in text and "validation error" not in text
    assert "max_rate_per_hour" not in text or "max_rate_per_hour" in str(values)  # internal names never leak
    assert _money(payer) == before


# The escrow's checks at preview (the chain is read, never written).
CHAIN_CASES = [
    ("deposit above balance", {"deposit": "5 LNQ"}, "is more than the payer"),
    ("unregistered provider", {"provider": GOOD}, "is not registered in the registry"),
    ("below minimum prepaid", {"deposit": "1 wei"}, "below the escrow's minimum prepaid"),
    ("price above ceiling", {"max_rate_per_hour": "1 wei/h"}, "above max_rate_per_hour"),
]


@pytest.mark.parametrize("change,fragment", [c[1:] for c in CHAIN_CASES], ids=[c[0] for c in CHAIN_CASES])
def test_escrow_preview_refuses(devnet: Devnet, payer: ChainClient, change: dict[str, Any], fragment: str) -> None:
    provider = _provider(devnet)
    raw = {
        "provider": provider,
        "resources": {"cpu": "1", "memory": "1Gi", "storage": "10Gi"},
        "duration": "1h",
        "salt_seed": "refused/inputs",
        **change,
    }
    before = _money(payer)
    norm, problems = normalise(raw)
    assert problems == []
    problems = check_on_chain(norm, payer, payer.address)
    text = "; ".join(p.reason for p in problems)
    assert fragment in text, text
    if "balance" in fragment or "payer" in fragment:
        assert "LNQ" in text and "wei" in text
    assert _money(payer) == before


_PROVIDERS: dict[str, str] = {}


def _provider(devnet: Devnet) -> str:
    if "p" not in _PROVIDERS:
        bank = deployer(devnet.state_dir)
        _key, signer = fresh_wallet(bank, lnq=0)
        register_provider(ChainClient(bank.profile, signer))
        _PROVIDERS["p"] = signer.address
    return _PROVIDERS["p"]


# Neither deposit nor maxPricePerHour: the deposit is the registry price x duration, known only at preview; the
# stack program checks it against linq:limits.maxDeposit right after placement (components/stack_program.py).
PRICED = [
    ("priced above the limit", {"maxDeposit": "1 wei"}, {}, "above the stack's limit 0.000000000000000001 LNQ (1 wei)"),
    ("priced within the limit", {"maxDeposit": "1000 LNQ"}, {}, None),
    ("explicit deposit: config decides", {"maxDeposit": "1 LNQ"}, {"deposit": "0.5 LNQ"}, None),
    ("explicit price: config decides", {"maxDeposit": "1 LNQ"}, {"maxPricePerHour": "0.01 LNQ/h"}, None),
]


@pytest.mark.parametrize("limits,change,fragment", [c[1:] for c in PRICED], ids=[c[0] for c in PRICED])
def test_priced_deposit_is_within_the_limit_at_preview(
    devnet: Devnet, payer: ChainClient, limits: dict[str, str], change: dict[str, str], fragment: str | None
) -> None:
    from linq.placement import Registry, check_priced_deposit, place
    from linq.protocol.money import deposit_for
    from linq.stackconfig import load_stack_values

    provider = _provider(devnet)
    network = {"kind": "devnet", "devnetDir": str(devnet.state_dir)}
    bounds = ("deposit", "maxPricePerHour")  # the example sets a price ceiling; these cases set their own
    values = _with({"provider": provider, **change}, drop=bounds, **{"linq:limits": limits, "linq:network": network})
    config = load_stack_values(values)
    deployment = config.deployments[0]
    registry = Registry(config.network)
    placement = place(deployment, config.providers, config.network, registry)
    before = _money(payer)
    if fragment is None:
        check_priced_deposit(deployment, placement, config.limits, registry)
    else:
        with pytest.raises(ConfigError) as err:
            check_priced_deposit(deployment, placement, config.limits, registry)
        text = str(err.value)
        rate = int(payer.registry.functions.quote(provider, _chat_resources(deployment)).call())  # the chain's quote
        worst = deposit_for(rate, deployment.duration)
        assert text.startswith("linq:deployments.chat.duration: 1d at "), text
        assert "registry price" in text and f"({rate} wei/h)" in text and f"({worst} wei)" in text, text
        assert fragment in text and "raise linq:limits.maxDeposit explicitly" in text, text
        assert "set maxPricePerHour or deposit" in text, text
    assert _money(payer) == before


def _chat_resources(deployment: Any) -> tuple[int, ...]:
    from linq.placement import size_of

    size = size_of(deployment)
    return (size.cpu_millis, size.memory_mib, size.reserved_storage_gib, 0, 0)
