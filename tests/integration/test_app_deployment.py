"""AppDeployment through the declarative stack program, on the devnet, with the real Pulumi engine."""

from __future__ import annotations

import json
import uuid

import pytest
from pulumi import automation as auto

from linq.catalog import namespace_for
from linq.devnet import Devnet, anvil
from linq.devnet.kubeapi import KubeAPI, KubeError
from linq.engine import backend_state_text, inline_stack
from tests.waiting import wait_for

pytestmark = pytest.mark.integration

USER_SECRET = "sk-test-" + uuid.uuid4().hex  # must never appear in state or output in plaintext


PROVIDER_INDEX, REQUESTOR_INDEX = 3, 4  # dev accounts of this module (others use their own)


def registered_provider(devnet: Devnet) -> str:
    from linq.chain.client import ChainClient
    from linq.chain.network import devnet_profile
    from linq.chain.signers import from_dev_account
    from linq.devnet.accounts import register_provider

    client = ChainClient(devnet_profile(devnet.state_dir), from_dev_account(devnet.state_dir, PROVIDER_INDEX))
    register_provider(client)
    return client.signer.address


def lnq_balance(devnet: Devnet, address: str) -> int:
    from web3 import Web3

    from linq.contracts import contract

    w3 = Web3(Web3.HTTPProvider(devnet.read()[1].rpc_url))
    return int(
        contract(w3, "LNQ", json.loads(devnet.addresses_file.read_text())["lnq"])
        .functions.balanceOf(Web3.to_checksum_address(address))
        .call()
    )


def stack_config(devnet: Devnet, provider: str, name: str, **deployment) -> dict[str, auto.ConfigValue]:
    deployments = [
        {
            "name": name,
            "template": "open-webui",
            "plan": "basic",
            "duration": "24h",
            "provider": provider,
            "secrets": {"OPENAI_API_KEY": "openaiKey"},
            **deployment,
        }
    ]
    return {
        "linq:devAccount": auto.ConfigValue(str(REQUESTOR_INDEX)),
        "linq:network": auto.ConfigValue(json.dumps({"kind": "devnet", "devnetDir": str(devnet.state_dir)})),
        "linq:providers": auto.ConfigValue(json.dumps({provider: {"clusterId": "devnet", "devnet": True}})),
        "linq:deployments": auto.ConfigValue(json.dumps(deployments)),
        "linq:openaiKey": auto.ConfigValue(USER_SECRET, secret=True),
    }


def _program():
    from components.stack_program import run

    run()


def test_open_webui_deploys_isolated_and_converges(devnet: Devnet, tmp_path) -> None:
    provider = registered_provider(devnet)
    requestor = anvil.dev_addresses(devnet.state_dir)[REQUESTOR_INDEX]
    requestor_before, provider_before = lnq_balance(devnet, requestor), lnq_balance(devnet, provider)
    name = f"chat-{uuid.uuid4().hex[:6]}"
    stack = inline_stack(devnet, project="apps", stack=name, program=_program, work_dir=tmp_path)
    for key, value in stack_config(devnet, provider, name).items():
        stack.set_config(key, value)
    output: list[str] = []
    up = stack.up(on_output=output.append)
    assert up.summary.result == "succeeded"
    deployed = up.outputs["deployments"].value[name]
    namespace = namespace_for(name)
    assert deployed["namespace"] == namespace
    assert deployed["state"] == "Running"
    assert deployed["endpoint"].startswith(f"http://{name}.{namespace}.svc.cluster.local:")
    escrow = deployed["escrow"]
    assert escrow["status"] == "Created"
    deposit = int(escrow["deposited"])
    # funded for 24h at the provider's registry price, exactly: ceilDiv(rate * seconds, 3600)
    assert deposit == -(-int(escrow["ratePerHour"]) * 24 * 3600 // 3600)
    assert lnq_balance(devnet, requestor) == requestor_before - deposit

    api = KubeAPI.from_kubeconfig(devnet.kubeconfig)
    ns = api.get(f"/api/v1/namespaces/{namespace}")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    assert ns["metadata"]["annotations"]["linq.network/escrow-id"] == escrow["id"]
    assert ns["metadata"]["annotations"]["linq.network/provider"] == provider.lower()
    workload = api.get(f"/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}")
    assert workload["status"].get("readyReplicas") == 1
    netpols = api.get(f"/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies")["items"]
    policies = {p["metadata"]["name"] for p in netpols}
    assert "default-deny" in policies
    secret = api.get(f"/api/v1/namespaces/{namespace}/secrets/{name}-secrets")
    assert set(secret["data"]) == {"OPENAI_API_KEY", "WEBUI_SECRET_KEY"}

    # secrets: user and generated values never in plaintext in state or engine output
    state = backend_state_text(devnet, "apps", name)
    assert USER_SECRET not in state and USER_SECRET not in "\n".join(output)
    import base64

    generated = base64.b64decode(secret["data"]["WEBUI_SECRET_KEY"]).decode()
    assert len(generated) == 48 and generated not in state

    # a second `up` changes nothing; the generated secret is kept
    again = stack.up()
    assert again.summary.resource_changes.get("update", 0) == 0
    assert again.summary.resource_changes.get("create", 0) == 0
    secret_after = api.get(f"/api/v1/namespaces/{namespace}/secrets/{name}-secrets")
    assert secret_after["data"]["WEBUI_SECRET_KEY"] == secret["data"]["WEBUI_SECRET_KEY"]

    # stop is expressible in the stack: zero replicas, state Stopped, and the escrow (never started) refunded in full
    stack.set_config("linq:deployments", stack_config(devnet, provider, name, state="stopped")["linq:deployments"])
    stopped = stack.up()
    assert stopped.outputs["deployments"].value[name]["state"] == "Stopped"
    assert api.get(f"/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}")["spec"]["replicas"] == 0
    assert lnq_balance(devnet, requestor) == requestor_before
    assert lnq_balance(devnet, provider) == provider_before

    stack.destroy()
    wait_for(lambda: _gone(api, f"/api/v1/namespaces/{namespace}"), what=f"namespace {namespace} deleted")
    stack.workspace.remove_stack(name)


def test_bad_stack_config_fails_at_preview_naming_the_field(devnet: Devnet, tmp_path) -> None:
    provider = anvil.dev_addresses(devnet.state_dir)[PROVIDER_INDEX]
    stack = inline_stack(devnet, project="apps", stack="bad-config", program=_program, work_dir=tmp_path)
    for key, value in stack_config(devnet, provider, "bad", duration="forever").items():
        stack.set_config(key, value)
    with pytest.raises(auto.CommandError) as failure:
        stack.preview()
    assert "linq:deployments.0.duration" in str(failure.value)
    assert "'forever'" in str(failure.value)


def test_custom_image_with_volumes_config_files_health_and_security_applies_what_render_stack_shows(
    devnet: Devnet, tmp_path
) -> None:
    """The catalog's custom-image fields the stack used to lack, through `up`: the API server holds exactly the
    pod template `linq render --stack` reviews (linq.stackrender.review), config file and volumes included."""
    from linq.stackrender import review

    provider = registered_provider(devnet)
    name = f"wiki-{uuid.uuid4().hex[:6]}"
    deployment = {
        "name": name,
        "image": "ghcr.io/example/wiki:1.4.2",
        "plan": "basic",
        "duration": "24h",
        "provider": provider,
        "ports": [{"name": "http", "containerPort": 8080}],
        "endpoint": {"port": "http", "kind": "http"},
        "volumes": [{"name": "data", "mountPath": "/var/lib/wiki", "sizeGiB": 2}],
        "configFiles": [{"mountPath": "/etc/wiki/wiki.toml", "content": "[server]\nport = 8080\n"}],
        "health": {"http": {"path": "/healthz", "port": "http"}},
        "security": {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000},
    }
    config = {
        "linq:devAccount": str(REQUESTOR_INDEX),
        "linq:network": json.dumps({"kind": "devnet", "devnetDir": str(devnet.state_dir)}),
        "linq:providers": json.dumps({provider: {"clusterId": "devnet", "devnet": True}}),
        "linq:deployments": json.dumps([deployment]),
    }
    stack = inline_stack(devnet, project="apps", stack=name, program=_program, work_dir=tmp_path, config=config)
    try:
        up = stack.up()
        assert up.outputs["deployments"].value[name]["state"] == "Running"
        reviewed = {m["kind"]: m for m in review(config)[name]}
        api = KubeAPI.from_kubeconfig(devnet.kubeconfig)
        namespace = namespace_for(name)
        applied = api.get(f"/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}")
        pod = applied["spec"]["template"]["spec"]
        shown = reviewed["StatefulSet"]["spec"]["template"]["spec"]
        container, shown_container = pod["containers"][0], shown["containers"][0]
        assert container["volumeMounts"] == shown_container["volumeMounts"]  # the volume and the config file
        assert container["ports"] == shown_container["ports"]
        assert container["securityContext"]["capabilities"] == shown_container["securityContext"]["capabilities"]
        assert pod["securityContext"]["runAsUser"] == shown["securityContext"]["runAsUser"] == 1000
        assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
        claims = [c["metadata"]["name"] for c in applied["spec"]["volumeClaimTemplates"]]
        assert claims == [c["metadata"]["name"] for c in reviewed["StatefulSet"]["spec"]["volumeClaimTemplates"]]
        config_map = reviewed["ConfigMap"]["metadata"]["name"]
        applied_map = api.get(f"/api/v1/namespaces/{namespace}/configmaps/{config_map}")
        assert applied_map["data"] == reviewed["ConfigMap"]["data"]
        assert "port = 8080" in "".join(applied_map["data"].values())
    finally:
        stack.destroy()
        stack.workspace.remove_stack(name)


def _service_account_kubeconfig(api: KubeAPI, devnet: Devnet, namespace: str, account: str) -> str:
    """A second, independent credential for the same cluster: a cluster-admin ServiceAccount's token."""
    import yaml

    api.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    api.post(
        f"/api/v1/namespaces/{namespace}/serviceaccounts",
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": account}},
    )
    _bind_cluster_admin(api, namespace, account)
    token = api.post(
        f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}},
    )["status"]["token"]
    kubeconfig = yaml.safe_load(devnet.kubeconfig.read_text())
    kubeconfig["users"][0]["user"] = {"token": token}
    return yaml.safe_dump(kubeconfig)


def _bind_cluster_admin(api: KubeAPI, namespace: str, account: str) -> None:
    api.post(
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": account},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
        },
    )


def test_stack_patches_are_shown_and_applied_and_credentials_rotate_in_place(devnet: Devnet, tmp_path) -> None:
    """`linq render --stack` shows the stack's patched manifests; `up` applies exactly those; a rotated kubeconfig
    (another credential, same clusterId) updates the cluster provider and replaces nothing, and is then in use."""
    from click.testing import CliRunner

    from linq.cli import main

    provider = registered_provider(devnet)
    api = KubeAPI.from_kubeconfig(devnet.kubeconfig)
    name = f"team-{uuid.uuid4().hex[:6]}"
    rotated = _service_account_kubeconfig(api, devnet, f"{name}-ops", f"{name}-deployer")
    patches = [
        {"target": {"kind": "StatefulSet", "name": name}, "patch": {"metadata": {"annotations": {"team": "ml"}}}},
        {
            "target": {"kind": "StatefulSet", "name": name},
            "type": "strategic",
            "patch": {
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [
                                {"name": "open-webui", "env": [{"name": "WEBUI_NAME", "value": "Team Chat"}]}
                            ]
                        }
                    }
                }
            },
        },
    ]
    stack = inline_stack(devnet, project="apps", stack=name, program=_program, work_dir=tmp_path)
    config = stack_config(devnet, provider, name, patches=patches)
    access = {provider: {"clusterId": "devnet", "kubeconfigSecret": "clusterKube"}}
    config["linq:providers"] = auto.ConfigValue(json.dumps(access))
    config["linq:clusterKube"] = auto.ConfigValue(devnet.kubeconfig.read_text(), secret=True)
    for key, value in config.items():
        stack.set_config(key, value)
    try:
        shown = CliRunner().invoke(
            main,
            [
                "render",
                "--stack",
                name,
                "--project-dir",
                str(tmp_path),
                "--devnet-dir",
                str(devnet.state_dir),
                "-o",
                "json",
            ],
        )
        assert shown.exit_code == 0, shown.output
        assert USER_SECRET not in shown.output  # masked
        rendered = next(m for m in json.loads(shown.output)["items"] if m["kind"] == "StatefulSet")
        assert rendered["metadata"]["annotations"]["team"] == "ml"
        rendered_env = {e["name"]: e.get("value") for e in rendered["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert rendered_env["WEBUI_NAME"] == "Team Chat"

        assert stack.up().summary.result == "succeeded"
        namespace = namespace_for(name)
        applied = api.get(f"/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}")
        assert applied["metadata"]["annotations"]["team"] == "ml"
        applied_env = {e["name"]: e.get("value") for e in applied["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert applied_env == rendered_env  # what was shown is what runs
        uids = {
            path: api.get(path)["metadata"]["uid"]
            for path in (f"/api/v1/namespaces/{namespace}", f"/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}")
        }

        stack.set_config("linq:clusterKube", auto.ConfigValue(rotated, secret=True))
        changes = stack.up().summary.resource_changes or {}
        assert {k: v for k, v in changes.items() if k != "same"} == {"update": 1}  # the cluster provider only
        assert {path: api.get(path)["metadata"]["uid"] for path in uids} == uids  # nothing was replaced
        assert rotated.split("token: ")[1].split()[0] not in backend_state_text(devnet, "apps", name)

        # The new credential is the one in use: without its binding, the next change is refused for that account.
        api.delete(f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{name}-deployer")
        patches[0]["patch"]["metadata"]["annotations"]["team"] = "ai"
        stack.set_config("linq:deployments", stack_config(devnet, provider, name, patches=patches)["linq:deployments"])
        with pytest.raises(auto.CommandError) as refused:
            stack.up()
        assert f"system:serviceaccount:{name}-ops:{name}-deployer" in str(refused.value)
        _bind_cluster_admin(api, f"{name}-ops", f"{name}-deployer")
        stack.up()
        applied = api.get(f"/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}")
        assert applied["metadata"]["annotations"]["team"] == "ai"
    finally:
        stack.destroy()
        stack.workspace.remove_stack(name)
        for path in (
            f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{name}-deployer",
            f"/api/v1/namespaces/{name}-ops",
        ):
            try:
                api.delete(path)
            except KubeError as err:
                if err.status != 404:
                    raise


def _gone(api: KubeAPI, path: str) -> bool:
    try:
        api.get(path)
    except KubeError as error:
        assert error.status == 404, error
        return True
    return False
